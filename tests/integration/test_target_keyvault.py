"""Key Vault references end to end: identity, access (policies and RBAC), firewall, import, rotation, rules."""

import json
import ssl
import urllib.request


def test_keyvault_target(playbook, sandbox):
    result = playbook.run('keyvault')
    assert 'failed=0' in result.stdout, result.stdout
    # vault_access never rewrote the other principal's access policy in kv-policies.
    context = ssl.create_default_context(cafile=sandbox['ca_bundle'])
    with urllib.request.urlopen(sandbox['admin_url'] + '/state', context=context) as response:
        state = json.loads(response.read())
    text = json.dumps(state)
    assert '11111111-2222-4333-8444-555555555555' in text
    policies = [p for p in _walk(state) if isinstance(p, dict) and p.get('objectId') == '11111111-2222-4333-8444-555555555555']
    assert policies and all(p['permissions'].get('secrets') == ['get'] and p['permissions'].get('keys') == ['get']
                            for p in policies), policies


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
