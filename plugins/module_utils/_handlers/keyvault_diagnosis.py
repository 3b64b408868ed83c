# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why API Management cannot read a Key Vault secret, in words a user can act on.

The service answers the same message for a missing identity permission and for a firewall in the
way ("... has GET permissions on secrets in the KeyVault Access Policies."), and users find it
misleading. When it refuses, the module checks each prerequisite itself and names the first one
missing. Only run after a refusal: it costs several reads.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import AzureError, ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import Identity, ServiceHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import (
    RBAC, SECRET_PERMISSIONS, SECRET_READ_ROLES, RoleAssignments, permission_model, role_id, secret_permissions)


def identity_problem(service, service_name, identity_client_id):
    """(problem or None, kind, principal id)."""
    identity = Identity(service.identity)
    if identity_client_id:
        entry = identity.by_client_id(identity_client_id)
        if entry is not None:
            return None, 'user-assigned', entry['principal_id']
        by_principal = identity.by_principal_id(identity_client_id)
        if by_principal is not None:
            return ('identity_client_id %s is the principal (object) id of user-assigned identity %s, not its client '
                    'id. Use identity_client_id: %s.' % (identity_client_id, by_principal['id'].rsplit('/', 1)[-1],
                                                         by_principal['client_id'])), None, None
        return ('identity_client_id %s is not the client id of a user-assigned identity of service %s. Attach the '
                'identity with mtls.apim.service_identity, or leave identity_client_id out to use the '
                'system-assigned identity.' % (identity_client_id, service_name)), None, None
    if not identity.system:
        return ('Service %s has no system-assigned identity to read the secret with. Enable it with '
                'mtls.apim.service_identity (system_assigned: true), or give identity_client_id of a user-assigned '
                'identity.' % service_name), None, None
    return None, 'system-assigned', identity.principal_id


@_errors.write('Listing the key vaults of the subscription')
def find_vault(keyvault, vault_host):
    name = vault_host.split('.', 1)[0].lower()
    for vault in keyvault.vaults.list_by_subscription():
        if vault.name.lower() == name:
            return vault
    return None


def subnet_endpoints(azure, subnet_id):
    """The service endpoints of a subnet (service names), or None when it cannot be read."""
    from ansible_collections.mtls.apim.plugins.module_utils._handlers.network import SubnetHandler, endpoint_services

    parts = subnet_id.strip('/').split('/')
    lowered = [p.lower() for p in parts]
    try:
        resource_group = parts[lowered.index('resourcegroups') + 1]
        network = parts[lowered.index('virtualnetworks') + 1]
        name = parts[lowered.index('subnets') + 1]
    except (ValueError, IndexError):
        return None
    try:
        subnet = SubnetHandler(azure.client('network'), resource_group, network, name).get()
    except (AzureError, ModuleError):
        return None
    return None if subnet is None else endpoint_services(subnet)


def firewall_problem(vault, service, kind, endpoints_of=None):
    """``endpoints_of(subnet_id)``: the subnet's service endpoints, or None when unknown."""
    acls = vault.properties.network_acls
    if acls is None or (acls.default_action or 'Allow') != 'Deny':
        return None
    subnet_id = getattr(service.virtual_network_configuration, 'subnet_resource_id', None) or ''
    subnet = subnet_id.lower()
    if subnet and subnet in [(r.id or '').lower() for r in acls.virtual_network_rules or []]:
        # Without the Microsoft.KeyVault service endpoint the subnet's traffic reaches the vault
        # from a public address, and the virtual network rule never matches.
        endpoints = endpoints_of(subnet_id) if endpoints_of else None
        if endpoints is not None and 'microsoft.keyvault' not in [e.lower() for e in endpoints]:
            return ('Vault %s lets the service\'s subnet through its firewall, but subnet %s has no Microsoft.KeyVault '
                    'service endpoint, so its traffic reaches the vault from a public address. Add the endpoint with '
                    'mtls.apim.subnet_service_endpoint.' % (vault.name, subnet_id.rstrip('/').rsplit('/', 1)[-1]))
        return None
    if kind == 'user-assigned':
        return ('The firewall of vault %s denies by default, and API Management passes it as a trusted service only '
                'with its system-assigned identity: a user-assigned identity is refused even with the bypass. Leave '
                'identity_client_id out (system-assigned identity, with mtls.apim.service_identity and '
                'mtls.apim.vault_access), or list the service\'s subnet in the vault\'s virtual network rules.'
                % vault.name)
    if (acls.bypass or 'AzureServices') != 'AzureServices':
        return ('The firewall of vault %s denies by default and does not let trusted Microsoft services through. '
                'Set bypass: AzureServices with mtls.apim.vault_network (or list the service\'s subnet in the '
                'virtual network rules).' % vault.name)
    return None


def permission_problem(azure, vault, principal_id, kind):
    model = permission_model(vault)
    if model == RBAC:
        assignments = RoleAssignments(azure.client('authorization'), azure.auth.subscription_id, vault.id)
        if any(role_id(a) in SECRET_READ_ROLES for a in assignments.for_principal(principal_id)):
            return None
        how = 'a role assignment of Key Vault Secrets User (the vault uses Azure RBAC)'
    else:
        if set(SECRET_PERMISSIONS) <= secret_permissions(vault, principal_id):
            return None
        how = 'an access policy with Get and List on secrets (the vault uses access policies)'
    return ('The %s identity of the service (principal %s) may not read secrets in vault %s: it needs %s. Grant it '
            'with mtls.apim.vault_access.' % (kind, principal_id, vault.name, how))


def diagnose(azure, resource_group, service_name, secret_id, identity_client_id):
    """The missing prerequisite as a sentence, or None when none is found (or it cannot be checked)."""
    service = ServiceHandler(azure.client('apim'), resource_group, service_name).get()
    problem, kind, principal_id = identity_problem(service, service_name, identity_client_id)
    if problem:
        return problem
    try:
        vault = find_vault(azure.client('keyvault'), urlsplit(secret_id).hostname or '')
        if vault is None:
            return None
        return (firewall_problem(vault, service, kind, lambda subnet_id: subnet_endpoints(azure, subnet_id))
                or permission_problem(azure, vault, principal_id, kind))
    except (AzureError, ModuleError):
        # The caller may not be allowed to read the vault's settings; the service's own answer stands.
        return None
