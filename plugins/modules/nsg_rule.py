#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: nsg_rule
short_description: Ensure one security rule in a network security group
version_added: 0.3.0
description:
  - Ensures one rule of a network security group, leaving every other rule alone. A VNet-injected API Management
    service needs outbound TCP 443 to the service tags C(AzureKeyVault) and C(AzureActiveDirectory) to read
    certificates from Key Vault.
  - Idempotent; prefixes and port ranges compare as sets, whether Azure holds them in the singular or plural field.
  - A different rule that already holds the same priority and direction is not overwritten; the task fails and
    names it.
  - Azure takes several address prefixes in one rule only as explicit IP addresses and CIDR ranges; a service tag
    (C(AzureKeyVault), C(VirtualNetwork), ...) or C(*) must be the only value. Use one rule per service tag.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  resource_group:
    description: Resource group of the network security group.
    type: str
    required: true
  network_security_group:
    description: Name of the network security group.
    type: str
    required: true
  name:
    description: Name of the rule.
    type: str
    required: true
  priority:
    description: Priority, 100 to 4096; unique per direction in the group. Required with O(state=present).
    type: int
  direction:
    description: Direction of the traffic. Required with O(state=present).
    type: str
    choices: [Inbound, Outbound]
  access:
    description: Allow or deny.
    type: str
    choices: [Allow, Deny]
    default: Allow
  protocol:
    description: Protocol.
    type: str
    choices: ['*', Tcp, Udp, Icmp, Esp, Ah]
    default: Tcp
  source_address_prefixes:
    description: Source CIDR ranges and IP addresses, or one service tag (or V(*)) alone.
    type: list
    elements: str
    default: ['*']
  source_port_ranges:
    description: Source ports or ranges.
    type: list
    elements: str
    default: ['*']
  destination_address_prefixes:
    description: Destination CIDR ranges and IP addresses, or one service tag (or V(*)) alone.
    type: list
    elements: str
    default: ['*']
  destination_port_ranges:
    description: Destination ports or ranges.
    type: list
    elements: str
    default: ['*']
  description:
    description: Description of the rule.
    type: str
  state:
    description: Whether the rule should exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: mtls.apim.subnet_service_endpoint
'''

EXAMPLES = r'''
- name: Let API Management reach Key Vault and Azure AD (one rule per service tag)
  mtls.apim.nsg_rule:
    resource_group: rg-network
    network_security_group: nsg-apim
    name: "{{ item.name }}"
    priority: "{{ item.priority }}"
    direction: Outbound
    protocol: Tcp
    source_address_prefixes: [VirtualNetwork]
    destination_address_prefixes: ["{{ item.tag }}"]
    destination_port_ranges: ['443']
    description: API Management reads certificates from Key Vault
  loop:
    - {name: apim-to-keyvault, priority: 310, tag: AzureKeyVault}
    - {name: apim-to-azure-ad, priority: 320, tag: AzureActiveDirectory}
'''

RETURN = r'''
rule:
  description: The rule after the task (planned in check mode); absent values are empty lists.
  returned: when O(state=present)
  type: dict
  sample: {"name": "apim-to-keyvault", "priority": 310, "direction": "Outbound", "access": "Allow", "protocol": "Tcp",
           "source_address_prefixes": ["VirtualNetwork"], "source_port_ranges": ["*"],
           "destination_address_prefixes": ["AzureKeyVault"],
           "destination_port_ranges": ["443"], "description": null}
'''

import ipaddress

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.network import (
    SecurityRuleHandler, rule_model, rule_view)

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    network_security_group=dict(type='str', required=True),
    name=dict(type='str', required=True),
    priority=dict(type='int'),
    direction=dict(type='str', choices=['Inbound', 'Outbound']),
    access=dict(type='str', choices=['Allow', 'Deny'], default='Allow'),
    protocol=dict(type='str', choices=['*', 'Tcp', 'Udp', 'Icmp', 'Esp', 'Ah'], default='Tcp'),
    source_address_prefixes=dict(type='list', elements='str', default=['*']),
    source_port_ranges=dict(type='list', elements='str', default=['*']),
    destination_address_prefixes=dict(type='list', elements='str', default=['*']),
    destination_port_ranges=dict(type='list', elements='str', default=['*']),
    description=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
)


def comparable(view):
    """Enum values and service tags compare without case."""
    return {k: (sorted(str(x).lower() for x in v) if isinstance(v, list) else
                (v.lower() if isinstance(v, str) and k not in ('name', 'description') else v))
            for k, v in view.items()}


def is_address(value):
    """An explicit IP address or CIDR range (not a service tag, not '*')."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return False
    return True


def desired_view(params):
    if not 100 <= params['priority'] <= 4096:
        raise ModuleError('priority must be between 100 and 4096, got %d.' % params['priority'])
    view = dict(name=params['name'], priority=params['priority'], direction=params['direction'],
                access=params['access'], protocol=params['protocol'], description=params['description'])
    for option in ('source_address_prefixes', 'source_port_ranges', 'destination_address_prefixes',
                   'destination_port_ranges'):
        if not params[option]:
            raise ModuleError('%s must name at least one value (\'*\' for any).' % option)
        tags = [v for v in params[option] if not is_address(v)]
        if option.endswith('address_prefixes') and len(params[option]) > 1 and tags:
            # Azure answers 400 SecurityRuleParameterContainsUnsupportedValue: several prefixes go in the plural
            # field, which takes explicit addresses only.
            raise ModuleError('%s: %s must be the only value of a rule; Azure takes several prefixes only as IP '
                              'addresses and CIDR ranges. Use one rule per service tag.' % (option, tags[0]))
        view[option] = sorted(params[option])
    return view


def run(azure):
    params = azure.params
    handler = SecurityRuleHandler(azure.client('network'), params['resource_group'], params['network_security_group'])
    present = params['state'] == 'present'
    desired = desired_view(params) if present else None
    rules = handler.rules()
    current = next((r for r in rules if r.name.lower() == params['name'].lower()), None)
    before = rule_view(current) if current is not None else None
    result = dict(changed=False)
    if present:
        clash = [r for r in rules if r.name.lower() != params['name'].lower() and r.priority == desired['priority']
                 and (r.direction or '').lower() == desired['direction'].lower()]
        if clash:
            raise ModuleError('Rule %s already holds priority %d for %s traffic in network security group %s; choose '
                              'another priority for %s (or change that rule first).'
                              % (clash[0].name, desired['priority'], desired['direction'], handler.group, params['name']))
        if desired['description'] is None and before is not None:
            desired['description'] = before['description']
        result['changed'] = before is None or comparable(before) != comparable(desired)
        # Unchanged: report the rule as Azure holds it, so the diff shows no difference in spelling.
        after = desired if result['changed'] else before
        if result['changed'] and not azure.check_mode:
            after = rule_view(handler.put(params['name'], rule_model(desired)))
        result['rule'] = after
    else:
        result['changed'] = before is not None
        after = None
        if result['changed'] and not azure.check_mode:
            handler.delete(params['name'])
    if azure.diff_mode:
        result['diff'] = dict(before=before or {}, after=after or {})
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'network'),
                        required_if=[('state', 'present', ('priority', 'direction'))], supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
