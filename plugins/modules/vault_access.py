#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vault_access
short_description: Let a principal (such as an API Management identity) read secrets in a key vault
version_added: 0.2.0
description:
  - Grants or revokes Get and List on the secrets of a key vault for one principal, as API Management needs
    to read a certificate from Key Vault.
  - The principal is given by object id, or as the system-assigned or a user-assigned identity of an API
    Management service, which the module looks up.
  - It follows the vault's permission model. With access policies it adds or removes only that principal's
    secret permissions (the accessPolicies add/remove operation), never rewriting other principals' entries.
    With Azure RBAC (C(enableRbacAuthorization)) it creates or deletes a role assignment of the built-in
    C(Key Vault Secrets User) role at the vault's scope.
  - Idempotent. Other permissions of the principal, and assignments at other scopes, are left alone.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.vault
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  object_id:
    description:
      - Object (principal) id of the principal. Mutually exclusive with O(apim_service).
    type: str
  apim_service:
    description: The API Management service whose identity is the principal.
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the service. Defaults to O(resource_group).
        type: str
      name:
        description: Name of the service.
        type: str
        required: true
      identity:
        description:
          - V(SystemAssigned) for the system-assigned identity, or the name, resource id or client id of a
            user-assigned identity attached to the service.
        type: str
        default: SystemAssigned
  principal_type:
    description: Type of the principal, recorded in an RBAC role assignment. Managed identities are service principals.
    type: str
    choices: [ServicePrincipal, User, Group]
    default: ServicePrincipal
  state:
    description: Whether the principal may read secrets.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: mtls.apim.service_identity
  - module: mtls.apim.vault_network
'''

EXAMPLES = r'''
- name: Let the system-assigned identity of apim-prod read secrets
  mtls.apim.vault_access:
    resource_group: rg-vaults
    vault_name: kv-apim-prod
    apim_service:
      resource_group: rg-apim
      name: apim-prod
  register: access

- name: Grant a principal by object id
  mtls.apim.vault_access:
    resource_group: rg-vaults
    vault_name: kv-apim-prod
    object_id: 6f7e8d9c-0000-4000-8000-000000000001

- name: Revoke it
  mtls.apim.vault_access:
    resource_group: rg-vaults
    vault_name: kv-apim-prod
    object_id: 6f7e8d9c-0000-4000-8000-000000000001
    state: absent
'''

RETURN = r'''
permission_model:
  description: How the vault authorizes, and so how access was given.
  returned: always
  type: str
  sample: access_policy
  choices: [access_policy, rbac]
principal_id:
  description: Object id of the principal.
  returned: always
  type: str
  sample: 9a1b2c3d-0000-4000-8000-000000000001
secret_permissions:
  description: With access policies, the principal's secret permissions after the task.
  returned: when RV(permission_model=access_policy)
  type: list
  elements: str
  sample: [get, list]
role_assignments:
  description: With RBAC, the ids of the principal's secret-reading role assignments covering the vault after the task.
  returned: when RV(permission_model=rbac)
  type: list
  elements: str
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import ServiceHandler
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import (
    ACCESS_POLICY, SECRET_PERMISSIONS, SECRET_READ_ROLES, SECRETS_USER_ROLE, RoleAssignments, VaultHandler,
    permission_model, role_id, secret_permissions)

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    vault_name=dict(type='str', required=True),
    object_id=dict(type='str'),
    apim_service=dict(type='dict', options=dict(
        resource_group=dict(type='str'),
        name=dict(type='str', required=True),
        identity=dict(type='str', default='SystemAssigned'),
    )),
    principal_type=dict(type='str', choices=['ServicePrincipal', 'User', 'Group'], default='ServicePrincipal'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
)


def resolve_principal(azure):
    params = azure.params
    if params['object_id']:
        return params['object_id']
    service = params['apim_service']
    handler = ServiceHandler(azure.client('apim'), service['resource_group'] or params['resource_group'],
                             service['name'])
    _kind, principal_id, _client_id = handler.principal(handler.get(), service['identity'])
    return principal_id


def converge_access_policy(azure, vault_handler, vault, principal_id, present):
    granted = secret_permissions(vault, principal_id)
    if present:
        operation, delta = 'add', set(SECRET_PERMISSIONS) - granted
        after = granted | delta
    else:
        operation, delta = 'remove', set(SECRET_PERMISSIONS) & granted
        after = granted - delta
    if delta and not azure.check_mode:
        vault_handler.change_access_policy(operation, vault.properties.tenant_id, principal_id, delta)
    return bool(delta), dict(secret_permissions=sorted(granted)), dict(secret_permissions=sorted(after))


def converge_rbac(azure, vault, principal_id, present):
    assignments = RoleAssignments(azure.client('authorization'), azure.auth.subscription_id, vault.id)
    readers = [a for a in assignments.for_principal(principal_id) if role_id(a) in SECRET_READ_ROLES]
    before = sorted(a.id for a in readers)
    if present:
        changed = not readers
        after = before
        if changed and not azure.check_mode:
            created = assignments.create(principal_id, SECRETS_USER_ROLE, azure.params['principal_type'])
            after = sorted(before + [created.id]) if created is not None else before
    else:
        # Only what this module grants, at the vault itself: broader grants are someone else's to remove.
        own = [a for a in readers if role_id(a) == SECRETS_USER_ROLE and a.scope.lower() == vault.id.lower()]
        changed = bool(own)
        after = sorted(a.id for a in readers if a not in own)
        if changed and not azure.check_mode:
            for assignment in own:
                assignments.delete(assignment)
    return changed, dict(role_assignments=before), dict(role_assignments=after)


def run(azure):
    params = azure.params
    principal_id = resolve_principal(azure)
    vault_handler = VaultHandler(azure.client('keyvault'), params['resource_group'], params['vault_name'])
    vault = vault_handler.get()
    model = permission_model(vault)
    present = params['state'] == 'present'
    if model == ACCESS_POLICY:
        changed, before, after = converge_access_policy(azure, vault_handler, vault, principal_id, present)
    else:
        changed, before, after = converge_rbac(azure, vault, principal_id, present)
    result = dict(changed=changed, permission_model=model, principal_id=principal_id, **after)
    if azure.diff_mode:
        result['diff'] = dict(before=dict(before, principal_id=principal_id), after=dict(after, principal_id=principal_id))
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'keyvault'),
                        mutually_exclusive=[('object_id', 'apim_service')],
                        required_one_of=[('object_id', 'apim_service')], supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
