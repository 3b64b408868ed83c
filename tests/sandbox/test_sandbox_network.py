"""Virtual networks, subnets, network security groups and their rules, through azure-mgmt-network;
and the Key Vault rules that depend on a subnet's Microsoft.KeyVault service endpoint."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.apimanagement import models as am
from azure.mgmt.keyvault import models as kv
from azure.mgmt.network import models as nm

from sandbox_helpers import RG, SERVICE, UAI_CLIENT, VAULT, _mgmt, keyvault_client

LOCATION = "westeurope"


@pytest.fixture
def net(sb):
    from azure.mgmt.network import NetworkManagementClient

    return _mgmt(NetworkManagementClient, sb.info)


def _ids(sb, vnet="vnet1", subnet="apim"):
    base = f"/subscriptions/{sb.info['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.Network"
    return f"{base}/virtualNetworks/{vnet}/subnets/{subnet}", f"{base}/networkSecurityGroups/nsg1"


def _seed_network(sb, endpoints=("Microsoft.Storage",)):
    subnet_id, nsg_id = _ids(sb)
    sb.admin("POST", "seed", {
        "network_security_groups": [{"resource_group": RG, "name": "nsg1", "location": LOCATION,
                                     "security_rules": [{
                                         "name": "allow-https-in", "priority": 200, "direction": "Inbound",
                                         "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "Internet",
                                         "sourcePortRange": "*", "destinationAddressPrefix": "VirtualNetwork",
                                         "destinationPortRange": "443"}]}],
        "virtual_networks": [{"resource_group": RG, "name": "vnet1", "location": LOCATION,
                              "address_space": ["10.0.0.0/16"],
                              "subnets": [{"name": "apim", "address_prefix": "10.0.1.0/24",
                                           "service_endpoints": list(endpoints),
                                           "delegations": ["Microsoft.Web/serverFarms"],
                                           "network_security_group": "nsg1"},
                                          {"name": "other", "address_prefix": "10.0.2.0/24"}]}]})
    return subnet_id, nsg_id


def _rule(priority=310, direction="Outbound", **fields):
    base = dict(protocol="Tcp", access="Allow", priority=priority, direction=direction,
                source_address_prefix="VirtualNetwork", source_port_range="*",
                destination_address_prefix="AzureKeyVault", destination_port_range="443")
    base.update(fields)
    return nm.SecurityRule(**base)


def _without_etags(value):
    if isinstance(value, dict):
        return {k: _without_etags(v) for k, v in value.items() if k != "etag"}
    if isinstance(value, list):
        return [_without_etags(v) for v in value]
    return value


def _refused(call, status=400):
    with pytest.raises(HttpResponseError) as err:
        call()
    assert err.value.status_code == status, err.value.message
    return err.value.error


# --- virtual networks and subnets -----------------------------------------------------------

def test_vnet_create_get_list_delete(sb, net):
    created = net.virtual_networks.begin_create_or_update(RG, "vnet2", nm.VirtualNetwork(
        location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.1.0.0/16"]),
        subnets=[nm.Subnet(name="a", address_prefix="10.1.0.0/24")])).result()
    assert created.provisioning_state == "Succeeded"
    assert [s.name for s in created.subnets] == ["a"]
    assert created.subnets[0].etag == created.etag
    assert net.subnets.get(RG, "vnet2", "a").address_prefix == "10.1.0.0/24"
    assert [v.name for v in net.virtual_networks.list(RG)] == ["vnet2"]
    net.virtual_networks.begin_delete(RG, "vnet2").result()
    with pytest.raises(ResourceNotFoundError):
        net.virtual_networks.get(RG, "vnet2")


def test_a_subnet_written_alone_shows_in_the_network_and_back(sb, net):
    _seed_network(sb)
    subnet = net.subnets.begin_create_or_update(RG, "vnet1", "extra", nm.Subnet(
        address_prefix="10.0.3.0/24")).result()
    assert subnet.provisioning_state == "Succeeded"
    vnet = net.virtual_networks.get(RG, "vnet1")
    assert sorted(s.name for s in vnet.subnets) == ["apim", "extra", "other"]
    assert sorted(s.name for s in net.subnets.list(RG, "vnet1")) == ["apim", "extra", "other"]
    # A network PUT replaces the subnet list: the ones left out are gone.
    vnet.subnets = [s for s in vnet.subnets if s.name != "extra"]
    net.virtual_networks.begin_create_or_update(RG, "vnet1", vnet).result()
    with pytest.raises(ResourceNotFoundError) as err:
        net.subnets.get(RG, "vnet1", "extra")
    assert err.value.error.code == "NotFound"
    net.subnets.begin_delete(RG, "vnet1", "other").result()
    assert [s.name for s in net.virtual_networks.get(RG, "vnet1").subnets] == ["apim"]


def test_service_endpoints_get_default_locations(sb, net):
    _seed_network(sb)
    subnet = net.subnets.get(RG, "vnet1", "apim")
    assert [(e.service, e.locations) for e in subnet.service_endpoints] == [
        ("Microsoft.Storage", ["westeurope", "northeurope"])]
    subnet.service_endpoints.append(nm.ServiceEndpointPropertiesFormat(service="Microsoft.KeyVault"))
    after = net.subnets.begin_create_or_update(RG, "vnet1", "apim", subnet).result()
    assert [(e.service, e.locations, e.provisioning_state) for e in after.service_endpoints] == [
        ("Microsoft.Storage", ["westeurope", "northeurope"], "Succeeded"),
        ("Microsoft.KeyVault", ["*"], "Succeeded")]


def test_a_subnet_read_and_written_back_keeps_everything(sb, net):
    _seed_network(sb)
    before = net.subnets.get(RG, "vnet1", "apim")
    after = net.subnets.begin_create_or_update(RG, "vnet1", "apim", before).result()
    assert _without_etags(after.as_dict()) == _without_etags(before.as_dict())
    assert after.etag != before.etag
    assert after.delegations[0].service_name == "Microsoft.Web/serverFarms"
    assert after.network_security_group.id.lower() == _ids(sb)[1].lower()


def test_a_subnet_put_replaces_the_subnet(sb, net):
    _seed_network(sb)
    after = net.subnets.begin_create_or_update(RG, "vnet1", "apim", nm.Subnet(
        address_prefix="10.0.1.0/24")).result()
    assert after.service_endpoints == [] and after.delegations == []
    assert after.network_security_group is None


def test_subnet_layout_is_checked(sb, net):
    _seed_network(sb)
    assert _refused(lambda: net.subnets.begin_create_or_update(RG, "vnet1", "x", nm.Subnet(
        address_prefix="10.9.0.0/24")).result()).code == "NetcfgSubnetRangeOutsideVnet"
    assert _refused(lambda: net.subnets.begin_create_or_update(RG, "vnet1", "x", nm.Subnet(
        address_prefix="10.0.1.128/25")).result()).code == "NetcfgSubnetRangesOverlap"
    assert _refused(lambda: net.subnets.begin_create_or_update(RG, "vnet1", "x", nm.Subnet(
        address_prefix="10.0.5.1/24")).result()).code == "InvalidCIDRNotation"
    error = _refused(lambda: net.subnets.begin_create_or_update(RG, "vnet1", "x", nm.Subnet(
        address_prefix="10.0.5.0/24", network_security_group=nm.NetworkSecurityGroup(
            id=_ids(sb)[1] + "-missing"))).result())
    assert error.code == "InvalidResourceReference"
    assert _refused(lambda: net.subnets.get(RG, "no-such-vnet", "x"), 404).code == "ParentResourceNotFound"


def test_a_subnet_holding_a_service_cannot_be_deleted(sb, net):
    subnet_id, _n = _seed_network(sb)
    sb.admin("POST", "seed", {"services": [{"resource_group": RG, "name": SERVICE, "location": LOCATION,
                                            "virtual_network": {"subnet_resource_id": subnet_id}}]})
    assert _refused(lambda: net.subnets.begin_delete(RG, "vnet1", "apim").result()).code == \
        "InUseSubnetCannotBeDeleted"


# --- security groups and rules --------------------------------------------------------------

def test_nsg_has_azures_six_default_rules_and_its_subnets(sb, net):
    subnet_id, _n = _seed_network(sb)
    nsg = net.network_security_groups.get(RG, "nsg1")
    assert sorted((r.name, r.priority, r.direction) for r in nsg.default_security_rules) == [
        ("AllowAzureLoadBalancerInBound", 65001, "Inbound"), ("AllowInternetOutBound", 65001, "Outbound"),
        ("AllowVnetInBound", 65000, "Inbound"), ("AllowVnetOutBound", 65000, "Outbound"),
        ("DenyAllInBound", 65500, "Inbound"), ("DenyAllOutBound", 65500, "Outbound")]
    assert [s.id.lower() for s in nsg.subnets] == [subnet_id.lower()]
    # Read-only: a group written back does not change them, and rules stay as they were.
    nsg.default_security_rules = []
    again = net.network_security_groups.begin_create_or_update(RG, "nsg1", nsg).result()
    assert len(again.default_security_rules) == 6
    assert [r.name for r in again.security_rules] == ["allow-https-in"]
    assert _refused(lambda: net.network_security_groups.begin_delete(RG, "nsg1").result()).code == \
        "InUseNetworkSecurityGroupCannotBeDeleted"


def test_rules_written_either_way_agree(sb, net):
    _seed_network(sb)
    created = net.security_rules.begin_create_or_update(RG, "nsg1", "apim-to-keyvault", _rule()).result()
    assert created.provisioning_state == "Succeeded" and created.destination_address_prefixes == []
    nsg = net.network_security_groups.get(RG, "nsg1")
    assert sorted(r.name for r in nsg.security_rules) == ["allow-https-in", "apim-to-keyvault"]
    assert created.etag == nsg.etag
    # Change it inside the group; the rule routes see the change.
    for rule in nsg.security_rules:
        if rule.name == "apim-to-keyvault":
            rule.destination_port_range = "8443"
    net.network_security_groups.begin_create_or_update(RG, "nsg1", nsg).result()
    assert net.security_rules.get(RG, "nsg1", "apim-to-keyvault").destination_port_range == "8443"
    assert sorted(r.name for r in net.security_rules.list(RG, "nsg1")) == ["allow-https-in", "apim-to-keyvault"]
    net.security_rules.begin_delete(RG, "nsg1", "apim-to-keyvault").result()
    assert [r.name for r in net.network_security_groups.get(RG, "nsg1").security_rules] == ["allow-https-in"]
    assert _refused(lambda: net.security_rules.get(RG, "nsg1", "apim-to-keyvault"), 404).code == "NotFound"


def test_priority_is_unique_per_direction(sb, net):
    _seed_network(sb)
    net.security_rules.begin_create_or_update(RG, "nsg1", "a", _rule(200, "Outbound")).result()  # other direction
    error = _refused(lambda: net.security_rules.begin_create_or_update(
        RG, "nsg1", "b", _rule(200, "Inbound")).result())
    assert error.code == "SecurityRuleConflict"
    assert error.message.startswith("Security rule allow-https-in conflicts with rule b. Rules cannot have "
                                    "the same Priority and Direction.")
    nsg = net.network_security_groups.get(RG, "nsg1")
    nsg.security_rules.append(nm.SecurityRule(name="c", **_rule(200, "Inbound").as_dict()))
    assert _refused(lambda: net.network_security_groups.begin_create_or_update(
        RG, "nsg1", nsg).result()).code == "SecurityRuleConflict"


def test_rule_fields_are_checked(sb, net):
    _seed_network(sb)

    def put(**fields):
        return _refused(lambda: net.security_rules.begin_create_or_update(
            RG, "nsg1", "bad", _rule(**fields)).result())
    assert put(priority=99).code == "SecurityRuleInvalidPriority"
    assert put(priority=4097).code == "SecurityRuleInvalidPriority"
    assert put(destination_address_prefixes=["10.0.0.0/8"]).code == "SecurityRuleParameterContainsMultipleValues"
    assert put(destination_port_range="70000").code == "SecurityRuleInvalidPortRange"
    # Two service tags cannot share a rule: the plural field takes explicit addresses only.
    error = put(destination_address_prefix=None,
                destination_address_prefixes=["AzureKeyVault", "AzureActiveDirectory"])
    assert error.code == "SecurityRuleParameterContainsUnsupportedValue"
    assert "Unsupported value used: AzureKeyVault." in error.message
    ok = net.security_rules.begin_create_or_update(RG, "nsg1", "ranges", _rule(
        destination_address_prefix=None, destination_address_prefixes=["10.1.0.0/16", "10.2.0.4"],
        destination_port_range=None, destination_port_ranges=["443", "8000-8100"])).result()
    assert ok.destination_address_prefixes == ["10.1.0.0/16", "10.2.0.4"]
    assert ok.destination_address_prefix is None


# --- Key Vault: the subnet's service endpoint ----------------------------------------------

def _vnet_rule(sb, subnet_id, ignore=None):
    keyvault_client(sb.info).vaults.update(RG, VAULT, kv.VaultPatchParameters(properties=kv.VaultPatchProperties(
        network_acls=kv.NetworkRuleSet(default_action="Deny", bypass="None", virtual_network_rules=[
            kv.VirtualNetworkRule(id=subnet_id, ignore_missing_vnet_service_endpoint=ignore)]))))


def test_vault_refuses_a_subnet_without_the_key_vault_endpoint(sb, net):
    subnet_id, _n = _seed_network(sb)
    with pytest.raises(HttpResponseError) as err:
        _vnet_rule(sb, subnet_id)
    assert err.value.status_code == 400 and err.value.error.code == "NetworkAclsValidationFailure"
    assert "SubnetsHaveNoServiceEndpointsConfigured:Subnets apim of virtual network" in err.value.error.message
    _vnet_rule(sb, subnet_id, ignore=True)  # accepted when told to ignore the endpoint
    subnet = net.subnets.get(RG, "vnet1", "apim")
    subnet.service_endpoints.append(nm.ServiceEndpointPropertiesFormat(service="Microsoft.KeyVault"))
    net.subnets.begin_create_or_update(RG, "vnet1", "apim", subnet).result()
    _vnet_rule(sb, subnet_id)


def test_apim_passes_the_vault_firewall_only_with_the_endpoint(sb, apim, net, pfx_factory):
    subnet_id, _n = _seed_network(sb)
    sb.admin("POST", "seed", {"services": [{
        "resource_group": RG, "name": SERVICE, "location": LOCATION,
        "identity": sb.seeded["services"][0]["identity"],
        "virtual_network": {"subnet_resource_id": subnet_id, "type": "Internal"}}]})
    assert apim.api_management_service.get(RG, SERVICE).virtual_network_type == "Internal"
    pfx, thumb, _e = pfx_factory(None)
    secret = sb.admin("PUT", f"vaults/{VAULT}/secrets/tls", {"value": pfx})
    _vnet_rule(sb, subnet_id, ignore=True)

    def certificate():
        return apim.certificate.create_or_update(RG, SERVICE, "kv", am.CertificateCreateOrUpdateParameters(
            key_vault=am.KeyVaultContractCreateProperties(secret_identifier=secret["versionless_id"],
                                                          identity_client_id=UAI_CLIENT)))
    assert _refused(certificate).code == "InvalidOperation"
    subnet = net.subnets.get(RG, "vnet1", "apim")
    subnet.service_endpoints.append(nm.ServiceEndpointPropertiesFormat(service="Microsoft.KeyVault"))
    net.subnets.begin_create_or_update(RG, "vnet1", "apim", subnet).result()
    assert certificate().thumbprint == thumb
