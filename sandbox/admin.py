"""The admin API under /_sandbox/ (no auth; the server listens on loopback only)."""

import copy
import datetime
import uuid

from flask import Blueprint, abort, current_app, g, jsonify, request

from sandbox import access, principals
from sandbox.errors import ArmError
from sandbox.keyvault import KEYVAULT_TYPE
from sandbox.routes.common import APIM_TYPE, rg_id
from sandbox.routes import network, roles, vaults
from sandbox.routes.service import build_service

bp = Blueprint("admin", __name__, url_prefix="/_sandbox")
RG_TYPE = "Microsoft.Resources/resourceGroups"


def _cfg():
    return current_app.config["SANDBOX"]


@bp.before_request
def loopback_only():
    if request.remote_addr not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        abort(403)


def _admin_error(status, message):
    resp = jsonify({"error": {"code": "SandboxAdminError", "message": message}})
    resp.status_code = status
    return resp


def _body():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/reset")
def reset():
    g.store.reset()
    return jsonify({"reset": True})


def _ensure_rg(name, location):
    sub = g.settings["subscription_id"]
    existing = g.store.get(rg_id(sub, name))
    if existing:
        return existing
    body = {"id": rg_id(sub, name), "name": name, "type": RG_TYPE,
            "location": location or "westeurope", "properties": {"provisioningState":
                                                                  "Succeeded"}}
    return g.store.put(body["id"], f"/subscriptions/{sub}", RG_TYPE, body)


def _seed_identities(spec, location):
    """Create the user-assigned identity resources a seeded service names (ids kept if given)."""
    for uid, value in ((spec or {}).get("userAssignedIdentities") or {}).items():
        if principals.get_uai(uid) is not None:
            continue
        if principals.parse_uai_id(uid) is None:
            raise KeyError(f"userAssignedIdentities key {uid!r} is not an identity resource id")
        value = value or {}
        body = principals.uai_body(uid, location, {}, value.get("principalId"),
                                   value.get("clientId"))
        g.store.put(uid, uid.rsplit("/providers/", 1)[0], principals.UAI_TYPE, body)


def _seed_service(spec):
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    name = spec["name"]
    existing = g.store.get(f"{rg['body']['id']}/providers/{APIM_TYPE}/{name}")
    location = spec.get("location") or rg["body"]["location"]
    identity = spec.get("identity")
    _seed_identities(identity, location)
    props = {"publisherEmail": spec.get("publisher_email", "admin@example.com"),
             "publisherName": spec.get("publisher_name", "mtls.apim sandbox"),
             "customProperties": spec.get("custom_properties", {}),
             "certificates": spec.get("certificates", [])}
    if spec.get("virtual_network_configuration"):
        props["virtualNetworkConfiguration"] = spec["virtual_network_configuration"]
        props["virtualNetworkType"] = spec.get("virtual_network_type", "External")
    if spec.get("virtual_network"):
        # VNet injection: {"subnet_resource_id", "type": External|Internal}.
        props["virtualNetworkConfiguration"] = {
            "subnetResourceId": spec["virtual_network"]["subnet_resource_id"]}
        props["virtualNetworkType"] = spec["virtual_network"].get("type", "External")
    doc = {"location": location, "tags": spec.get("tags", {}),
           "sku": spec.get("sku") or {"name": "Developer", "capacity": 1},
           "properties": props,
           "identity": {k: v for k, v in (identity or {"type": "None"}).items()
                        if k in ("type", "userAssignedIdentities")}}
    body, private = build_service(rg, name, doc, existing)
    # Seeding may fix the system identity's ids (kept when the same service is seeded again).
    if identity and principals.has_system_identity(body["identity"]):
        if identity.get("principalId"):
            body["identity"]["principalId"] = identity["principalId"]
        if identity.get("clientId"):
            private["system_client_id"] = identity["clientId"]
    return g.store.put(body["id"], rg["body"]["id"], APIM_TYPE, body, private)


def _seed_nsg(spec):
    """A network security group with its rules, validated as a PUT would be."""
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    nid = f"{rg['body']['id']}/providers/{network.NSG_TYPE}/{spec['name']}"
    existing = g.store.get(nid)
    rules = [{"name": r["name"], "properties": {k: v for k, v in r.items() if k != "name"}}
             for r in spec.get("security_rules") or []]
    body = network.build_nsg(existing["body"]["id"] if existing else nid, spec["name"],
                             spec.get("location") or rg["body"]["location"], spec.get("tags"),
                             {"securityRules": rules}, existing)
    return network.save_nsg(rg, body)


def _seed_vnet(spec):
    """A virtual network with its subnets (address_prefix, service_endpoints as service names
    or {service, locations}, delegations as service names, network_security_group as an NSG
    resource id or a name in the same resource group)."""
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    vid = f"{rg['body']['id']}/providers/{network.VNET_TYPE}/{spec['name']}"
    existing = g.store.get(vid)
    subnets = []
    for sub in spec.get("subnets") or []:
        props = {"addressPrefix": sub["address_prefix"],
                 "serviceEndpoints": [e if isinstance(e, dict) else {"service": e}
                                      for e in sub.get("service_endpoints") or []],
                 "delegations": [{"name": d.replace("/", "."), "properties": {"serviceName": d}}
                                 if isinstance(d, str) else d
                                 for d in sub.get("delegations") or []]}
        nsg = sub.get("network_security_group")
        if nsg:
            props["networkSecurityGroup"] = {"id": nsg if nsg.startswith("/") else
                                             f"{rg['body']['id']}/providers/{network.NSG_TYPE}/{nsg}"}
        subnets.append({"name": sub["name"], "properties": props})
    body = network.build_vnet(existing["body"]["id"] if existing else vid, spec["name"],
                              spec.get("location") or rg["body"]["location"], spec.get("tags"),
                              {"addressSpace": {"addressPrefixes": list(spec["address_space"])},
                               "subnets": subnets}, existing)
    return network.save_vnet(rg, body)


# What the portal grants the creator of a vault (all key, secret and certificate permissions).
CREATOR_PERMISSIONS = {
    "keys": ["get", "list", "update", "create", "import", "delete", "recover", "backup",
             "restore", "getrotationpolicy", "setrotationpolicy", "rotate"],
    "secrets": ["get", "list", "set", "delete", "recover", "backup", "restore"],
    "certificates": ["get", "list", "update", "create", "import", "delete", "recover", "backup",
                     "restore", "managecontacts", "manageissuers", "getissuers", "listissuers",
                     "setissuers", "deleteissuers"],
}


def _seed_vault(spec):
    """A vault as the portal creates it for the control node: an access-policy vault gets a
    policy for the creator (the sandbox's client) with full key/secret/certificate
    permissions; an RBAC vault gets a Key Vault Administrator role assignment for it instead
    (the portal proposes that role to the creator)."""
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    name = spec["name"]
    vid = f"{rg['body']['id']}/providers/{KEYVAULT_TYPE}/{name}"
    existing = g.store.get(vid)
    tenant, client = g.settings["tenant"], g.settings["client_object_id"]
    rbac = bool(spec.get("enableRbacAuthorization", False))
    policies = [] if rbac else [{"tenantId": tenant, "objectId": client,
                                 "permissions": copy.deepcopy(CREATOR_PERMISSIONS)}]
    requested = {"tenantId": tenant, "sku": {"family": "A", "name": "standard"},
                 "accessPolicies": policies + list(spec.get("accessPolicies") or []),
                 "enableRbacAuthorization": rbac,
                 "networkAcls": spec.get("networkAcls")}
    body = vaults.build_vault(vid, name, spec.get("location") or rg["body"]["location"],
                              spec.get("tags"), requested, existing)
    entity = g.store.put(vid, rg["body"]["id"], KEYVAULT_TYPE, body)
    if rbac:
        assignment = roles.new_assignment(
            entity["body"]["id"], str(uuid.uuid5(uuid.NAMESPACE_URL, vid.lower())),
            access.KEY_VAULT_ADMINISTRATOR, client, "ServicePrincipal")
        if g.store.get(assignment["id"]) is None:
            roles.store_assignment(assignment)
    return entity


@bp.post("/seed")
def seed():
    body = _body()
    out = {"resource_groups": [], "services": [], "vaults": []}
    try:
        with g.store.transaction():
            for spec in body.get("resource_groups", []):
                out["resource_groups"].append(
                    _ensure_rg(spec["name"], spec.get("location"))["body"])
            # Security groups first (subnets name them), networks before services (injected).
            for spec in body.get("network_security_groups", []):
                out.setdefault("network_security_groups", []).append(_seed_nsg(spec)["body"])
            for spec in body.get("virtual_networks", []):
                out.setdefault("virtual_networks", []).append(_seed_vnet(spec)["body"])
            for spec in body.get("services", []):
                out["services"].append(_seed_service(spec)["body"])
            for spec in body.get("vaults", []):
                out["vaults"].append(_seed_vault(spec)["body"])
    except KeyError as exc:
        return _admin_error(400, f"seed: missing field {exc}")
    except ArmError as exc:
        return _admin_error(400, f"seed: {exc.code}: {exc.message} {exc.details or ''}".strip())
    return jsonify(out)


@bp.put("/vaults/<vault>/secrets/<name>")
def put_secret(vault, name):
    body = _body()
    if "value" not in body:
        return _admin_error(400, "body needs 'value' (base64 PFX)")
    row = g.store.conn.execute("SELECT id FROM resources WHERE type = ? AND id LIKE ?",
                               (KEYVAULT_TYPE.lower(), f"%/vaults/{vault.lower()}")).fetchone()
    if row is None:
        return _admin_error(404, f"vault '{vault}' is not seeded (POST /_sandbox/seed)")
    version = g.store.add_secret(vault, name, body["value"],
                                 body.get("content_type", "application/x-pkcs12"))
    base = f"https://{vault.lower()}.vault.localhost:{_cfg()['port']}/secrets/{name}"
    return jsonify({"id": f"{base}/{version}", "versionless_id": base, "version": version})


@bp.get("/state")
def state():
    resources = []
    for entity in g.store.all_resources():
        private = {k: v for k, v in entity["private"].items() if k not in ("pfx", "password")}
        resources.append({"id": entity["body"].get("id"), "etag": entity["etag"],
                          "body": entity["body"], "private": private})
    settings = g.store.settings()
    return jsonify({
        "resources": resources,
        "vault_secrets": g.store.all_secrets(),
        "faults": g.store.faults(),
        "clock_offset_seconds": float(settings.get("clock_offset", 0)),
        "now": g.store.now(),
    })


@bp.get("/requests")
def requests_log():
    entries, counts, writes = [], {}, 0
    for row in g.store.requests():
        entry = {"method": row["method"], "path": row["path"], "route": row["route"],
                 "operation": row["operation"], "kind": row["kind"], "status": row["status"],
                 "write": bool(row["write"]), "time": row["ts"]}
        entries.append(entry)
        # Counts and writes cover ARM requests only: admin, login and metadata calls are
        # listed (with their kind) but never counted.
        if row["kind"] != "arm":
            continue
        key = f"{row['method']} {row['operation'] or row['route'] or row['path']}"
        counts[key] = counts.get(key, 0) + 1
        writes += int(bool(row["write"]))
    return jsonify({"requests": entries, "counts": counts, "writes": writes})


@bp.delete("/requests")
def clear_requests():
    g.store.clear_requests()
    return jsonify({"cleared": True})


@bp.post("/faults")
def add_fault():
    body = _body()
    if not body.get("path_regex"):
        return _admin_error(400, "fault needs 'path_regex'")
    g.store.add_fault(body.get("method"), body["path_regex"], body.get("status"),
                      body.get("retry_after"), int(body.get("latency_ms") or 0),
                      int(body.get("count", 1)))
    return jsonify({"faults": g.store.faults()})


@bp.delete("/faults")
def clear_faults():
    g.store.clear_faults()
    return jsonify({"cleared": True})


@bp.post("/clock")
def clock():
    seconds = _body().get("advance_seconds", 0)
    offset = g.store.advance_clock(float(seconds))
    now = g.store.now()
    return jsonify({"offset_seconds": offset, "now": datetime.datetime.fromtimestamp(
        now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
