"""Policies at service, API and operation scope (apimpolicies.json, apimapis.json)."""

import xml.etree.ElementTree as ET

from flask import g, request

from sandbox.errors import validation_error
from sandbox.routes.apis import API, OP, require_api
from sandbox.routes.common import (check_if_match, child_id, contract, delete_entity,
                                   entity_response, etag_response, json_body, list_response,
                                   properties_of, require_child, require_service)
from sandbox.routes.registry import APIM, arm_operation

POLICY_ID = "policy"   # the spec's only PolicyIdName
FORMATS = ("xml", "rawxml")
WORD = "Policy"


def _service_scope(**p):
    return require_service(**p), "Microsoft.ApiManagement/service/policies"


def _api_scope(**p):
    return require_api(**p)[1], "Microsoft.ApiManagement/service/apis/policies"


def _operation_scope(operationId, **p):
    _service, api = require_api(**p)
    return (require_child(api, "operations", operationId, "Operation"),
            "Microsoft.ApiManagement/service/apis/operations/policies")


def _check_policy_id(policy_id):
    if policy_id.lower() != POLICY_ID:
        # The spec allows only "policy"; the answer for other ids is the sandbox's choice.
        raise validation_error("policyId", f"Policy id must be '{POLICY_ID}'.")


def _validate(props):
    value, fmt = props.get("value"), (props.get("format") or "xml")
    if not isinstance(value, str) or not value.strip():
        raise validation_error("value", "Policy content is required.")
    if fmt not in FORMATS:
        # *-link formats make APIM fetch the document; the sandbox cannot reach the internet.
        raise validation_error("format", f"Policy format '{fmt}' is not supported by the "
                               "sandbox (use xml or rawxml).")
    try:
        ET.fromstring(value)
    except ET.ParseError as exc:
        # Simplification: rawxml (policy expressions not XML-escaped) is checked for
        # well-formedness like xml. The message wording is the sandbox's.
        raise validation_error("representation", f"Policy document is not well-formed "
                               f"XML: {exc}") from None
    return {"value": value}


def _body(entity):
    # Simplification: the stored text is returned for both format=xml (default) and
    # format=rawxml; the real service re-serialises xml and leaves rawxml unescaped.
    fmt = request.args.get("format", "xml")
    if fmt not in FORMATS:
        raise validation_error("format", f"Policy export format '{fmt}' is not supported.")
    return entity


def _register(prefix, path, scope):
    collection = path + "/policies"
    item = collection + "/{policyId}"
    list_id = "ListByOperation" if prefix == "ApiOperationPolicy" else (
        "ListByApi" if prefix == "ApiPolicy" else "ListByService")

    @arm_operation(f"{prefix}_{list_id}", "GET", collection)
    def list_policies(**p):
        parent, rtype = scope(**p)
        return list_response([e["body"] for e in g.store.list(parent["body"]["id"], rtype)])

    @arm_operation(f"{prefix}_GetEntityTag", "HEAD", item)
    def head_policy(policyId, **p):
        parent, _rtype = scope(**p)
        return etag_response(require_child(parent, "policies", policyId, WORD))

    @arm_operation(f"{prefix}_Get", "GET", item)
    def get_policy(policyId, **p):
        parent, _rtype = scope(**p)
        return entity_response(_body(require_child(parent, "policies", policyId, WORD)))

    @arm_operation(f"{prefix}_CreateOrUpdate", "PUT", item)
    def put_policy(policyId, **p):
        _check_policy_id(policyId)
        parent, rtype = scope(**p)
        existing = g.store.get(child_id(parent, "policies", policyId))
        check_if_match(existing, required=False)
        props = _validate(properties_of(json_body()))
        body = contract(parent, "policies", POLICY_ID, rtype, props)
        entity = g.store.put(body["id"], parent["body"]["id"], rtype, body)
        return entity_response(entity, 200 if existing else 201)

    @arm_operation(f"{prefix}_Delete", "DELETE", item)
    def delete_policy(policyId, **p):
        parent, _rtype = scope(**p)
        return delete_entity(g.store.get(child_id(parent, "policies", policyId)))


_register("Policy", APIM, _service_scope)
_register("ApiPolicy", API, _api_scope)
_register("ApiOperationPolicy", OP, _operation_scope)
