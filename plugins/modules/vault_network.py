#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vault_network
short_description: Manage the firewall (network rules) of a key vault
version_added: 0.2.0
description:
  - Manages the network rules of a key vault - the bypass for trusted Microsoft services, the default action,
    IP rules and virtual network rules - each added or removed incrementally.
  - Rules the task does not name are kept, unless O(purge_ip_rules) or O(purge_virtual_network_rules) asks
    otherwise. So "allow the control node's address while working with the vault, then remove it" is two
    tasks that touch nothing else.
  - API Management reaches a vault whose default action is V(Deny) only as a trusted service (O(bypass=AzureServices))
    with its system-assigned identity, or from a subnet listed in the virtual network rules.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.vault
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  bypass:
    description: V(AzureServices) lets trusted Microsoft services (API Management among them) through the firewall.
    type: str
    choices: [AzureServices, None]
  default_action:
    description: What happens to traffic no rule matches. V(Deny) turns the firewall on.
    type: str
    choices: [Allow, Deny]
  ip_rules:
    description: IP addresses or CIDR ranges to allow (O(state=present)) or to remove (O(state=absent)).
    type: list
    elements: str
    default: []
  virtual_network_rules:
    description: Subnet resource ids to allow (O(state=present)) or to remove (O(state=absent)).
    type: list
    elements: str
    default: []
  state:
    description: Whether the listed IP and virtual network rules should be there.
    type: str
    choices: [present, absent]
    default: present
  purge_ip_rules:
    description: With O(state=present), remove IP rules not listed in O(ip_rules).
    type: bool
    default: false
  purge_virtual_network_rules:
    description: With O(state=present), remove virtual network rules not listed in O(virtual_network_rules).
    type: bool
    default: false
  ignore_missing_vnet_service_endpoint:
    description:
      - Add the O(virtual_network_rules) even when their subnet has no C(Microsoft.KeyVault) service endpoint yet
        (Azure refuses them otherwise). Subnet rules already in the vault keep the setting they were added with.
    type: bool
    default: false
seealso:
  - module: mtls.apim.vault_access
  - module: mtls.apim.vault_certificate
'''

EXAMPLES = r'''
- name: Firewall on, trusted services (API Management with its system-assigned identity) through
  mtls.apim.vault_network:
    resource_group: rg-vaults
    vault_name: kv-apim-prod
    default_action: Deny
    bypass: AzureServices

- name: Work with the vault from the control node, and always close the door again
  block:
    - name: Allow the control node
      mtls.apim.vault_network:
        resource_group: rg-vaults
        vault_name: kv-apim-prod
        ip_rules: ["{{ control_node_ip }}"]

    - name: Import the certificate
      mtls.apim.vault_certificate:
        vault_url: https://kv-apim-prod.vault.azure.net
        name: orders-client
        pfx_path: files/orders-client.pfx
        pfx_password: "{{ vault_orders_client_password }}"
  always:
    - name: Remove the control node's address
      mtls.apim.vault_network:
        resource_group: rg-vaults
        vault_name: kv-apim-prod
        ip_rules: ["{{ control_node_ip }}"]
        state: absent
'''

RETURN = r'''
network_acls:
  description: The vault's network rules after the task (planned ones in check mode); IPs normalised (a /32 is the bare address).
  returned: always
  type: dict
  sample: {"bypass": "AzureServices", "default_action": "Deny", "ip_rules": ["203.0.113.7"], "virtual_network_rules": []}
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.vault import (
    VaultHandler, network_view, normalise_ip, subnets_ignoring_missing_endpoint)

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    vault_name=dict(type='str', required=True),
    bypass=dict(type='str', choices=['AzureServices', 'None']),
    default_action=dict(type='str', choices=['Allow', 'Deny']),
    ip_rules=dict(type='list', elements='str', default=[]),
    virtual_network_rules=dict(type='list', elements='str', default=[]),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    purge_ip_rules=dict(type='bool', default=False),
    purge_virtual_network_rules=dict(type='bool', default=False),
    ignore_missing_vnet_service_endpoint=dict(type='bool', default=False),
)


def merge(current, wanted, present, purge, key=lambda v: v):
    """The rule list after adding (or removing) `wanted`, keeping the others unless purging."""
    wanted_keys = {key(v) for v in wanted}
    if not present:
        return [v for v in current if key(v) not in wanted_keys]
    kept = [v for v in current if not purge or key(v) in wanted_keys]
    kept_keys = {key(v) for v in kept}
    return kept + [v for v in wanted if key(v) not in kept_keys]


def desired_network(current, params):
    present = params['state'] == 'present'
    ips = [normalise_ip(v) for v in params['ip_rules']]
    subnets = [v.rstrip('/') for v in params['virtual_network_rules']]
    return dict(
        bypass=params['bypass'] or current['bypass'],
        default_action=params['default_action'] or current['default_action'],
        ip_rules=sorted(merge(current['ip_rules'], ips, present, params['purge_ip_rules'])),
        virtual_network_rules=sorted(merge(current['virtual_network_rules'], subnets, present,
                                           params['purge_virtual_network_rules'], key=str.lower)))


def run(azure):
    params = azure.params
    handler = VaultHandler(azure.client('keyvault'), params['resource_group'], params['vault_name'])
    vault = handler.get()
    current = network_view(vault)
    desired = desired_network(current, params)
    changed = desired != current
    after = desired
    if changed and not azure.check_mode:
        # Rules the task does not touch go back as they were, flags included.
        ignoring = subnets_ignoring_missing_endpoint(vault)
        if params['ignore_missing_vnet_service_endpoint'] and params['state'] == 'present':
            ignoring |= {v.lower() for v in params['virtual_network_rules']}
        after = network_view(handler.update_network(desired, ignoring))
    result = dict(changed=changed, network_acls=after)
    if azure.diff_mode:
        result['diff'] = dict(before=current, after=after)
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'keyvault'), supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
