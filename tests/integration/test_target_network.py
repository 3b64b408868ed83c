"""Network prerequisites of a VNet-injected API Management service, and Key Vault through a subnet rule."""


def test_network_target(playbook):
    result = playbook.run('network')
    assert 'failed=0' in result.stdout, result.stdout
