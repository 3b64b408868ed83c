"""mtls.apim.api_client_certificate end to end through ansible-playbook against the sandbox."""

import re


def test_api_client_certificate_target(playbook):
    result = playbook.run('api_client_certificate')
    assert re.search(r'localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0', result.stdout), result.stdout
