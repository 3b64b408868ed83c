"""nsg_rule compares rules as sets, whatever field Azure keeps them in."""

import pytest

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.network import rule_model, rule_view
from ansible_collections.mtls.apim.plugins.modules.nsg_rule import comparable, desired_view

PARAMS = dict(name='apim-kv', priority=310, direction='Outbound', access='Allow', protocol='Tcp', description=None,
              source_address_prefixes=['VirtualNetwork'], source_port_ranges=['*'],
              destination_address_prefixes=['10.1.0.0/16', '10.2.0.4'], destination_port_ranges=['443'])


def test_round_trip_through_the_sdk_model():
    view = desired_view(PARAMS)
    model = rule_model(view)
    assert model.source_address_prefix == 'VirtualNetwork' and not model.source_address_prefixes
    assert sorted(model.destination_address_prefixes) == ['10.1.0.0/16', '10.2.0.4']
    model.name = 'apim-kv'
    assert comparable(rule_view(model)) == comparable(view)


def test_case_and_order_do_not_matter_but_values_do():
    view = desired_view(PARAMS)
    other = dict(view, protocol='TCP', destination_address_prefixes=['10.2.0.4', '10.1.0.0/16'])
    assert comparable(other) == comparable(view)
    tag = desired_view(dict(PARAMS, destination_address_prefixes=['AzureKeyVault']))
    assert comparable(dict(tag, destination_address_prefixes=['azurekeyvault'])) == comparable(tag)
    assert comparable(dict(view, destination_port_ranges=['8443'])) != comparable(view)


@pytest.mark.parametrize('change, message', [
    (dict(priority=99), 'priority must be between 100 and 4096'),
    (dict(destination_port_ranges=[]), 'destination_port_ranges must name at least one value'),
    # Azure refuses service tags (and '*') among several prefixes: one rule per tag.
    (dict(destination_address_prefixes=['AzureKeyVault', 'AzureActiveDirectory']),
     'AzureKeyVault must be the only value of a rule.*one rule per service tag'),
    (dict(source_address_prefixes=['10.0.0.0/8', '*']), r'\* must be the only value'),
])
def test_bad_input(change, message):
    with pytest.raises(ModuleError, match=message):
        desired_view(dict(PARAMS, **change))
