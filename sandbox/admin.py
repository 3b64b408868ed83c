"""The admin API under /_sandbox/ (no auth; the server listens on loopback only)."""

import datetime
import uuid

from flask import Blueprint, abort, current_app, g, jsonify, request

from sandbox.keyvault import KEYVAULT_TYPE
from sandbox.routes.common import APIM_TYPE, rg_id

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


def _identity(spec, existing):
    """Fill the ids Azure generates for managed identities; keep them across re-seeding."""
    private = dict(existing["private"]) if existing else {}
    old = (existing["body"].get("identity") if existing else None) or {}
    if not spec:
        return None, private
    identity = {"type": spec.get("type", "SystemAssigned")}
    types = identity["type"].replace(" ", "").lower().split(",")
    if "systemassigned" in types:
        identity["principalId"] = spec.get("principalId") or old.get("principalId") or \
            str(uuid.uuid4())
        identity["tenantId"] = g.settings["tenant"]
        # ARM does not show the system identity's client id; Key Vault messages do.
        private["system_client_id"] = spec.get("clientId") or \
            private.get("system_client_id") or str(uuid.uuid4())
    if "userassigned" in types:
        uais = {}
        old_uais = {k.lower(): v for k, v in (old.get("userAssignedIdentities") or {}).items()}
        for uid, value in (spec.get("userAssignedIdentities") or {}).items():
            value = value or {}
            prev = old_uais.get(uid.lower(), {})
            uais[uid] = {"principalId": value.get("principalId") or prev.get("principalId")
                         or str(uuid.uuid4()),
                         "clientId": value.get("clientId") or prev.get("clientId")
                         or str(uuid.uuid4())}
        identity["userAssignedIdentities"] = uais
    return identity, private


def _seed_service(spec):
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    name = spec["name"]
    sid = f"{rg['body']['id']}/providers/{APIM_TYPE}/{name}"
    existing = g.store.get(sid)
    identity, private = _identity(spec.get("identity"), existing)
    created = (existing["body"]["properties"]["createdAtUtc"] if existing else
               datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    body = {
        "id": sid, "name": name, "type": APIM_TYPE, "tags": spec.get("tags", {}),
        "location": spec.get("location") or rg["body"]["location"],
        "sku": spec.get("sku") or {"name": "Developer", "capacity": 1},
        "properties": {
            "publisherEmail": spec.get("publisher_email", "admin@example.com"),
            "publisherName": spec.get("publisher_name", "mtls.apim sandbox"),
            "notificationSenderEmail": "apimgmt-noreply@mail.windowsazure.com",
            "provisioningState": "Succeeded",
            "targetProvisioningState": "",
            "createdAtUtc": created,
            "gatewayUrl": f"https://{name.lower()}.azure-api.net",
            "developerPortalUrl": f"https://{name.lower()}.developer.azure-api.net",
            "managementApiUrl": f"https://{name.lower()}.management.azure-api.net",
            "hostnameConfigurations": [{
                "type": "Proxy", "hostName": f"{name.lower()}.azure-api.net",
                "negotiateClientCertificate": False, "defaultSslBinding": True,
                "certificateSource": "BuiltIn"}],
            "publicIPAddresses": ["127.0.0.1"],
            "virtualNetworkType": "None",
            "certificates": spec.get("certificates", []),
            "customProperties": spec.get("custom_properties", {}),
            "disableGateway": False,
            "natGatewayState": "Disabled",
            "platformVersion": "stv2",
            "publicNetworkAccess": "Enabled",
        },
    }
    if identity:
        body["identity"] = identity
    return g.store.put(sid, rg["body"]["id"], APIM_TYPE, body, private)


def _seed_vault(spec):
    rg = _ensure_rg(spec["resource_group"], spec.get("location"))
    name = spec["name"]
    vid = f"{rg['body']['id']}/providers/{KEYVAULT_TYPE}/{name}"
    existing = g.store.get(vid)
    if existing:
        return existing
    body = {
        "id": vid, "name": name, "type": KEYVAULT_TYPE,
        "location": spec.get("location") or rg["body"]["location"], "tags": {},
        "properties": {
            "tenantId": g.settings["tenant"],
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "enableRbacAuthorization": False,
            "vaultUri": f"https://{name.lower()}.vault.localhost:{_cfg()['port']}/",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
        },
    }
    return g.store.put(vid, rg["body"]["id"], KEYVAULT_TYPE, body)


@bp.post("/seed")
def seed():
    body = _body()
    out = {"resource_groups": [], "services": [], "vaults": []}
    try:
        with g.store.transaction():
            for spec in body.get("resource_groups", []):
                out["resource_groups"].append(
                    _ensure_rg(spec["name"], spec.get("location"))["body"])
            for spec in body.get("services", []):
                out["services"].append(_seed_service(spec)["body"])
            for spec in body.get("vaults", []):
                out["vaults"].append(_seed_vault(spec)["body"])
    except KeyError as exc:
        return _admin_error(400, f"seed: missing field {exc}")
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
