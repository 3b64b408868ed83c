#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: service_identity
short_description: Manage the managed identities of an Azure API Management service
version_added: 0.2.0
description:
  - Ensures the system-assigned identity and/or named user-assigned identities of an API Management service.
    API Management reads Key Vault certificates with one of them.
  - Additive. It never removes an identity it was not asked to remove; with O(state=absent) it removes the
    identities named in the task.
  - Service updates are long-running operations. The module waits for them (polling every 10 seconds, or as
    the service's Retry-After says), unless O(wait=false).
  - Disabling a system-assigned identity deletes its principal; enabling it again creates a new principal,
    whose Key Vault access must be granted again.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.service
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  system_assigned:
    description:
      - With O(state=present), V(true) ensures the system-assigned identity is enabled.
      - With O(state=absent), V(true) ensures it is disabled.
      - Leave out to leave it as it is.
    type: bool
  user_assigned_identities:
    description:
      - User-assigned identities to attach (O(state=present)) or detach (O(state=absent)), by resource id, or by
        name in O(user_assigned_identity_resource_group).
    type: list
    elements: str
    default: []
  user_assigned_identity_resource_group:
    description: Resource group of user-assigned identities given by name. Defaults to O(resource_group).
    type: str
  state:
    description: Whether the named identities should be on the service or not.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait for the service update to finish. With V(false) the module returns as soon as Azure accepted it.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the update before failing (it goes on in Azure).
    type: int
    default: 2700
seealso:
  - module: mtls.apim.vault_access
  - module: mtls.apim.certificate
'''

EXAMPLES = r'''
- name: Enable the system-assigned identity (what a vault behind a firewall needs)
  mtls.apim.service_identity:
    resource_group: rg-apim
    service_name: apim-prod
    system_assigned: true
  register: apim_identity

- name: Attach a user-assigned identity too
  mtls.apim.service_identity:
    resource_group: rg-apim
    service_name: apim-prod
    user_assigned_identities:
      - id-apim-keyvault

- name: Detach it again, leaving the system-assigned identity alone
  mtls.apim.service_identity:
    resource_group: rg-apim
    service_name: apim-prod
    user_assigned_identities:
      - id-apim-keyvault
    state: absent
'''

RETURN = r'''
identity:
  description: The identities of the service after the task (planned ones in check mode).
  returned: always
  type: dict
  contains:
    type:
      description: V(SystemAssigned), V(UserAssigned), V(SystemAssigned, UserAssigned) or V(None).
      type: str
      sample: SystemAssigned, UserAssigned
    principal_id:
      description: Object id of the system-assigned identity's principal; null without one (and in check mode before it exists).
      type: str
      sample: 9a1b2c3d-0000-4000-8000-000000000001
    tenant_id:
      description: Tenant of the identities.
      type: str
    user_assigned_identities:
      description: Each user-assigned identity with C(id), C(principal_id) and C(client_id).
      type: list
      elements: dict
      sample: [{"id": "/subscriptions/.../userAssignedIdentities/id-apim", "principal_id": "...", "client_id": "..."}]
provisioning_state:
  description: Provisioning state of the service after the task.
  returned: when the service was updated
  type: str
  sample: Succeeded
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import Identity, ServiceHandler, identity_id

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    service_name=dict(type='str', required=True),
    system_assigned=dict(type='bool'),
    user_assigned_identities=dict(type='list', elements='str', default=[]),
    user_assigned_identity_resource_group=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=2700),
)


def plan(current, params, wanted_ids):
    """(system, {lower id: id}) after the task, and the user-assigned changes as a PATCH dict."""
    present = params['state'] == 'present'
    system = current.system
    if params['system_assigned']:
        system = present
    user = {key: entry['id'] for key, entry in current.user_assigned.items()}
    patch = {}
    for value in wanted_ids:
        key = value.lower()
        if present and key not in user:
            user[key] = value
            patch[value] = {}
        elif not present and key in user:
            patch[user.pop(key)] = None
    return system, user, patch


def run(azure):
    params = azure.params
    handler = ServiceHandler(azure.client('apim'), params['resource_group'], params['service_name'])
    wanted = [identity_id(v, azure.auth.subscription_id,
                          params['user_assigned_identity_resource_group'] or params['resource_group'])
              for v in params['user_assigned_identities']]
    service = handler.get()
    current = Identity(service.identity)
    system, user, patch = plan(current, params, wanted)
    changed = system != current.system or bool(patch)
    before = current.view()
    result = dict(changed=changed)
    if not changed:
        result['identity'] = before
    elif azure.check_mode:
        planned = dict(before, type=Identity.type_for(system, user),
                       principal_id=current.principal_id if system else None,
                       user_assigned_identities=sorted(
                           [current.user_assigned.get(k, dict(id=v, principal_id=None, client_id=None))
                            for k, v in user.items()], key=lambda e: e['id'].lower()))
        result['identity'] = planned
    else:
        from azure.mgmt.apimanagement.models import ApiManagementServiceIdentity, UserIdentityProperties

        identity = ApiManagementServiceIdentity(
            type=Identity.type_for(system, user),
            user_assigned_identities={k: (UserIdentityProperties() if v is not None else None)
                                      for k, v in patch.items()} or None)
        service = handler.update(params['wait'], params['wait_timeout'], identity=identity) or handler.get()
        result['identity'] = Identity(service.identity).view()
        result['provisioning_state'] = service.provisioning_state
    if azure.diff_mode:
        result['diff'] = dict(before=before, after=result['identity'])
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'apim'), supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
