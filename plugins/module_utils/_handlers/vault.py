# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key Vault management: who may read secrets (access policies or RBAC) and the vault firewall."""

from __future__ import annotations

import ipaddress
import time
import uuid

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError

SECRET_PERMISSIONS = ('get', 'list')
SECRETS_USER_ROLE = '4633458b-17de-408a-b874-0445c86b69e6'
# Built-in roles that include reading secret values: Secrets User, Secrets Officer, Administrator.
SECRET_READ_ROLES = (SECRETS_USER_ROLE, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7', '00482a5a-887f-4fb3-b363-3b7fe8e74483')

ACCESS_POLICY = 'access_policy'
RBAC = 'rbac'


def permission_model(vault):
    return RBAC if vault.properties.enable_rbac_authorization else ACCESS_POLICY


def secret_permissions(vault, object_id):
    """The secret permissions an access policy of `vault` gives `object_id` (lower case)."""
    granted = set()
    for entry in vault.properties.access_policies or []:
        if (entry.object_id or '').lower() == object_id.lower() and not entry.application_id:
            granted.update(p.lower() for p in (entry.permissions.secrets or []) if entry.permissions)
    if 'all' in granted:
        granted.update(SECRET_PERMISSIONS)
    return granted


def role_id(assignment):
    return (assignment.role_definition_id or '').rstrip('/').rsplit('/', 1)[-1].lower()


def scope_covers(scope, resource_id):
    """Whether a role assignment at `scope` applies to `resource_id` (the same resource or an ancestor)."""
    scope = (scope or '').rstrip('/').lower()
    resource_id = resource_id.rstrip('/').lower()
    return resource_id == scope or resource_id.startswith(scope + '/')


def normalise_ip(value, field='ip_rules'):
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ModuleError('%s: %r is neither an IP address nor a CIDR range.' % (field, value)) from None
    return str(network.network_address) if network.num_addresses == 1 else str(network)


class VaultHandler:
    """One key vault through azure-mgmt-keyvault."""

    def __init__(self, client, resource_group, name):
        self.client = client
        self.resource_group = resource_group
        self.name = name

    @_errors.required('Reading the key vault',
                      'vault_name %(name)r: no key vault of that name in resource group %(resource_group)r.')
    def get(self):
        return self.client.vaults.get(self.resource_group, self.name)

    @_errors.write('Changing the access policies of the key vault')
    def change_access_policy(self, operation, tenant_id, object_id, secrets):
        from azure.mgmt.keyvault import models

        entry = models.AccessPolicyEntry(tenant_id=tenant_id, object_id=object_id,
                                         permissions=models.Permissions(secrets=sorted(secrets)))
        return self.client.vaults.update_access_policy(
            self.resource_group, self.name, operation,
            models.VaultAccessPolicyParameters(properties=models.VaultAccessPolicyProperties(access_policies=[entry])))

    @_errors.write('Changing the network rules of the key vault')
    def update_network(self, rules, ignore_missing_endpoint=()):
        """PATCH the network rules; subnets in `ignore_missing_endpoint` (lower-case ids) keep that flag."""
        from azure.mgmt.keyvault import models

        acls = models.NetworkRuleSet(
            bypass=rules['bypass'], default_action=rules['default_action'],
            ip_rules=[models.IPRule(value=v) for v in rules['ip_rules']],
            virtual_network_rules=[models.VirtualNetworkRule(
                id=v, ignore_missing_vnet_service_endpoint=v.lower() in ignore_missing_endpoint or None)
                for v in rules['virtual_network_rules']])
        return self.client.vaults.update(self.resource_group, self.name, models.VaultPatchParameters(
            properties=models.VaultPatchProperties(network_acls=acls)))


def subnets_ignoring_missing_endpoint(vault):
    """Lower-case ids of the vault's subnet rules that were added with ignoreMissingVnetServiceEndpoint."""
    acls = vault.properties.network_acls
    return {r.id.lower() for r in (acls.virtual_network_rules or []) if r.ignore_missing_vnet_service_endpoint} \
        if acls is not None else set()


def network_view(vault):
    """The vault firewall as plain, normalised values."""
    acls = vault.properties.network_acls
    if acls is None:
        return dict(bypass='AzureServices', default_action='Allow', ip_rules=[], virtual_network_rules=[])
    return dict(bypass=acls.bypass or 'AzureServices', default_action=acls.default_action or 'Allow',
                ip_rules=sorted(normalise_ip(r.value) for r in acls.ip_rules or []),
                virtual_network_rules=sorted(r.id for r in acls.virtual_network_rules or []))


class RoleAssignments:
    """Role assignments at one scope through azure-mgmt-authorization."""

    # A managed identity created a moment ago may not be known to the directory yet (documented
    # eventual consistency): the create answers PrincipalNotFound, and waiting is the only remedy.
    PRINCIPAL_DELAYS = (2, 4, 8, 16, 30)

    def __init__(self, client, subscription_id, scope):
        self.client = client
        self.subscription_id = subscription_id
        self.scope = scope

    def role_definition_id(self, role):
        return '/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s' % (self.subscription_id, role)

    @_errors.write('Listing the role assignments of the key vault')
    def for_principal(self, principal_id):
        found = self.client.role_assignments.list_for_scope(self.scope, filter="principalId eq '%s'" % principal_id)
        return [a for a in found if scope_covers(a.scope, self.scope)]

    def assignment_name(self, principal_id, role):
        """A stable name, so that two runs racing to create the same assignment make one."""
        key = '%s|%s|%s' % (self.scope.lower(), principal_id.lower(), role)
        return str(uuid.uuid5(uuid.NAMESPACE_URL, key))

    def create(self, principal_id, role, principal_type):
        from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

        parameters = RoleAssignmentCreateParameters(role_definition_id=self.role_definition_id(role),
                                                    principal_id=principal_id, principal_type=principal_type)
        for delay in self.PRINCIPAL_DELAYS + (None,):
            try:
                return self._create(self.assignment_name(principal_id, role), parameters)
            except _errors.AzureError as exc:
                if exc.code == 'RoleAssignmentExists':
                    return None
                if exc.code != 'PrincipalNotFound' or delay is None:
                    raise
                time.sleep(delay)
        return None

    @_errors.write('Creating the role assignment')
    def _create(self, name, parameters):
        return self.client.role_assignments.create(self.scope, name, parameters)

    @_errors.delete('Deleting the role assignment')
    def delete(self, assignment):
        self.client.role_assignments.delete_by_id(assignment.id)
        return True
