"""Microsoft.Network: virtual networks with their subnets, network security groups with their
security rules (virtualNetwork.json and networkSecurityGroup.json, 2024-05-01).

azure-mgmt-network 33.1 sends api-version 2026-03-01, whose spec file is not among the copies
(shared/specs/SOURCES.md, note 6); both versions are accepted and the conformance suite validates
against 2024-05-01, the nearest present.

One stored resource per virtual network and per security group: subnets live in the network's
``properties.subnets`` and security rules in the group's ``properties.securityRules``, so a
subnet written through Subnets_CreateOrUpdate is the one VirtualNetworks_Get shows, and a rule
written inside a group PUT is the one SecurityRules_Get shows. Children carry their parent's
etag, as on Azure.

Every PUT and DELETE here is long-running in the spec (azure-async-operation / location); the
sandbox answers the final state at once (PUT 201 new / 200 replaced with provisioningState
Succeeded, DELETE 200 / 204), which azure-core's pollers accept without polling.

Network errors carry ``details: []`` as the network resource provider sends them (seen in the
public reports quoted below).
"""

import copy
import ipaddress
import re
import uuid

from flask import g, jsonify, make_response

from sandbox.errors import ArmError
from sandbox.routes.common import (APIM_TYPE, arm_not_found, json_body, list_response,
                                   require_location, require_resource_group)
from sandbox.routes.registry import arm_operation

# What azure-mgmt-network 33.1 sends, and the spec version present.
API_VERSIONS = ("2026-03-01", "2024-05-01")
VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
DELEGATION_TYPE = "Microsoft.Network/virtualNetworks/subnets/delegations"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
DEFAULT_RULE_TYPE = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"
KEYVAULT_ENDPOINT = "Microsoft.KeyVault"

RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network"
VNETS = RG + "/virtualNetworks"
VNET = VNETS + "/{virtualNetworkName}"
SUBNETS = VNET + "/subnets"
SUBNET = SUBNETS + "/{subnetName}"
NSGS = RG + "/networkSecurityGroups"
NSG = NSGS + "/{networkSecurityGroupName}"
RULES = NSG + "/securityRules"
RULE = RULES + "/{securityRuleName}"

# Subnet properties a client sets (SubnetPropertiesFormat without the read-only ones).
SUBNET_WRITABLE = ("addressPrefix", "addressPrefixes", "networkSecurityGroup", "routeTable",
                   "natGateway", "serviceEndpoints", "serviceEndpointPolicies", "ipAllocations",
                   "delegations", "privateEndpointNetworkPolicies",
                   "privateLinkServiceNetworkPolicies", "sharingScope", "defaultOutboundAccess",
                   "applicationGatewayIPConfigurations", "ipamPoolPrefixAllocations")
REFERENCES = ("networkSecurityGroup", "routeTable", "natGateway")
VNET_WRITABLE = ("addressSpace", "dhcpOptions", "flowTimeoutInMinutes", "enableDdosProtection",
                 "enableVmProtection", "ddosProtectionPlan", "bgpCommunities", "encryption",
                 "ipAllocations", "privateEndpointVNetPolicies")
RULE_PAIRS = (("sourceAddressPrefix", "sourceAddressPrefixes"),
              ("destinationAddressPrefix", "destinationAddressPrefixes"),
              ("sourcePortRange", "sourcePortRanges"),
              ("destinationPortRange", "destinationPortRanges"))
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "*", "Ah")

# Azure's six default rules of every security group (names, priorities and descriptions as the
# portal and `az network nsg show` list them).
DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow inbound traffic from all VMs in VNET"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*",
     "Allow inbound traffic from azure load balancer"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow outbound traffic from all VMs to all VMs in VNET"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet",
     "Allow outbound traffic from all VMs to Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
)

# Regions Azure pairs (a few), for the default locations of a Storage endpoint.
PAIRED = {"westeurope": "northeurope", "northeurope": "westeurope", "eastus": "westus",
          "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2",
          "uksouth": "ukwest", "ukwest": "uksouth", "swedencentral": "swedensouth"}


def _error(status, code, message):
    return ArmError(status, code, message, details=[])


def _bad(code, message):
    return _error(400, code, message)


def _etag():
    return f'W/"{uuid.uuid4()}"'


def _location_key(location):
    return (location or "").replace(" ", "").lower()


# --- lookups shared with the Key Vault rules ------------------------------------------------

def split_subnet_id(subnet_id):
    """(virtual network id, subnet name) of a subnet resource id, or None."""
    m = re.match(r"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                 r"virtualNetworks/[^/]+)/subnets/([^/]+)/?$", subnet_id or "", re.IGNORECASE)
    return (m.group(1), m.group(2)) if m else None


def find_subnet(subnet_id):
    """The stored subnet body for a subnet resource id (any case), or None."""
    parts = split_subnet_id(subnet_id)
    if not parts:
        return None
    vnet = g.store.get(parts[0])
    if vnet is None or vnet["type"] != VNET_TYPE.lower():
        return None
    return next((s for s in vnet["body"]["properties"].get("subnets") or []
                 if s["name"].lower() == parts[1].lower()), None)


def has_endpoint(subnet, service=KEYVAULT_ENDPOINT):
    return any((e.get("service") or "").lower() == service.lower()
               for e in (subnet or {}).get("properties", {}).get("serviceEndpoints") or [])


def _services_in(subnet_id):
    """APIM services injected into the subnet (what Azure lists as the subnet's users)."""
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ?",
                                (APIM_TYPE.lower(),)).fetchall()
    found = []
    for row in rows:
        body = g.store.get(row["id"])["body"]
        config = (body.get("properties") or {}).get("virtualNetworkConfiguration") or {}
        if (config.get("subnetResourceId") or "").lower() == subnet_id.lower():
            found.append(body["id"])
    return found


def _check_not_in_use(subnet):
    users = _services_in(subnet["id"])
    if users:
        # Code as users report it; wording the sandbox's.
        raise _bad("InUseSubnetCannotBeDeleted",
                   f"Subnet {subnet['name']} is in use by {users[0]} and cannot be deleted. In "
                   "order to delete the subnet, delete all the resources within the subnet.")


# --- subnets ----------------------------------------------------------------------------------

def _network(prefix, where):
    try:
        net = ipaddress.ip_network(str(prefix).strip(), strict=False)
    except ValueError:
        raise _bad("InvalidAddressPrefixFormat",
                   f"Address prefix {prefix} of {where} is not a valid CIDR.") from None
    if str(net) != str(prefix).strip():
        # The network RP's code for host bits set; wording the sandbox's.
        raise _bad("InvalidCIDRNotation",
                   f"The address prefix {prefix} in resource {where} has an invalid CIDR "
                   f"notation. For the given prefix length, the address prefix should be {net}.")
    return net


def _subnet_prefixes(props, subnet_id):
    prefixes = ([props["addressPrefix"]] if props.get("addressPrefix") else []) + \
        list(props.get("addressPrefixes") or [])
    if not prefixes:
        # Not documented; code and wording are the sandbox's.
        raise _bad("InvalidRequestFormat",
                   f"Subnet {subnet_id} needs addressPrefix or addressPrefixes.")
    return [_network(p, subnet_id) for p in prefixes]


def _default_locations(service, location):
    # Azure fills the endpoint's regions when none are sent. Key Vault's endpoint is shown as
    # ["*"] in `az network vnet subnet show` output in public docs and templates; Storage's
    # as the region and its pair; others as the region. The sandbox's choice where unsure.
    if service.lower() == KEYVAULT_ENDPOINT.lower():
        return ["*"]
    key = _location_key(location)
    if service.lower() == "microsoft.storage" and key in PAIRED:
        return [key, PAIRED[key]]
    return [key]


def _service_endpoints(entries, location, subnet_id):
    out = []
    for entry in entries or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str) \
                or not entry["service"].strip():
            raise _bad("InvalidRequestFormat",
                       f"Each service endpoint of subnet {subnet_id} needs a 'service'.")
        if any(e["service"].lower() == entry["service"].lower() for e in out):
            # Not documented; the sandbox refuses a service listed twice.
            raise _bad("InvalidRequestFormat",
                       f"Service endpoint {entry['service']} is listed twice on subnet "
                       f"{subnet_id}.")
        item = {"service": entry["service"],
                "locations": list(entry.get("locations") or
                                  _default_locations(entry["service"], location)),
                "provisioningState": "Succeeded"}
        if entry.get("networkIdentifier"):
            item["networkIdentifier"] = {"id": entry["networkIdentifier"].get("id")}
        out.append(item)
    return out


def _delegation_actions(service_name):
    # Read-only; Azure fills the actions per service. App Service's is the one public examples
    # show; others get the join action (the sandbox's choice).
    if service_name.lower() == "microsoft.web/serverfarms":
        return ["Microsoft.Network/virtualNetworks/subnets/action"]
    return ["Microsoft.Network/virtualNetworks/subnets/join/action"]


def _delegations(entries, subnet_id, etag):
    out = []
    for entry in entries or []:
        props = (entry or {}).get("properties") or {}
        service = props.get("serviceName") or (entry or {}).get("serviceName")
        if not isinstance(service, str) or not service:
            raise _bad("InvalidRequestFormat",
                       f"Each delegation of subnet {subnet_id} needs properties.serviceName.")
        name = entry.get("name") or service.replace("/", ".")
        out.append({"name": name, "id": f"{subnet_id}/delegations/{name}", "etag": etag,
                    "type": DELEGATION_TYPE,
                    "properties": {"serviceName": service,
                                   "actions": _delegation_actions(service),
                                   "provisioningState": "Succeeded"}})
    return out


def _check_reference(props, key, owner_id):
    ref = props.get(key)
    if not ref:
        return None
    if not isinstance(ref, dict) or not ref.get("id"):
        raise _bad("InvalidRequestFormat", f"{key} of {owner_id} must be an object with an id.")
    if key == "networkSecurityGroup":
        nsg = g.store.get(ref["id"])
        if nsg is None or nsg["type"] != NSG_TYPE.lower():
            # Azure's code and message form for a reference to a missing resource.
            raise _bad("InvalidResourceReference",
                       f"Resource {ref['id']} referenced by resource {owner_id} was not found. "
                       "Please make sure that the referenced resource exists, and that both "
                       "resources are in the same region.")
        return {"id": nsg["body"]["id"]}
    # Route tables and NAT gateways are not emulated: kept as given.
    return {"id": ref["id"]}


def build_subnet(vnet_id, name, requested, location, etag):
    """The stored subnet for a requested body; a subnet PUT replaces every writable property."""
    subnet_id = f"{vnet_id}/subnets/{name}"
    props = (requested or {}).get("properties") or {}
    if not isinstance(props, dict):
        raise _bad("InvalidRequestFormat", f"properties of subnet {subnet_id} must be an object.")
    _subnet_prefixes(props, subnet_id)
    out = {"provisioningState": "Succeeded",
           "privateEndpointNetworkPolicies": "Disabled",
           "privateLinkServiceNetworkPolicies": "Enabled"}
    for key in SUBNET_WRITABLE:
        if props.get(key) is not None and key not in REFERENCES:
            out[key] = copy.deepcopy(props[key])
    for key in REFERENCES:
        ref = _check_reference(props, key, subnet_id)
        if ref:
            out[key] = ref
    out["serviceEndpoints"] = _service_endpoints(props.get("serviceEndpoints"), location,
                                                 subnet_id)
    out["delegations"] = _delegations(props.get("delegations"), subnet_id, etag)
    return {"name": name, "id": subnet_id, "etag": etag, "type": SUBNET_TYPE,
            "properties": out}


def _check_layout(vnet_name, space, subnets):
    for subnet in subnets:
        for net in _subnet_prefixes(subnet["properties"], subnet["id"]):
            if not any(net.version == s.version and net.subnet_of(s) for s in space):
                # The network RP's code (as users report it); wording the sandbox's.
                raise _bad("NetcfgSubnetRangeOutsideVnet",
                           f"Subnet '{subnet['name']}' is not valid because its IP address range "
                           f"is outside the IP address range of virtual network '{vnet_name}'.")
    seen = []
    for subnet in subnets:
        for net in _subnet_prefixes(subnet["properties"], subnet["id"]):
            for other_name, other in seen:
                if other_name != subnet["name"] and net.version == other.version and \
                        net.overlaps(other):
                    raise _bad("NetcfgSubnetRangesOverlap",
                               f"Subnet '{subnet['name']}' is not valid because its IP address "
                               f"range overlaps with that of an existing subnet '{other_name}' "
                               f"in virtual network '{vnet_name}'.")
            seen.append((subnet["name"], net))


def _address_space(props, vnet_id):
    prefixes = ((props.get("addressSpace") or {}).get("addressPrefixes")) or []
    if not prefixes:
        raise _bad("InvalidRequestFormat",
                   f"Virtual network {vnet_id} needs addressSpace.addressPrefixes.")
    return [_network(p, vnet_id) for p in prefixes]


def save_vnet(rg, body):
    """Validate the layout and store; every write gives the network and its subnets a new etag."""
    props = body["properties"]
    space = _address_space(props, body["id"])
    _check_layout(body["name"], space, props["subnets"])
    etag = _etag()
    body["etag"] = etag
    for subnet in props["subnets"]:
        subnet["etag"] = etag
        for delegation in subnet["properties"].get("delegations") or []:
            delegation["etag"] = etag
    return g.store.put(body["id"], rg["body"]["id"], VNET_TYPE, body)


def build_vnet(vnet_id, name, location, tags, props, existing):
    if not isinstance(props, dict):
        raise _bad("InvalidRequestFormat", f"properties of {vnet_id} must be an object.")
    old = existing["body"]["properties"] if existing else {}
    out = {"provisioningState": "Succeeded",
           "resourceGuid": old.get("resourceGuid") or str(uuid.uuid4()),
           "virtualNetworkPeerings": [], "enableDdosProtection": False}
    out.update({k: copy.deepcopy(v) for k, v in props.items()
                if k in VNET_WRITABLE and v is not None})
    # A network PUT replaces the subnets: the ones it leaves out are deleted (why redeploying a
    # template without its subnets removes them on Azure).
    subnets = []
    for entry in props.get("subnets") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            raise _bad("InvalidRequestFormat", f"Each subnet of {vnet_id} needs a name.")
        subnets.append(build_subnet(vnet_id, entry["name"], entry, location, ""))
    kept = {s["name"].lower() for s in subnets}
    for gone in old.get("subnets") or []:
        if gone["name"].lower() not in kept:
            _check_not_in_use(gone)
    out["subnets"] = subnets
    return {"id": vnet_id, "name": name, "type": VNET_TYPE, "location": location,
            "tags": tags or {}, "properties": out}


def _require_vnet(subscriptionId, resourceGroupName, virtualNetworkName, **_ignored):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = g.store.get(f"{rg['body']['id']}/providers/{VNET_TYPE}/{virtualNetworkName}")
    if entity is None or entity["type"] != VNET_TYPE.lower():
        raise arm_not_found(VNET_TYPE, virtualNetworkName, resourceGroupName)
    return rg, entity


def _require_parent_vnet(**p):
    try:
        return _require_vnet(**p)
    except ArmError as err:
        if err.code != "ResourceNotFound":
            raise
        # ARM's answer for a nested resource whose parent does not exist.
        raise ArmError(404, "ParentResourceNotFound",
                       "Can not perform requested operation on nested resource. Parent resource "
                       f"'{p['virtualNetworkName']}' not found.") from None


def _child_not_found(child_id):
    # The network RP's 404 for a missing child resource.
    return _error(404, "NotFound", f"Resource {child_id} not found.")


@arm_operation("VirtualNetworks_CreateOrUpdate", "PUT", VNET, API_VERSIONS)
def put_vnet(subscriptionId, resourceGroupName, virtualNetworkName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    vid = f"{rg['body']['id']}/providers/{VNET_TYPE}/{virtualNetworkName}"
    existing = g.store.get(vid)
    body = json_body()
    location = require_location(body, existing, virtualNetworkName, resourceGroupName)
    new = build_vnet(existing["body"]["id"] if existing else vid,
                     existing["body"]["name"] if existing else virtualNetworkName,
                     location, body.get("tags"), body.get("properties") or {}, existing)
    entity = save_vnet(rg, new)
    return make_response(jsonify(entity["body"]), 200 if existing else 201)


@arm_operation("VirtualNetworks_Get", "GET", VNET, API_VERSIONS)
def get_vnet(**p):
    return jsonify(_require_vnet(**p)[1]["body"])


@arm_operation("VirtualNetworks_List", "GET", VNETS, API_VERSIONS)
def list_vnets(subscriptionId, resourceGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    return list_response([e["body"] for e in g.store.list(rg["body"]["id"], VNET_TYPE)],
                         with_count=False)


@arm_operation("VirtualNetworks_Delete", "DELETE", VNET, API_VERSIONS)
def delete_vnet(subscriptionId, resourceGroupName, virtualNetworkName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = g.store.get(f"{rg['body']['id']}/providers/{VNET_TYPE}/{virtualNetworkName}")
    if entity is None:
        return make_response("", 204)
    for subnet in entity["body"]["properties"].get("subnets") or []:
        _check_not_in_use(subnet)
    g.store.delete(entity["id"])
    return make_response("", 200)


@arm_operation("Subnets_CreateOrUpdate", "PUT", SUBNET, API_VERSIONS)
def put_subnet(subnetName, **p):
    rg, vnet = _require_parent_vnet(**p)
    body = copy.deepcopy(vnet["body"])
    subnets = body["properties"]["subnets"]
    index = next((i for i, s in enumerate(subnets) if s["name"].lower() == subnetName.lower()),
                 None)
    name = subnets[index]["name"] if index is not None else subnetName
    new = build_subnet(body["id"], name, json_body(), body["location"], "")
    if index is None:
        subnets.append(new)
    else:
        subnets[index] = new
    saved = save_vnet(rg, body)
    subnet = next(s for s in saved["body"]["properties"]["subnets"] if s["name"] == name)
    return make_response(jsonify(subnet), 201 if index is None else 200)


def _find_subnet_in(vnet, subnet_name):
    return next((s for s in vnet["body"]["properties"].get("subnets") or []
                 if s["name"].lower() == subnet_name.lower()), None)


@arm_operation("Subnets_Get", "GET", SUBNET, API_VERSIONS)
def get_subnet(subnetName, **p):
    _rg, vnet = _require_parent_vnet(**p)
    subnet = _find_subnet_in(vnet, subnetName)
    if subnet is None:
        raise _child_not_found(f"{vnet['body']['id']}/subnets/{subnetName}")
    return jsonify(subnet)


@arm_operation("Subnets_List", "GET", SUBNETS, API_VERSIONS)
def list_subnets(**p):
    _rg, vnet = _require_parent_vnet(**p)
    return list_response(vnet["body"]["properties"].get("subnets") or [], with_count=False)


@arm_operation("Subnets_Delete", "DELETE", SUBNET, API_VERSIONS)
def delete_subnet(subnetName, **p):
    rg, vnet = _require_parent_vnet(**p)
    subnet = _find_subnet_in(vnet, subnetName)
    if subnet is None:
        return make_response("", 204)
    _check_not_in_use(subnet)
    body = copy.deepcopy(vnet["body"])
    body["properties"]["subnets"] = [s for s in body["properties"]["subnets"]
                                     if s["name"] != subnet["name"]]
    save_vnet(rg, body)
    return make_response("", 200)


# --- network security groups and their rules ------------------------------------------------

def _is_address(value):
    try:
        ipaddress.ip_network(value.strip(), strict=False)
        return True
    except ValueError:
        return False


def _port_ok(value):
    if value == "*":
        return True
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", str(value).strip())
    if not m:
        return False
    low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    return 0 <= low <= high <= 65535


def build_rule(nsg_id, name, requested, etag):
    """A stored security rule from a request body (SecurityRule), validated as Azure does."""
    rule_id = f"{nsg_id}/securityRules/{name}"
    props = (requested or {}).get("properties") or {}
    if not isinstance(props, dict):
        raise _bad("InvalidRequestFormat", f"properties of {rule_id} must be an object.")
    # The spec requires protocol, access, priority, direction; wording of these refusals and the
    # code InvalidRequestFormat are the sandbox's.
    for key in ("protocol", "access", "priority", "direction"):
        if props.get(key) in (None, ""):
            raise _bad("InvalidRequestFormat", f"Security rule {rule_id} needs {key}.")
    protocol = next((p for p in PROTOCOLS if p.lower() == str(props["protocol"]).lower()), None)
    if protocol is None:
        raise _bad("SecurityRuleInvalidProtocol",
                   f"Security rule {rule_id} has invalid Protocol {props['protocol']}.")
    access = {"allow": "Allow", "deny": "Deny"}.get(str(props["access"]).lower())
    direction = {"inbound": "Inbound", "outbound": "Outbound"}.get(
        str(props["direction"]).lower())
    if access is None or direction is None:
        raise _bad("InvalidRequestFormat",
                   f"Security rule {rule_id}: access must be Allow or Deny and direction "
                   "Inbound or Outbound.")
    priority = props["priority"]
    if not isinstance(priority, int) or isinstance(priority, bool) or \
            not 100 <= priority <= 4096:
        # Range from the spec ("between 100 and 4096"); code and wording the sandbox's.
        raise _bad("SecurityRuleInvalidPriority",
                   f"Security rule has invalid Priority. Value provided: {priority} Allowed "
                   "range 100-4096.")
    out = {"provisioningState": "Succeeded", "protocol": protocol, "access": access,
           "priority": priority, "direction": direction}
    if props.get("description") is not None:
        if len(str(props["description"])) > 140:   # spec: "Restricted to 140 chars"
            raise _bad("InvalidRequestFormat",
                       f"The description of security rule {rule_id} exceeds 140 characters.")
        out["description"] = props["description"]
    for single, plural in RULE_PAIRS:
        one, many = props.get(single), list(props.get(plural) or [])
        if one and many:
            # Azure takes one form or the other; code and wording are the sandbox's.
            raise _bad("SecurityRuleParameterContainsMultipleValues",
                       f"Security rule {rule_id} sets both {single} and {plural}; use one.")
        if not one and not many and "Address" in single and (
                props.get(single.replace("AddressPrefix", "ApplicationSecurityGroups"))):
            out[plural] = []
            out[single.replace("AddressPrefix", "ApplicationSecurityGroups")] = copy.deepcopy(
                props[single.replace("AddressPrefix", "ApplicationSecurityGroups")])
            continue
        if not one and not many:
            raise _bad("InvalidRequestFormat",
                       f"Security rule {rule_id} needs {single} or {plural}.")
        values = [one] if one else many
        if "Port" in single:
            bad = [v for v in values if not _port_ok(v)]
            if bad:
                raise _bad("SecurityRuleInvalidPortRange",
                           f"Security rule {rule_id} has invalid Port range. Value provided: "
                           f"{bad[0]}. Value should be an integer OR integer range with '-' "
                           "delimiter. Valid range 0-65535.")
        elif many:
            # Several values go in the plural field only as explicit addresses and ranges:
            # '*' and tags must stand alone in the singular field. Azure's code and message
            # (hashicorp/terraform-provider-azurerm#5617; the az CLI help says "specify ONE of
            # 'VirtualNetwork', 'AzureLoadBalancer', 'Internet' or '*'").
            tags = [v for v in many if not _is_address(v)]
            if tags:
                raise _bad("SecurityRuleParameterContainsUnsupportedValue",
                           f"Security rule parameter {plural[0].upper() + plural[1:-2]} for "
                           f"rule with Id {rule_id} cannot specify existing VIRTUALNETWORK, "
                           "INTERNET, AZURELOADBALANCER, '*' or system tags. Unsupported value "
                           f"used: {tags[0]}.")
        if one:
            out[single] = one
            out[plural] = []
        else:
            out[plural] = many
    return {"name": name, "id": rule_id, "etag": etag, "type": RULE_TYPE, "properties": out}


def _check_priorities(rules):
    seen = {}
    for rule in rules:
        key = (rule["properties"]["priority"], rule["properties"]["direction"])
        if key in seen:
            # Azure's code and message (hashicorp/terraform-provider-azurerm#11137, egen/bucc#183):
            # the rule already there is named first, the one being written second.
            raise _bad("SecurityRuleConflict",
                       f"Security rule {seen[key]} conflicts with rule {rule['name']}. Rules "
                       "cannot have the same Priority and Direction. To learn more, see "
                       "aka.ms/nsgrules.")
        seen[key] = rule["name"]


def _default_rules(nsg_id, etag):
    return [{"name": name, "id": f"{nsg_id}/defaultSecurityRules/{name}", "etag": etag,
             "type": DEFAULT_RULE_TYPE,
             "properties": {"provisioningState": "Succeeded", "description": description,
                            "protocol": "*", "sourcePortRange": "*",
                            "destinationPortRange": "*", "sourceAddressPrefix": source,
                            "destinationAddressPrefix": destination, "access": access,
                            "priority": priority, "direction": direction,
                            "sourcePortRanges": [], "destinationPortRanges": [],
                            "sourceAddressPrefixes": [], "destinationAddressPrefixes": []}}
            for name, priority, direction, access, source, destination, description
            in DEFAULT_RULES]


def save_nsg(rg, body):
    """Check the rules and store; every write gives the group and its rules a new etag."""
    rules = body["properties"]["securityRules"]
    _check_priorities(rules)
    etag = _etag()
    body["etag"] = etag
    for rule in rules + body["properties"]["defaultSecurityRules"]:
        rule["etag"] = etag
    return g.store.put(body["id"], rg["body"]["id"], NSG_TYPE, body)


def build_nsg(nsg_id, name, location, tags, props, existing):
    if not isinstance(props, dict):
        raise _bad("InvalidRequestFormat", f"properties of {nsg_id} must be an object.")
    old = existing["body"]["properties"] if existing else {}
    out = {"provisioningState": "Succeeded",
           "resourceGuid": old.get("resourceGuid") or str(uuid.uuid4())}
    if props.get("flushConnection") is not None:
        out["flushConnection"] = bool(props["flushConnection"])
    # A group PUT replaces its rules; defaultSecurityRules are read-only (ignored if sent).
    out["securityRules"] = [build_rule(nsg_id, (r or {}).get("name") or "", r, "")
                            for r in props.get("securityRules") or []]
    if any(not r["name"] for r in out["securityRules"]):
        raise _bad("InvalidRequestFormat", f"Each security rule of {nsg_id} needs a name.")
    out["defaultSecurityRules"] = _default_rules(nsg_id, "")
    return {"id": nsg_id, "name": name, "type": NSG_TYPE, "location": location,
            "tags": tags or {}, "properties": out}


def _subnets_using(nsg_id):
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                (VNET_TYPE.lower(),)).fetchall()
    found = []
    for row in rows:
        for subnet in g.store.get(row["id"])["body"]["properties"].get("subnets") or []:
            ref = (subnet["properties"].get("networkSecurityGroup") or {}).get("id") or ""
            if ref.lower() == nsg_id.lower():
                found.append({"id": subnet["id"]})
    return found


def nsg_view(body):
    """The group as Azure shows it: with the subnets that reference it (read-only)."""
    body = copy.deepcopy(body)
    subnets = _subnets_using(body["id"])
    if subnets:
        body["properties"]["subnets"] = subnets
    return body


def _require_nsg(subscriptionId, resourceGroupName, networkSecurityGroupName, **_ignored):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = g.store.get(f"{rg['body']['id']}/providers/{NSG_TYPE}/{networkSecurityGroupName}")
    if entity is None or entity["type"] != NSG_TYPE.lower():
        raise arm_not_found(NSG_TYPE, networkSecurityGroupName, resourceGroupName)
    return rg, entity


def _require_parent_nsg(**p):
    try:
        return _require_nsg(**p)
    except ArmError as err:
        if err.code != "ResourceNotFound":
            raise
        raise ArmError(404, "ParentResourceNotFound",
                       "Can not perform requested operation on nested resource. Parent resource "
                       f"'{p['networkSecurityGroupName']}' not found.") from None


@arm_operation("NetworkSecurityGroups_CreateOrUpdate", "PUT", NSG, API_VERSIONS)
def put_nsg(subscriptionId, resourceGroupName, networkSecurityGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    nid = f"{rg['body']['id']}/providers/{NSG_TYPE}/{networkSecurityGroupName}"
    existing = g.store.get(nid)
    body = json_body()
    location = require_location(body, existing, networkSecurityGroupName, resourceGroupName)
    new = build_nsg(existing["body"]["id"] if existing else nid,
                    existing["body"]["name"] if existing else networkSecurityGroupName,
                    location, body.get("tags"), body.get("properties") or {}, existing)
    entity = save_nsg(rg, new)
    return make_response(jsonify(nsg_view(entity["body"])), 200 if existing else 201)


@arm_operation("NetworkSecurityGroups_Get", "GET", NSG, API_VERSIONS)
def get_nsg(**p):
    return jsonify(nsg_view(_require_nsg(**p)[1]["body"]))


@arm_operation("NetworkSecurityGroups_List", "GET", NSGS, API_VERSIONS)
def list_nsgs(subscriptionId, resourceGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    return list_response([nsg_view(e["body"]) for e in g.store.list(rg["body"]["id"], NSG_TYPE)],
                         with_count=False)


@arm_operation("NetworkSecurityGroups_Delete", "DELETE", NSG, API_VERSIONS)
def delete_nsg(subscriptionId, resourceGroupName, networkSecurityGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = g.store.get(f"{rg['body']['id']}/providers/{NSG_TYPE}/{networkSecurityGroupName}")
    if entity is None:
        return make_response("", 204)
    users = _subnets_using(entity["body"]["id"])
    if users:
        # Azure's code (as users report it); wording the sandbox's.
        raise _bad("InUseNetworkSecurityGroupCannotBeDeleted",
                   f"Network security group {entity['body']['id']} cannot be deleted because "
                   f"it is in use by the following resources: {users[0]['id']}.")
    g.store.delete(entity["id"])
    return make_response("", 200)


def _find_rule_in(nsg, rule_name):
    return next((r for r in nsg["body"]["properties"].get("securityRules") or []
                 if r["name"].lower() == rule_name.lower()), None)


@arm_operation("SecurityRules_CreateOrUpdate", "PUT", RULE, API_VERSIONS)
def put_rule(securityRuleName, **p):
    rg, nsg = _require_parent_nsg(**p)
    body = copy.deepcopy(nsg["body"])
    rules = body["properties"]["securityRules"]
    index = next((i for i, r in enumerate(rules) if r["name"].lower() ==
                  securityRuleName.lower()), None)
    name = rules[index]["name"] if index is not None else securityRuleName
    new = build_rule(body["id"], name, json_body(), "")
    # The rule being written is checked against the others, which keep their place.
    others = [r for i, r in enumerate(rules) if i != index]
    _check_priorities(others + [new])
    if index is None:
        rules.append(new)
    else:
        rules[index] = new
    saved = save_nsg(rg, body)
    rule = next(r for r in saved["body"]["properties"]["securityRules"] if r["name"] == name)
    return make_response(jsonify(rule), 201 if index is None else 200)


@arm_operation("SecurityRules_Get", "GET", RULE, API_VERSIONS)
def get_rule(securityRuleName, **p):
    _rg, nsg = _require_parent_nsg(**p)
    rule = _find_rule_in(nsg, securityRuleName)
    if rule is None:
        raise _child_not_found(f"{nsg['body']['id']}/securityRules/{securityRuleName}")
    return jsonify(rule)


@arm_operation("SecurityRules_List", "GET", RULES, API_VERSIONS)
def list_rules(**p):
    _rg, nsg = _require_parent_nsg(**p)
    return list_response(nsg["body"]["properties"].get("securityRules") or [], with_count=False)


@arm_operation("SecurityRules_Delete", "DELETE", RULE, API_VERSIONS)
def delete_rule(securityRuleName, **p):
    rg, nsg = _require_parent_nsg(**p)
    rule = _find_rule_in(nsg, securityRuleName)
    if rule is None:
        return make_response("", 204)
    body = copy.deepcopy(nsg["body"])
    body["properties"]["securityRules"] = [r for r in body["properties"]["securityRules"]
                                           if r["name"] != rule["name"]]
    save_nsg(rg, body)
    return make_response("", 200)
