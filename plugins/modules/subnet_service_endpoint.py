#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: subnet_service_endpoint
short_description: Ensure a service endpoint (Microsoft.KeyVault by default) on a subnet
version_added: 0.3.0
description:
  - A VNet-injected API Management service reaches Key Vault through the C(Microsoft.KeyVault) service endpoint
    of its subnet, and a vault firewall can then allow that subnet.
  - Additive. The subnet's other service endpoints, delegations, route table, network security group and policies
    stay as they are.
author:
  - mtls.apim maintainers (@mtls-apim)
extends_documentation_fragment:
  - mtls.apim.azure
  - mtls.apim.attributes
  - mtls.apim.attributes.ACTIONS
options:
  resource_group:
    description: Resource group of the virtual network.
    type: str
    required: true
  virtual_network_name:
    description: Name of the virtual network.
    type: str
    required: true
  subnet_name:
    description: Name of the subnet (the API Management service's subnet).
    type: str
    required: true
  service:
    description: The service endpoint.
    type: str
    default: Microsoft.KeyVault
  locations:
    description: Regions of the endpoint. Leave out to take Azure's default for the service.
    type: list
    elements: str
  state:
    description: Whether the endpoint should be on the subnet.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: mtls.apim.nsg_rule
  - module: mtls.apim.vault_network
'''

EXAMPLES = r'''
- name: Key Vault service endpoint on the APIM subnet
  mtls.apim.subnet_service_endpoint:
    resource_group: rg-network
    virtual_network_name: vnet-apim
    subnet_name: snet-apim
  register: endpoint

- name: Let that subnet through the vault firewall
  mtls.apim.vault_network:
    resource_group: rg-vaults
    vault_name: kv-apim-prod
    virtual_network_rules: ["{{ endpoint.subnet.id }}"]
'''

RETURN = r'''
subnet:
  description: The subnet after the task (planned endpoints in check mode).
  returned: always
  type: dict
  contains:
    id:
      description: Resource id of the subnet.
      type: str
    service_endpoints:
      description: Services with an endpoint on the subnet.
      type: list
      elements: str
      sample: [Microsoft.KeyVault, Microsoft.Storage]
'''

from ansible_collections.mtls.apim.plugins.module_utils._module import AzureModule
from ansible_collections.mtls.apim.plugins.module_utils._handlers.network import SubnetHandler, endpoint_services

ARGUMENT_SPEC = dict(
    resource_group=dict(type='str', required=True),
    virtual_network_name=dict(type='str', required=True),
    subnet_name=dict(type='str', required=True),
    service=dict(type='str', default='Microsoft.KeyVault'),
    locations=dict(type='list', elements='str'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
)


def region_set(locations):
    return sorted((v or '').replace(' ', '').lower() for v in locations or [])


def run(azure):
    params = azure.params
    handler = SubnetHandler(azure.client('network'), params['resource_group'], params['virtual_network_name'],
                            params['subnet_name'])
    subnet = handler.require()
    before = endpoint_services(subnet)
    wanted = params['service'].lower()
    current = next((e for e in (subnet.service_endpoints or []) if e.service.lower() == wanted), None)
    present = params['state'] == 'present'
    changed = (current is not None) != present
    if present and current is not None and params['locations']:
        # Regions are compared only when the task names them.
        changed = region_set(current.locations) != region_set(params['locations'])
    after = before
    if changed:
        from azure.mgmt.network.models import ServiceEndpointPropertiesFormat

        endpoints = [e for e in (subnet.service_endpoints or []) if e.service.lower() != wanted]
        if present:
            endpoints.append(ServiceEndpointPropertiesFormat(service=params['service'], locations=params['locations']))
        after = [e.service for e in endpoints]
        if not azure.check_mode:
            subnet.service_endpoints = endpoints
            subnet = handler.put(subnet)
            after = endpoint_services(subnet)
    result = dict(changed=changed, subnet=dict(id=subnet.id, service_endpoints=after))
    if azure.diff_mode:
        result['diff'] = dict(before=dict(service_endpoints=before), after=dict(service_endpoints=after))
    return result


def main():
    azure = AzureModule(ARGUMENT_SPEC, sdks=('identity', 'network'), supports_check_mode=True)
    azure.run(run)


if __name__ == '__main__':
    main()
