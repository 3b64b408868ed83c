"""The APIM service resource: read, create or replace (PUT), update (PATCH).

Services are also created by POST /_sandbox/seed, through the same builders.
"""

import copy
import re
import uuid

from flask import g, jsonify

from sandbox import certs, principals
from sandbox.errors import ArmError, validation_error
from sandbox.routes.common import (APIM_TYPE, check_if_match, iso_now, json_body,
                                   json_merge_patch, list_response, require_location,
                                   require_resource_group, require_service)
from sandbox.routes.registry import APIM, arm_operation

SKUS = ("Developer", "Standard", "Premium", "Basic", "Consumption", "Isolated", "BasicV2",
        "StandardV2")
IDENTITY_TYPES = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned",
                  "systemassigned,userassigned": "SystemAssigned, UserAssigned",
                  "none": "None"}
CA_STORES = ("CertificateAuthority", "Root")
MAX_CA_CERTIFICATES = 10  # spec: "Max supported certificates that can be installed is 10."
# Properties a client may set (ApiManagementServiceBaseProperties without readOnly ones).
WRITABLE = ("publisherEmail", "publisherName", "notificationSenderEmail",
            "hostnameConfigurations", "publicIpAddressId", "publicNetworkAccess",
            "configurationApi", "virtualNetworkConfiguration", "additionalLocations",
            "customProperties", "certificates", "enableClientCertificate", "natGatewayState",
            "disableGateway", "virtualNetworkType", "apiVersionConstraint", "restore",
            "privateEndpointConnections", "legacyPortalStatus", "developerPortalStatus")
_SUBNET = re.compile(r"^/subscriptions/[^/]*/resourceGroups/[^/]*/providers/"
                     r"Microsoft.(ClassicNetwork|Network)/virtualNetworks/[^/]*/subnets/[^/]*$")


def service_body(entity):
    body = dict(entity["body"])
    body["etag"] = entity["etag"]
    return body


# --- building a service document ---------------------------------------------------------

def default_properties(name, created=None):
    return {
        "publisherEmail": "admin@example.com",
        "publisherName": "mtls.apim sandbox",
        "notificationSenderEmail": "apimgmt-noreply@mail.windowsazure.com",
        "provisioningState": "Succeeded",
        "targetProvisioningState": "",
        "createdAtUtc": created or iso_now(),
        "gatewayUrl": f"https://{name.lower()}.azure-api.net",
        "developerPortalUrl": f"https://{name.lower()}.developer.azure-api.net",
        "managementApiUrl": f"https://{name.lower()}.management.azure-api.net",
        "hostnameConfigurations": [{
            "type": "Proxy", "hostName": f"{name.lower()}.azure-api.net",
            "negotiateClientCertificate": False, "defaultSslBinding": True,
            "certificateSource": "BuiltIn"}],
        "publicIPAddresses": ["127.0.0.1"],
        "virtualNetworkType": "None",
        "certificates": [],
        "customProperties": {},
        "disableGateway": False,
        "natGatewayState": "Disabled",
        "platformVersion": "stv2",
        "publicNetworkAccess": "Enabled",
    }


def build_identity(requested, old_identity, private):
    """The identity block Azure would store, and the updated private dict.

    SystemAssigned keeps its principal while it stays enabled; enabling it again after
    disabling creates a new service principal (a new principalId), as Azure does.
    User-assigned entries must name existing identity resources; their ids are copied in.
    """
    private = dict(private)
    requested = requested if requested is not None else {"type": "None"}
    if not isinstance(requested, dict):
        raise _invalid_identity("The 'identity' property must be an object.")
    raw_type = requested.get("type") or "None"
    key = str(raw_type).replace(" ", "").lower()
    if key not in IDENTITY_TYPES:
        raise _invalid_identity(
            f"The identity type '{raw_type}' is not supported. Supported types are "
            "'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.")
    identity = {"type": IDENTITY_TYPES[key]}
    if "systemassigned" in key.split(","):
        keep = principals.has_system_identity(old_identity) and \
            (old_identity or {}).get("principalId")
        identity["principalId"] = keep or str(uuid.uuid4())
        identity["tenantId"] = g.settings["tenant"]
        # ARM does not show a system identity's client id; APIM's Key Vault messages do.
        if not keep or not private.get("system_client_id"):
            private["system_client_id"] = str(uuid.uuid4())
    else:
        private.pop("system_client_id", None)
    wanted = requested.get("userAssignedIdentities") or {}
    if not isinstance(wanted, dict):
        raise _invalid_identity("'userAssignedIdentities' must be an object keyed by identity "
                                "resource id.")
    if "userassigned" in key.split(","):
        if not wanted:
            raise _invalid_identity(f"The identity type '{identity['type']}' requires at least "
                                    "one user assigned identity in 'userAssignedIdentities'.")
        uais = {}
        for resource_id in wanted:
            uai = principals.get_uai(resource_id)
            if uai is None:
                raise _missing_uai(resource_id)
            props = uai["body"]["properties"]
            uais[resource_id] = {"principalId": props["principalId"],
                                 "clientId": props["clientId"]}
        identity["userAssignedIdentities"] = uais
    elif wanted:
        raise _invalid_identity(f"'userAssignedIdentities' must be empty when the identity type "
                                f"is '{identity['type']}'.")
    return identity, private


def _invalid_identity(message):
    # ARM's code for a malformed identity block; the wording is the sandbox's (not documented).
    return ArmError(400, "InvalidIdentity", message)


def _missing_uai(resource_id):
    # The form ARM answers when a user-assigned identity does not exist (its managed identity
    # layer wraps the MSI 404); the nesting is reproduced, the inner text is the sandbox's.
    return ArmError(
        400, "FailedIdentityOperation",
        "Identity operation for resource failed with error 'Failed to perform resource identity "
        "operation. Status: 'NotFound'. Response: '{\"error\":{\"code\":\"NotFound\",\"message\":"
        f"\"Resource '{resource_id}' not found.\"}}}}'.'.")


def build_ca_certificates(entries, sku_name, private):
    """Validate properties.certificates and compute each entry's certificate information.

    An entry without encodedCertificate is kept when its certificate.thumbprint names one the
    service already has (what a client sends back after a GET, which never returns the
    encoded certificate). Returns (entries as stored, updated private).
    """
    entries = entries or []
    if not isinstance(entries, list):
        raise validation_error("certificates", "'certificates' must be an array.")
    if entries and (sku_name or "").lower() == "consumption":
        # Seed (SERVICE-BEHAVIOUR.md): CA certificates are not available in the Consumption
        # tier. Code and wording are the sandbox's choice.
        raise validation_error("certificates", "CA certificates are not supported in the "
                               "Consumption tier of API Management.")
    if len(entries) > MAX_CA_CERTIFICATES:
        raise validation_error("certificates", f"At most {MAX_CA_CERTIFICATES} CA certificates "
                               f"can be installed; {len(entries)} were given.")
    known = dict(private.get("ca_certificates") or {})
    stored, kept = [], {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise validation_error("certificates", f"certificates[{index}] must be an object.")
        store = entry.get("storeName")
        if store not in CA_STORES:
            raise validation_error("certificates", f"certificates[{index}].storeName must be "
                                   "'CertificateAuthority' or 'Root'.")
        if entry.get("encodedCertificate"):
            try:
                cert = certs.load_public_certificate(entry["encodedCertificate"],
                                                     entry.get("certificatePassword"))
            except certs.PfxError as exc:
                raise validation_error("certificates", f"certificates[{index}]: "
                                       f"{exc.message}") from None
            der = certs.der_b64(cert)
        else:
            thumb = str((entry.get("certificate") or {}).get("thumbprint") or "").upper()
            if thumb not in known:
                raise validation_error("certificates", f"certificates[{index}].encodedCertificate "
                                       "is required for a certificate the service does not "
                                       "have yet.")
            der = known[thumb]
            cert = certs.load_public_certificate(der)
        info = certs.certificate_information(cert)
        # Neither encodedCertificate nor the password is returned (as on Azure).
        stored.append({"storeName": store, "certificate": info})
        kept[info["thumbprint"]] = der
    private = dict(private)
    private["ca_certificates"] = kept
    return stored, private


def _virtual_network(config):
    if not config:
        return None
    if not isinstance(config, dict) or not _SUBNET.match(config.get("subnetResourceId") or ""):
        raise validation_error("virtualNetworkConfiguration",
                               "subnetResourceId must be the resource id of a subnet.")
    subnet = config["subnetResourceId"]
    return {"subnetResourceId": subnet, "subnetname": subnet.rsplit("/", 1)[1],
            "vnetid": "00000000-0000-0000-0000-000000000000"}


def build_service(rg, name, doc, existing):
    """The stored (body, private) for a requested service document (PUT or merged PATCH)."""
    sid = existing["body"]["id"] if existing else f"{rg['body']['id']}/providers/{APIM_TYPE}/{name}"
    old = existing["body"] if existing else {}
    private = dict(existing["private"]) if existing else {}
    sku = doc.get("sku")
    if not isinstance(sku, dict) or sku.get("name") not in SKUS:
        raise validation_error("sku", f"sku.name must be one of {', '.join(SKUS)}.")
    sku = {"name": sku["name"], "capacity": int(sku.get("capacity", 0 if sku["name"] ==
                                                               "Consumption" else 1))}
    requested = doc.get("properties") or {}
    if not isinstance(requested, dict):
        raise validation_error("properties", "'properties' must be an object.")
    for field in ("publisherEmail", "publisherName"):
        if not requested.get(field):
            # Required by the spec (ApiManagementServiceProperties); wording is the sandbox's.
            raise validation_error(field, f"{field} is required.")
    props = default_properties(old.get("name", name),
                               (old.get("properties") or {}).get("createdAtUtc"))
    props.update({k: copy.deepcopy(v) for k, v in requested.items() if k in WRITABLE})
    props["certificates"], private = build_ca_certificates(requested.get("certificates"),
                                                           sku["name"], private)
    vnet = _virtual_network(requested.get("virtualNetworkConfiguration"))
    if vnet:
        props["virtualNetworkConfiguration"] = vnet
    else:
        props.pop("virtualNetworkConfiguration", None)
    identity, private = build_identity(doc.get("identity"), old.get("identity"), private)
    body = {"id": sid, "name": old.get("name", name), "type": APIM_TYPE,
            "tags": doc.get("tags") or {}, "location": doc["location"], "sku": sku,
            "properties": props}
    if doc.get("zones"):
        body["zones"] = doc["zones"]
    if identity["type"] != "None" or old.get("identity"):
        body["identity"] = identity
    return body, private


# --- routes ------------------------------------------------------------------------------

@arm_operation("ApiManagementService_Get", "GET", APIM)
def get_service(**p):
    return jsonify(service_body(require_service(**p)))


@arm_operation("ApiManagementService_ListByResourceGroup", "GET",
               "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
               "/providers/Microsoft.ApiManagement/service")
def list_services(subscriptionId, resourceGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    services = g.store.list(rg["body"]["id"], APIM_TYPE)
    return list_response([service_body(s) for s in services], with_count=False)


@arm_operation("ApiManagementService_List", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.ApiManagement/service")
def list_services_in_subscription(subscriptionId):
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                (APIM_TYPE.lower(),)).fetchall()
    return list_response([service_body(g.store.get(r["id"])) for r in rows], with_count=False)


def _respond(rg, body, private, status):
    entity = g.store.put(body["id"], rg["body"]["id"], APIM_TYPE, body, private)
    resp = jsonify(service_body(entity))
    resp.status_code = status
    return resp


# Both operations are long-running in the spec (ARM polls provisioningState; on Azure an update
# can take many minutes). The sandbox applies the change at once and answers the final state
# (provisioningState Succeeded, no Location/Azure-AsyncOperation header), so an ARM poller
# finishes on the first response instead of waiting its default 30 s interval.

@arm_operation("ApiManagementService_CreateOrUpdate", "PUT", APIM)
def put_service(subscriptionId, resourceGroupName, serviceName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    existing = g.store.get(f"{rg['body']['id']}/providers/{APIM_TYPE}/{serviceName}")
    check_if_match(existing, required=False)
    doc = json_body()
    doc = dict(doc, location=require_location(doc, existing, serviceName, resourceGroupName))
    body, private = build_service(rg, serviceName, doc, existing)
    # 201 for a new service, 200 for a replaced one (both in the spec).
    return _respond(rg, body, private, 200 if existing else 201)


@arm_operation("ApiManagementService_Update", "PATCH", APIM)
def patch_service(**p):
    service = require_service(**p)
    check_if_match(service, required=False)
    rg = require_resource_group(p["subscriptionId"], p["resourceGroupName"])
    patch = json_body()
    current = service["body"]
    doc = {"location": current["location"], "tags": current.get("tags") or {},
           "sku": current["sku"], "properties": copy.deepcopy(current["properties"]),
           "identity": copy.deepcopy(current.get("identity") or {"type": "None"})}
    if current.get("zones"):
        doc["zones"] = current["zones"]
    writable = {k: v for k, v in patch.items() if k in ("tags", "sku", "properties",
                                                        "identity", "zones")}
    merged = json_merge_patch(doc, writable)
    new_identity = patch.get("identity")
    if isinstance(new_identity, dict) and "type" in new_identity and \
            "userassigned" not in str(new_identity.get("type")).replace(" ", "").lower() and \
            "userAssignedIdentities" not in new_identity:
        # Changing the type away from UserAssigned detaches the user-assigned identities.
        merged.get("identity", {}).pop("userAssignedIdentities", None)
    if "identity" in patch and patch["identity"] is None:
        merged["identity"] = {"type": "None"}
    return _respond(rg, *build_service(rg, current["name"], merged, service), 200)
