"""APIs and their operations (apimapis.json), minimal but spec-shaped."""

from flask import g

from sandbox.errors import validation_error
from sandbox.routes.common import (check_if_match, child_id, contract, delete_entity,
                                   entity_response, etag_response, json_body, list_response,
                                   patch_entity, properties_of, require_child,
                                   require_service)
from sandbox.routes.registry import APIM, arm_operation

API_TYPE = "Microsoft.ApiManagement/service/apis"
OP_TYPE = "Microsoft.ApiManagement/service/apis/operations"
APIS = APIM + "/apis"
API = APIS + "/{apiId}"
OPS = API + "/operations"
OP = OPS + "/{operationId}"

# Request-only fields of ApiCreateOrUpdateProperties: used to import, never returned.
_API_INPUT_ONLY = ("value", "format", "wsdlSelector", "apiType",
                   "translateRequiredQueryParameters")


def require_api(apiId, **p):
    service = require_service(**p)
    return service, require_child(service, "apis", apiId, "Api")


def _api_properties(api_id, props, existing):
    props = {k: v for k, v in props.items() if k not in _API_INPUT_ONLY}
    if existing is None and props.get("path") is None:
        # Spec: path is required. Wording is the sandbox's.
        raise validation_error("path", "API path is required.")
    merged = dict(existing["body"]["properties"]) if existing else {}
    # APIM's PUT on an API keeps properties the request leaves out (a choice that matches
    # how the portal and the CLI update APIs with partial bodies).
    merged.update(props)
    merged.setdefault("displayName", api_id)
    merged.setdefault("protocols", ["https"])
    merged.setdefault("subscriptionRequired", True)
    merged.setdefault("type", "http")
    merged.setdefault("apiRevision", "1")
    merged.setdefault("isCurrent", True)
    # The spec makes Api_CreateOrUpdate long-running; the sandbox finishes at once and says so.
    merged["provisioningState"] = "Succeeded"
    return merged


@arm_operation("Api_ListByService", "GET", APIS)
def list_apis(**p):
    service = require_service(**p)
    return list_response([e["body"] for e in g.store.list(service["body"]["id"], API_TYPE)])


@arm_operation("Api_GetEntityTag", "HEAD", API)
def head_api(**p):
    return etag_response(require_api(**p)[1])


@arm_operation("Api_Get", "GET", API)
def get_api(**p):
    return entity_response(require_api(**p)[1])


@arm_operation("Api_CreateOrUpdate", "PUT", API)
def put_api(apiId, **p):
    service = require_service(**p)
    existing = g.store.get(child_id(service, "apis", apiId))
    check_if_match(existing, required=False)
    props = _api_properties(apiId, properties_of(json_body()), existing)
    body = contract(service, "apis", apiId, API_TYPE, props)
    if existing:
        body["id"], body["name"] = existing["body"]["id"], existing["body"]["name"]
    entity = g.store.put(body["id"], service["body"]["id"], API_TYPE, body)
    return entity_response(entity, 200 if existing else 201)


@arm_operation("Api_Update", "PATCH", API)
def patch_api(apiId, **p):
    service = require_service(**p)
    return patch_entity(service, "apis", apiId, API_TYPE, "Api",
                        lambda props: _api_properties(apiId, props, None))


@arm_operation("Api_Delete", "DELETE", API)
def delete_api(apiId, **p):
    service = require_service(**p)
    # The spec lists 202 and 204 only (the SDK refuses 200): deletion is immediate -> 204.
    return delete_entity(g.store.get(child_id(service, "apis", apiId)), deleted_status=204)


# --- operations ---------------------------------------------------------------------------
def _op_properties(props):
    for field in ("displayName", "method", "urlTemplate"):
        if not props.get(field):
            # Spec: required fields. Wording is the sandbox's.
            raise validation_error(field, f"{field} is required.")
    props = dict(props)
    props.setdefault("templateParameters", [])
    props.setdefault("responses", [])
    props["method"] = props["method"].upper()
    return props


@arm_operation("ApiOperation_ListByApi", "GET", OPS)
def list_operations(**p):
    _service, api = require_api(**p)
    return list_response([e["body"] for e in g.store.list(api["body"]["id"], OP_TYPE)])


@arm_operation("ApiOperation_GetEntityTag", "HEAD", OP)
def head_operation(operationId, **p):
    _service, api = require_api(**p)
    return etag_response(require_child(api, "operations", operationId, "Operation"))


@arm_operation("ApiOperation_Get", "GET", OP)
def get_operation(operationId, **p):
    _service, api = require_api(**p)
    return entity_response(require_child(api, "operations", operationId, "Operation"))


@arm_operation("ApiOperation_CreateOrUpdate", "PUT", OP)
def put_operation(operationId, **p):
    _service, api = require_api(**p)
    existing = g.store.get(child_id(api, "operations", operationId))
    check_if_match(existing, required=False)
    props = _op_properties(properties_of(json_body()))
    body = contract(api, "operations", operationId, OP_TYPE, props)
    if existing:
        body["id"], body["name"] = existing["body"]["id"], existing["body"]["name"]
    entity = g.store.put(body["id"], api["body"]["id"], OP_TYPE, body)
    return entity_response(entity, 200 if existing else 201)


@arm_operation("ApiOperation_Update", "PATCH", OP)
def patch_operation(operationId, **p):
    _service, api = require_api(**p)
    return patch_entity(api, "operations", operationId, OP_TYPE, "Operation", _op_properties)


@arm_operation("ApiOperation_Delete", "DELETE", OP)
def delete_operation(operationId, **p):
    _service, api = require_api(**p)
    return delete_entity(g.store.get(child_id(api, "operations", operationId)))
