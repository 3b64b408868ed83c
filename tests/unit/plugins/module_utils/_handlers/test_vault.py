"""Vault access and firewall decisions, without Azure."""

from types import SimpleNamespace as NS

import pytest

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers import keyvault_diagnosis as diag
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import (
    network_view, normalise_ip, permission_model, scope_covers, secret_permissions)


def vault(policies=(), rbac=False, acls=None):
    return NS(name='kv', id='/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
              properties=NS(access_policies=list(policies), enable_rbac_authorization=rbac, network_acls=acls))


def policy(object_id, secrets, application_id=None):
    return NS(object_id=object_id, application_id=application_id, permissions=NS(secrets=secrets))


def test_secret_permissions_of_one_principal_only():
    v = vault([policy('A', ['Get']), policy('B', ['get', 'list']), policy('a', ['List']),
               policy('A', ['set'], application_id='app')])
    assert secret_permissions(v, 'a') == {'get', 'list'}
    assert secret_permissions(vault([policy('C', ['all'])]), 'c') >= {'get', 'list'}
    assert permission_model(v) == 'access_policy' and permission_model(vault(rbac=True)) == 'rbac'


def test_scope_covers_ancestors_only():
    vault_id = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv'
    assert scope_covers('/subscriptions/s', vault_id)
    assert scope_covers('/subscriptions/S/resourcegroups/RG', vault_id)
    assert scope_covers(vault_id, vault_id)
    assert not scope_covers('/subscriptions/s/resourceGroups/rg2', vault_id)
    assert not scope_covers(vault_id + '2', vault_id)


def test_ip_rules_normalised():
    assert normalise_ip('203.0.113.7/32') == '203.0.113.7'
    assert normalise_ip(' 10.1.2.0/24 ') == '10.1.2.0/24'
    assert normalise_ip('10.1.2.3/24') == '10.1.2.0/24'
    with pytest.raises(ModuleError, match='ip_rules'):
        normalise_ip('not-an-ip')


def test_network_view_defaults_and_normalises():
    assert network_view(vault())['default_action'] == 'Allow'
    acls = NS(bypass='None', default_action='Deny', ip_rules=[NS(value='1.2.3.4/32')],
              virtual_network_rules=[NS(id='/x/subnets/b'), NS(id='/x/subnets/a')])
    assert network_view(vault(acls=acls)) == dict(bypass='None', default_action='Deny', ip_rules=['1.2.3.4'],
                                                  virtual_network_rules=['/x/subnets/a', '/x/subnets/b'])


def service(kind='SystemAssigned', users=None, subnet=None):
    identity = NS(type=kind, principal_id='sys-principal', tenant_id='t', user_assigned_identities={
        key: NS(principal_id=p, client_id=c) for key, (p, c) in (users or {}).items()})
    return NS(identity=identity, virtual_network_configuration=NS(subnet_resource_id=subnet) if subnet else None)


UAMI = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-apim'


def test_identity_problems_name_the_fix():
    problem, kind, principal = diag.identity_problem(service(), 'apim', None)
    assert (problem, kind, principal) == (None, 'system-assigned', 'sys-principal')
    problem = diag.identity_problem(service('None'), 'apim', None)[0]
    assert 'no system-assigned identity' in problem and 'service_identity' in problem
    users = {UAMI: ('uami-principal', 'uami-client')}
    assert diag.identity_problem(service('UserAssigned', users), 'apim', 'UAMI-CLIENT')[2] == 'uami-principal'
    problem = diag.identity_problem(service('UserAssigned', users), 'apim', 'uami-principal')[0]
    assert 'principal (object) id of user-assigned identity id-apim' in problem and 'uami-client' in problem
    problem = diag.identity_problem(service('UserAssigned', users), 'apim', 'unknown')[0]
    assert 'not the client id of a user-assigned identity' in problem


def test_firewall_problems():
    deny = NS(default_action='Deny', bypass='AzureServices', virtual_network_rules=[NS(id='/sub/NET')])
    assert diag.firewall_problem(vault(acls=deny), service(), 'system-assigned') is None
    assert 'refused even with the bypass' in diag.firewall_problem(vault(acls=deny), service(), 'user-assigned')
    assert diag.firewall_problem(vault(acls=deny), service(subnet='/sub/net'), 'user-assigned') is None
    no_bypass = NS(default_action='Deny', bypass='None', virtual_network_rules=[])
    assert 'bypass: AzureServices' in diag.firewall_problem(vault(acls=no_bypass), service(), 'system-assigned')
    allow = NS(default_action='Allow', bypass='None', virtual_network_rules=[])
    assert diag.firewall_problem(vault(acls=allow), service(), 'user-assigned') is None


def test_firewall_problem_names_a_missing_key_vault_endpoint():
    subnet = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-apim'
    deny = NS(default_action='Deny', bypass='None', virtual_network_rules=[NS(id=subnet.lower())])
    problem = diag.firewall_problem(vault(acls=deny), service(subnet=subnet), 'user-assigned',
                                    lambda _id: ['Microsoft.Storage'])
    assert 'subnet snet-apim has no Microsoft.KeyVault service endpoint' in problem
    assert 'mtls.apim.subnet_service_endpoint' in problem
    assert diag.firewall_problem(vault(acls=deny), service(subnet=subnet), 'user-assigned',
                                 lambda _id: ['microsoft.keyvault']) is None
    # The subnet could not be read: no guess.
    assert diag.firewall_problem(vault(acls=deny), service(subnet=subnet), 'user-assigned', lambda _id: None) is None


def test_subnets_added_ignoring_a_missing_endpoint_are_remembered():
    from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import subnets_ignoring_missing_endpoint

    acls = NS(virtual_network_rules=[NS(id='/X/subnets/A', ignore_missing_vnet_service_endpoint=True),
                                     NS(id='/x/subnets/b', ignore_missing_vnet_service_endpoint=None)])
    assert subnets_ignoring_missing_endpoint(vault(acls=acls)) == {'/x/subnets/a'}
    assert subnets_ignoring_missing_endpoint(vault()) == set()
