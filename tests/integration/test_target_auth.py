"""Authentication through env vars, options, profile and module_defaults; a wrong secret fails clearly."""


def test_auth_target(playbook):
    result = playbook.run('auth')
    assert 'failed=0' in result.stdout, result.stdout
