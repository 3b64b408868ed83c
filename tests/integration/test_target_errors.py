"""Retries of throttled and failed requests, and clean failures."""


def test_errors_target(playbook):
    result = playbook.run('errors')
    assert 'failed=0' in result.stdout, result.stdout
