"""Key Vault management (Microsoft.KeyVault/vaults, openapi.json 2026-05-15)."""

import copy
import ipaddress
import re

from flask import current_app, g, jsonify, make_response, request

from sandbox import access
from sandbox.errors import ArmError
from sandbox.routes.common import (arm_not_found, json_body, json_merge_patch, list_response,
                                   require_location, require_resource_group)
from sandbox.routes.registry import arm_operation

API_VERSION = "2026-05-15"
TYPE = access.KEYVAULT_TYPE
COLLECTION = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
              "Microsoft.KeyVault/vaults")
ITEM = COLLECTION + "/{vaultName}"
MAX_POLICIES = 1024  # spec: "An array of 0 to 1024 identities"
PERMISSION_CATEGORIES = ("keys", "secrets", "certificates", "storage")
# Properties a client sets (VaultProperties without the read-only and computed ones).
WRITABLE = ("tenantId", "sku", "accessPolicies", "enabledForDeployment",
            "enabledForDiskEncryption", "enabledForTemplateDeployment", "enableSoftDelete",
            "softDeleteRetentionInDays", "enableRbacAuthorization", "createMode",
            "enablePurgeProtection", "networkAcls", "publicNetworkAccess")
_NAME = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def vault_uri(name):
    return f"https://{name.lower()}.vault.localhost:{current_app.config['SANDBOX']['port']}/"


def find_vault(name):
    """The vault of that name in any resource group (names are global, as on Azure)."""
    row = g.store.conn.execute("SELECT id FROM resources WHERE type = ? AND id LIKE ?",
                               (TYPE.lower(), f"%/vaults/{name.lower()}")).fetchone()
    return g.store.get(row["id"]) if row else None


def _bad(message):
    # The Key Vault resource provider answers invalid input with 400 BadRequest and a message
    # naming the property; the wording here is the sandbox's.
    return ArmError(400, "BadRequest", message)


def _network_acls(acls):
    if acls is None:
        return None
    if not isinstance(acls, dict):
        raise _bad("properties.networkAcls must be an object.")
    bypass = acls.get("bypass") or "AzureServices"   # spec: "the default is 'AzureServices'"
    action = acls.get("defaultAction") or "Allow"
    if bypass not in ("AzureServices", "None"):
        raise _bad(f"Invalid value '{bypass}' for properties.networkAcls.bypass: use "
                   "'AzureServices' or 'None'.")
    if action not in ("Allow", "Deny"):
        raise _bad(f"Invalid value '{action}' for properties.networkAcls.defaultAction: use "
                   "'Allow' or 'Deny'.")
    ip_rules = []
    for rule in acls.get("ipRules") or []:
        value = (rule or {}).get("value") if isinstance(rule, dict) else None
        try:
            ipaddress.ip_network((value or "").strip(), strict=False)
        except ValueError:
            raise _bad(f"'{value}' is not a valid IP address or CIDR range in "
                       "properties.networkAcls.ipRules.") from None
        # Kept as given (a plain address stays a plain address).
        ip_rules.append({"value": value.strip()})
    vnet_rules = []
    for rule in acls.get("virtualNetworkRules") or []:
        if not isinstance(rule, dict) or not rule.get("id"):
            raise _bad("Each properties.networkAcls.virtualNetworkRules entry needs an 'id'.")
        entry = {"id": rule["id"]}
        if rule.get("ignoreMissingVnetServiceEndpoint") is not None:
            entry["ignoreMissingVnetServiceEndpoint"] = bool(rule["ignoreMissingVnetServiceEndpoint"])
        vnet_rules.append(entry)
    return {"bypass": bypass, "defaultAction": action, "ipRules": ip_rules,
            "virtualNetworkRules": vnet_rules}


def check_subnet_endpoints(acls):
    """Azure refuses a virtual network rule whose subnet has no Microsoft.KeyVault service
    endpoint, unless the rule sets ignoreMissingVnetServiceEndpoint: 400 NetworkAclsValidationFailure
    (code and message form from hashicorp/terraform-provider-azurerm#2164 and #16547, and
    Azure/avdaccelerator#818 for the Key Vault wording). A subnet the sandbox does not hold is
    refused the same way (the sandbox's choice: it cannot have the endpoint)."""
    from sandbox.routes import network

    for rule in (acls or {}).get("virtualNetworkRules") or []:
        if rule.get("ignoreMissingVnetServiceEndpoint"):
            continue
        if network.has_endpoint(network.find_subnet(rule["id"])):
            continue
        parts = network.split_subnet_id(rule["id"])
        subnet, vnet = (parts[1], parts[0]) if parts else (rule["id"], rule["id"])
        raise ArmError(400, "NetworkAclsValidationFailure",
                       "Validation of network acls failure: SubnetsHaveNoServiceEndpointsConfigured:"
                       f"Subnets {subnet} of virtual network {vnet} do not have ServiceEndpoints "
                       "for Microsoft.KeyVault resources configured. Add Microsoft.KeyVault to "
                       "subnet's ServiceEndpoints collection before trying to ACL "
                       "Microsoft.KeyVault resources to these subnets..")


def _access_policy(entry, index):
    if not isinstance(entry, dict) or not entry.get("tenantId") or not entry.get("objectId") \
            or not isinstance(entry.get("permissions"), dict):
        raise _bad(f"properties.accessPolicies[{index}] needs tenantId, objectId and "
                   "permissions.")
    out = {"tenantId": entry["tenantId"], "objectId": entry["objectId"]}
    if entry.get("applicationId"):
        out["applicationId"] = entry["applicationId"]
    out["permissions"] = {c: list(entry["permissions"].get(c) or []) for c in
                          PERMISSION_CATEGORIES if entry["permissions"].get(c) is not None}
    return out


def _access_policies(entries):
    entries = entries or []
    if not isinstance(entries, list):
        raise _bad("properties.accessPolicies must be an array.")
    if len(entries) > MAX_POLICIES:
        raise _bad(f"properties.accessPolicies can hold at most {MAX_POLICIES} entries.")
    return [_access_policy(e, i) for i, e in enumerate(entries)]


def build_vault(vid, name, location, tags, requested, existing=None):
    """The stored vault body for requested properties (PUT body or merged PATCH)."""
    if not isinstance(requested, dict):
        raise _bad("'properties' is required.")
    tenant, sku = requested.get("tenantId"), requested.get("sku")
    if not isinstance(tenant, str) or not _GUID.match(tenant):
        raise _bad("properties.tenantId is required and must be a GUID.")
    if not isinstance(sku, dict) or sku.get("family") != "A" or \
            str(sku.get("name", "")).lower() not in ("standard", "premium"):
        raise _bad("properties.sku is required: family 'A', name 'standard' or 'premium'.")
    # Spec defaults. enableRbacAuthorization: the 2026-05-15 schema's default is true (its
    # description still says false); the sandbox follows the schema, which matches the
    # announced change of default for new vaults in recent api-versions.
    props = {"tenantId": tenant, "sku": {"family": "A", "name": sku["name"].lower()},
             "accessPolicies": [], "vaultUri": vault_uri(name),
             "enabledForDeployment": False, "enabledForDiskEncryption": False,
             "enabledForTemplateDeployment": False, "enableSoftDelete": True,
             "softDeleteRetentionInDays": 90, "enableRbacAuthorization": True,
             "provisioningState": "Succeeded", "publicNetworkAccess": "Enabled"}
    props.update({k: copy.deepcopy(v) for k, v in requested.items()
                  if k in WRITABLE and v is not None and k not in ("tenantId", "sku")})
    props["accessPolicies"] = _access_policies(requested.get("accessPolicies"))
    acls = _network_acls(requested.get("networkAcls"))
    if acls:
        props["networkAcls"] = acls
    else:
        props.pop("networkAcls", None)
    props.pop("createMode", None)  # a request-time switch, not returned
    return {"id": vid, "name": existing["body"]["name"] if existing else name, "type": TYPE,
            "location": location, "tags": tags or {}, "properties": props}


def _check_name(name, vid):
    if not _NAME.match(name):
        raise ArmError(400, "VaultNameNotValid",
                       f"The vault name '{name}' is invalid. A vault's name must be between "
                       "3-24 alphanumeric characters. The name must begin with a letter, end "
                       "with a letter or digit, and not contain consecutive hyphens.")
    other = find_vault(name)
    if other is not None and other["id"] != vid.lower():
        raise ArmError(409, "VaultAlreadyExists",
                       f"The vault name '{name}' is already in use. Vault names are globally "
                       "unique so it is possible that the name is already taken. If you are "
                       "sure that the vault name was not taken then it is possible that a "
                       "vault with the same name was recently deleted but not purged after "
                       "being placed in a recoverable state.")


def _require(subscriptionId, resourceGroupName, vaultName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = g.store.get(f"{rg['body']['id']}/providers/{TYPE}/{vaultName}")
    if entity is None or entity["type"] != TYPE.lower():
        raise arm_not_found(TYPE, vaultName, resourceGroupName)
    return rg, entity


@arm_operation("Vaults_CreateOrUpdate", "PUT", ITEM, API_VERSION)
def put_vault(subscriptionId, resourceGroupName, vaultName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    vid = f"{rg['body']['id']}/providers/{TYPE}/{vaultName}"
    existing = g.store.get(vid)
    _check_name(vaultName, vid)
    body = json_body()
    location = require_location(body, existing, vaultName, resourceGroupName)
    # Unlike the portal, the API adds no access policy for the caller: the vault gets exactly
    # the policies sent.
    new = build_vault(existing["body"]["id"] if existing else vid, vaultName, location,
                      body.get("tags"), body.get("properties"), existing)
    check_subnet_endpoints(new["properties"].get("networkAcls"))
    entity = g.store.put(new["id"], rg["body"]["id"], TYPE, new)
    # Long-running in the spec; answered in its final state at once (no polling needed).
    return make_response(jsonify(entity["body"]), 200 if existing else 201)


@arm_operation("Vaults_Update", "PATCH", ITEM, API_VERSION)
def patch_vault(**p):
    rg, entity = _require(**p)
    patch = json_body()
    current = entity["body"]
    props = {k: v for k, v in current["properties"].items() if k in WRITABLE}
    merged = json_merge_patch({"tags": current.get("tags") or {}, "properties": props},
                              {k: v for k, v in patch.items() if k in ("tags", "properties")})
    new = build_vault(current["id"], current["name"], current["location"],
                      merged.get("tags"), merged.get("properties") or {}, entity)
    check_subnet_endpoints(new["properties"].get("networkAcls"))
    return jsonify(g.store.put(new["id"], rg["body"]["id"], TYPE, new)["body"])


@arm_operation("Vaults_Get", "GET", ITEM, API_VERSION)
def get_vault(**p):
    return jsonify(_require(**p)[1]["body"])


@arm_operation("Vaults_ListByResourceGroup", "GET", COLLECTION, API_VERSION)
def list_vaults(subscriptionId, resourceGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    return list_response([e["body"] for e in g.store.list(rg["body"]["id"], TYPE)],
                         with_count=False)


def _all_vaults():
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                (TYPE.lower(),)).fetchall()
    return [g.store.get(r["id"])["body"] for r in rows]


@arm_operation("Vaults_ListBySubscription", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults", API_VERSION)
def list_vaults_in_subscription(subscriptionId):
    return list_response(_all_vaults(), with_count=False)


# azure-mgmt-keyvault's vaults.list() asks the generic resources list (api-version 2015-11-01)
# with $filter=resourceType eq 'Microsoft.KeyVault/vaults'; the spec names it Vaults_List.
@arm_operation("Vaults_List", "GET", "/subscriptions/{subscriptionId}/resources",
               ("2015-11-01", API_VERSION))
def list_vault_resources(subscriptionId):
    wanted = re.fullmatch(r"\s*resourceType\s+eq\s+'([^']+)'\s*", request.args.get("$filter") or "")
    if not wanted or wanted.group(1).lower() != TYPE.lower():
        # The sandbox emulates this list for vaults only (its choice of answer).
        raise ArmError(400, "InvalidFilterInQueryString",
                       "The sandbox lists resources with $filter=resourceType eq "
                       "'Microsoft.KeyVault/vaults' only.")
    return list_response([{k: v[k] for k in ("id", "name", "type", "location", "tags")}
                          for v in _all_vaults()], with_count=False)


def _same_principal(a, b):
    return all((a.get(k) or "").lower() == (b.get(k) or "").lower()
               for k in ("tenantId", "objectId", "applicationId"))


def _union(old, new):
    seen = {p.lower() for p in old}
    return old + [p for p in new if p.lower() not in seen and not seen.add(p.lower())]


def apply_access_policy_change(policies, kind, changes):
    """add merges permissions into a principal's entry, remove takes them away (dropping an
    entry left with none), replace sets a principal's permissions; other principals untouched."""
    result = copy.deepcopy(policies)
    for change in changes:
        match = next((e for e in result if _same_principal(e, change)), None)
        perms = change["permissions"]
        if kind == "add":
            if match is None:
                result.append(copy.deepcopy(change))
            else:
                for cat in PERMISSION_CATEGORIES:
                    if perms.get(cat):
                        match["permissions"][cat] = _union(match["permissions"].get(cat) or [],
                                                           perms[cat])
        elif kind == "replace":
            if match is None:
                result.append(copy.deepcopy(change))
            else:
                match["permissions"] = copy.deepcopy(perms)
        elif match is not None:  # remove
            for cat in PERMISSION_CATEGORIES:
                drop = {p.lower() for p in perms.get(cat) or []}
                if cat in match["permissions"]:
                    match["permissions"][cat] = [p for p in match["permissions"][cat]
                                                 if p.lower() not in drop]
            if not any(match["permissions"].get(cat) for cat in PERMISSION_CATEGORIES):
                result.remove(match)
    return result


@arm_operation("Vaults_UpdateAccessPolicy", "PUT", ITEM + "/accessPolicies/{operationKind}",
               API_VERSION)
def update_access_policy(operationKind, **p):
    rg, entity = _require(**p)
    kind = operationKind.lower()
    if kind not in ("add", "replace", "remove"):
        raise _bad(f"The operation kind '{operationKind}' is not valid: use 'add', 'replace' "
                   "or 'remove'.")
    props = json_body().get("properties")
    if not isinstance(props, dict) or not isinstance(props.get("accessPolicies"), list):
        raise _bad("properties.accessPolicies is required.")
    changes = _access_policies(props["accessPolicies"])
    body = copy.deepcopy(entity["body"])
    body["properties"]["accessPolicies"] = apply_access_policy_change(
        body["properties"].get("accessPolicies") or [], kind, changes)
    if len(body["properties"]["accessPolicies"]) > MAX_POLICIES:
        raise _bad(f"properties.accessPolicies can hold at most {MAX_POLICIES} entries.")
    g.store.put(body["id"], rg["body"]["id"], TYPE, body)
    # The answer echoes the change requested, as VaultAccessPolicyParameters.
    return jsonify({"id": f"{body['id']}/accessPolicies/{kind}", "name": kind,
                    "type": f"{TYPE}/accessPolicies", "location": body["location"],
                    "properties": {"accessPolicies": changes}})
