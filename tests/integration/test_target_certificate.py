"""mtls.apim.certificate end to end through ansible-playbook against the sandbox."""

import re


def test_certificate_target(playbook):
    result = playbook.run('certificate')
    assert re.search(r'localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0', result.stdout), result.stdout


def test_no_secret_in_verbose_output(playbook, certs, sandbox):
    """-vvvv output of the whole certificate target and the auth target holds no PFX, password or client secret."""
    output = ''
    for target in ('certificate', 'auth'):
        result = playbook.run(target, args=['-vvvv'])
        output += result.stdout + result.stderr
    assert 'Create from a PFX file' in output  # the run really happened
    secrets = {'PFX password': certs['password'], 'client secret': sandbox['secret']}
    for label in ('client1', 'client2', 'soon', 'vault1', 'vault2'):
        b64 = certs[label]['b64']
        # Any 32-character window of the base64 PFX would betray its bytes.
        for start in range(0, len(b64) - 32, 256):
            secrets['%s PFX bytes at %d' % (label, start)] = b64[start:start + 32]
    leaked = [label for label, value in secrets.items() if value in output]
    assert not leaked, 'secrets in -vvvv output: %s' % leaked
