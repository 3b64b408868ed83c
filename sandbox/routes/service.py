"""The APIM service resource (read-only through ARM; created by POST /_sandbox/seed)."""

from flask import g, jsonify

from sandbox.routes.common import list_response, require_resource_group, require_service, \
    APIM_TYPE
from sandbox.routes.registry import APIM, arm_operation


def service_body(entity):
    body = dict(entity["body"])
    body["etag"] = entity["etag"]
    return body


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
