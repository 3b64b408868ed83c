# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual network prerequisites of a VNet-injected API Management: subnet service endpoints and NSG rules."""

from __future__ import annotations

from ansible_collections.mtls.apim.plugins.module_utils import _errors

# Network operations are long-running; they usually finish in seconds.
POLLING_INTERVAL = 5


class SubnetHandler:
    def __init__(self, client, resource_group, network, subnet):
        self.client = client
        self.resource_group = resource_group
        self.network = network
        self.subnet = subnet

    @_errors.read('Reading the subnet')
    def get(self):
        return self.client.subnets.get(self.resource_group, self.network, self.subnet)

    @_errors.required('Reading the subnet', 'subnet_name %(subnet)r: no subnet of that name in virtual network '
                                            '%(network)r of resource group %(resource_group)r.')
    def require(self):
        return self.client.subnets.get(self.resource_group, self.network, self.subnet)

    @_errors.write('Updating the subnet')
    def put(self, subnet):
        """PUT the subnet as read, changed only where the caller changed it: the rest stays as it is."""
        poller = self.client.subnets.begin_create_or_update(self.resource_group, self.network, self.subnet, subnet,
                                                            polling_interval=POLLING_INTERVAL)
        return poller.result()


def endpoint_services(subnet):
    return [e.service for e in (subnet.service_endpoints or [])]


class SecurityRuleHandler:
    def __init__(self, client, resource_group, group):
        self.client = client
        self.resource_group = resource_group
        self.group = group

    @_errors.required('Reading the network security group', 'network_security_group %(group)r: no network '
                      'security group of that name in resource group %(resource_group)r.')
    def _get_group(self):
        return self.client.network_security_groups.get(self.resource_group, self.group)

    def rules(self):
        return list(self._get_group().security_rules or [])

    @_errors.write('Writing the security rule')
    def put(self, name, rule):
        return self.client.security_rules.begin_create_or_update(self.resource_group, self.group, name, rule,
                                                                 polling_interval=POLLING_INTERVAL).result()

    @_errors.delete('Deleting the security rule')
    def delete(self, name):
        self.client.security_rules.begin_delete(self.resource_group, self.group, name,
                                                polling_interval=POLLING_INTERVAL).result()
        return True


def _values(rule, single, plural):
    values = list(getattr(rule, plural, None) or [])
    one = getattr(rule, single, None)
    if one:
        values.append(one)
    return values


RULE_FIELDS = (
    ('source_address_prefixes', 'source_address_prefix', 'source_address_prefixes'),
    ('source_port_ranges', 'source_port_range', 'source_port_ranges'),
    ('destination_address_prefixes', 'destination_address_prefix', 'destination_address_prefixes'),
    ('destination_port_ranges', 'destination_port_range', 'destination_port_ranges'),
)


def rule_view(rule):
    """A security rule as plain values; singular and plural forms of prefixes and ranges merged, sets sorted."""
    view = dict(name=rule.name, priority=rule.priority, direction=rule.direction, access=rule.access,
                protocol=rule.protocol, description=rule.description or None)
    for option, single, plural in RULE_FIELDS:
        view[option] = sorted(str(v) for v in _values(rule, single, plural))
    return view


def rule_model(view):
    """The SDK model for a view: one value goes in the singular field, as the portal writes it."""
    from azure.mgmt.network.models import SecurityRule

    kwargs = dict(priority=view['priority'], direction=view['direction'], access=view['access'],
                  protocol=view['protocol'], description=view['description'])
    for option, single, plural in RULE_FIELDS:
        values = view[option]
        if len(values) == 1:
            kwargs[single] = values[0]
        else:
            kwargs[plural] = values
    return SecurityRule(**kwargs)
