"""What service_identity and vault_network would change, decided without Azure."""

from types import SimpleNamespace as NS

from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import Identity
from ansible_collections.mtls.apim.plugins.modules.service_identity import plan
from ansible_collections.mtls.apim.plugins.modules.vault_network import desired_network

A = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a'
B = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b'


def identity(kind, users=()):
    return Identity(NS(type=kind, principal_id='p', tenant_id='t',
                       user_assigned_identities={u: NS(principal_id='pu', client_id='cu') for u in users}))


def params(state='present', system=None):
    return dict(state=state, system_assigned=system)


def test_identity_plan_is_additive():
    system, users, patch = plan(identity('SystemAssigned'), params(), [A])
    assert system and list(users.values()) == [A] and patch == {A: {}}
    assert Identity.type_for(system, users) == 'SystemAssigned, UserAssigned'
    # Present again: nothing to patch; the system identity is left as it is when not named.
    system, users, patch = plan(identity('UserAssigned', [A]), params(), [A.upper()])
    assert not system and patch == {}


def test_identity_plan_absent_removes_only_named():
    system, users, patch = plan(identity('SystemAssigned, UserAssigned', [A, B]), params('absent'), [B])
    assert system and list(users.values()) == [A] and patch == {B: None}
    system, users, patch = plan(identity('SystemAssigned, UserAssigned', [A]), params('absent', True), [])
    assert not system and patch == {} and Identity.type_for(system, users) == 'UserAssigned'


def network_params(**values):
    base = dict(state='present', bypass=None, default_action=None, ip_rules=[], virtual_network_rules=[],
                purge_ip_rules=False, purge_virtual_network_rules=False)
    base.update(values)
    return base


CURRENT = dict(bypass='AzureServices', default_action='Deny', ip_rules=['1.1.1.1', '2.2.2.0/24'],
               virtual_network_rules=['/x/subnets/a'])


def test_network_rules_incremental():
    added = desired_network(CURRENT, network_params(ip_rules=['3.3.3.3/32']))
    assert added['ip_rules'] == ['1.1.1.1', '2.2.2.0/24', '3.3.3.3'] and added['virtual_network_rules'] == ['/x/subnets/a']
    removed = desired_network(CURRENT, network_params(state='absent', ip_rules=['1.1.1.1/32']))
    assert removed['ip_rules'] == ['2.2.2.0/24']
    assert desired_network(CURRENT, network_params(ip_rules=['1.1.1.1'])) == CURRENT


def test_network_purge_and_settings():
    purged = desired_network(CURRENT, network_params(ip_rules=['9.9.9.9'], purge_ip_rules=True, bypass='None'))
    assert purged['ip_rules'] == ['9.9.9.9'] and purged['bypass'] == 'None'
    assert purged['virtual_network_rules'] == ['/x/subnets/a']
    same_case = desired_network(CURRENT, network_params(virtual_network_rules=['/X/SUBNETS/A']))
    assert same_case == CURRENT
