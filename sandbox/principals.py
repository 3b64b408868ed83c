"""Managed identities and the principals the sandbox's directory knows.

A principal exists when it is the sandbox's own client (the control node), the service
principal of a user-assigned identity resource, or that of an enabled system-assigned
identity. Disabling a system-assigned identity deletes its principal, as Azure does.
"""

import re
import uuid

from flask import g

UAI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
APIM_TYPE = "Microsoft.ApiManagement/service"

_UAI_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/"
                     r"Microsoft\.ManagedIdentity/userAssignedIdentities/([^/]+)$", re.IGNORECASE)


def parse_uai_id(resource_id):
    """(resource group, name) of a user-assigned identity id, or None if it is not one."""
    m = _UAI_ID.match((resource_id or "").rstrip("/"))
    return (m.group(1), m.group(2)) if m else None


def uai_body(resource_id, location, tags, principal_id=None, client_id=None):
    _rg, name = parse_uai_id(resource_id)
    return {
        "id": resource_id, "name": name, "type": UAI_TYPE, "location": location,
        "tags": tags or {},
        "properties": {"tenantId": g.settings["tenant"],
                       "principalId": principal_id or str(uuid.uuid4()),
                       "clientId": client_id or str(uuid.uuid4())},
    }


def get_uai(resource_id):
    entity = g.store.get(resource_id)
    if entity is None or entity["type"] != UAI_TYPE.lower():
        return None
    return entity


def has_system_identity(identity):
    kind = ((identity or {}).get("type") or "None").replace(" ", "").lower()
    return "systemassigned" in kind.split(",")


def find_principal(principal_id):
    """{"principalType", "kind", "clientId"} of a known principal, or None."""
    pid = (principal_id or "").lower()
    if not pid:
        return None
    settings = g.settings
    if pid == settings["client_object_id"].lower():
        return {"principalType": "ServicePrincipal", "kind": "Application",
                "clientId": settings["client_id"]}
    for uai in _all(UAI_TYPE):
        props = uai["body"].get("properties", {})
        if (props.get("principalId") or "").lower() == pid:
            return {"principalType": "ServicePrincipal", "kind": "UserAssigned",
                    "clientId": props.get("clientId"), "resourceId": uai["body"]["id"]}
    for service in _all(APIM_TYPE):
        identity = service["body"].get("identity") or {}
        if has_system_identity(identity) and (identity.get("principalId") or "").lower() == pid:
            return {"principalType": "ServicePrincipal", "kind": "SystemAssigned",
                    "clientId": service["private"].get("system_client_id"),
                    "resourceId": service["body"]["id"]}
    return None


def _all(rtype):
    rows = g.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                (rtype.lower(),)).fetchall()
    return [g.store.get(r["id"]) for r in rows]
