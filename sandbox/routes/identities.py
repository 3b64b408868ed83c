"""User-assigned managed identities (Microsoft.ManagedIdentity, ManagedIdentity.json)."""

from flask import g, jsonify, make_response

from sandbox import principals
from sandbox.routes.common import (arm_not_found, json_body, list_response, require_location,
                                   require_resource_group)
from sandbox.routes.registry import arm_operation

# azure-mgmt-msi 7.1 sends 2024-11-30; the spec file present is 2023-01-31. The resource shape
# the sandbox serves is the same in both.
MSI_API_VERSIONS = ("2023-01-31", "2024-11-30")
COLLECTION = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
              "Microsoft.ManagedIdentity/userAssignedIdentities")
ITEM = COLLECTION + "/{resourceName}"


def _uai_id(rg, name):
    return f"{rg['body']['id']}/providers/{principals.UAI_TYPE}/{name}"


def _require(subscriptionId, resourceGroupName, resourceName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = principals.get_uai(_uai_id(rg, resourceName))
    if entity is None:
        raise arm_not_found(principals.UAI_TYPE, resourceName, resourceGroupName)
    return entity


@arm_operation("UserAssignedIdentities_CreateOrUpdate", "PUT", ITEM, MSI_API_VERSIONS)
def put_identity(subscriptionId, resourceGroupName, resourceName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    rid = _uai_id(rg, resourceName)
    existing = principals.get_uai(rid)
    body = json_body()
    location = require_location(body, existing, resourceName, resourceGroupName)
    if existing:
        # Tags change; the principal, client and tenant ids never do.
        new = dict(existing["body"], tags=body.get("tags") or {})
    else:
        new = principals.uai_body(rid, location, body.get("tags"))
    entity = g.store.put(new["id"], rg["body"]["id"], principals.UAI_TYPE, new)
    return make_response(jsonify(entity["body"]), 200 if existing else 201)


@arm_operation("UserAssignedIdentities_Get", "GET", ITEM, MSI_API_VERSIONS)
def get_identity(**p):
    return jsonify(_require(**p)["body"])


@arm_operation("UserAssignedIdentities_Delete", "DELETE", ITEM, MSI_API_VERSIONS)
def delete_identity(subscriptionId, resourceGroupName, resourceName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    entity = principals.get_uai(_uai_id(rg, resourceName))
    if entity is None:
        return make_response("", 204)
    # Azure deletes the identity even while resources still list it: their entries stay and
    # stop working (its service principal is gone). The sandbox does the same.
    g.store.delete(entity["id"])
    return make_response("", 200)


@arm_operation("UserAssignedIdentities_ListByResourceGroup", "GET", COLLECTION,
               MSI_API_VERSIONS)
def list_identities(subscriptionId, resourceGroupName):
    rg = require_resource_group(subscriptionId, resourceGroupName)
    return list_response([e["body"] for e in g.store.list(rg["body"]["id"], principals.UAI_TYPE)],
                         with_count=False)
