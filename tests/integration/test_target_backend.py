"""mtls.apim.backend and backend_info end to end through ansible-playbook against the sandbox."""

import re


def test_backend_target(playbook):
    result = playbook.run('backend')
    assert re.search(r'localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0', result.stdout), result.stdout
