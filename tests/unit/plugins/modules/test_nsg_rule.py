"""nsg_rule compares rules as sets, whatever field Azure keeps them in."""

import pytest

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.network import rule_model, rule_view
from ansible_collections.mtls.apim.plugins.modules.nsg_rule import comparable, desired_view

PARAMS = dict(name='apim-kv', priority=310, direction='Outbound', access='Allow', protocol='Tcp', description=None,
              source_address_prefixes=['VirtualNetwork'], source_port_ranges=['*'],
              destination_address_prefixes=['AzureKeyVault', 'AzureActiveDirectory'], destination_port_ranges=['443'])


def test_round_trip_through_the_sdk_model():
    view = desired_view(PARAMS)
    model = rule_model(view)
    assert model.source_address_prefix == 'VirtualNetwork' and not model.source_address_prefixes
    assert sorted(model.destination_address_prefixes) == ['AzureActiveDirectory', 'AzureKeyVault']
    model.name = 'apim-kv'
    assert comparable(rule_view(model)) == comparable(view)


def test_case_and_order_do_not_matter_but_values_do():
    view = desired_view(PARAMS)
    other = dict(view, protocol='TCP', destination_address_prefixes=['azurekeyvault', 'AzureActiveDirectory'])
    assert comparable(other) == comparable(view)
    assert comparable(dict(view, destination_port_ranges=['8443'])) != comparable(view)


@pytest.mark.parametrize('change, message', [
    (dict(priority=99), 'priority must be between 100 and 4096'),
    (dict(destination_port_ranges=[]), 'destination_port_ranges must name at least one value'),
])
def test_bad_input(change, message):
    with pytest.raises(ModuleError, match=message):
        desired_view(dict(PARAMS, **change))
