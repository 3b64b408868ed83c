"""The operationId registry and the one Flask view that dispatches ARM requests.

Flask routing is case-sensitive and ARM paths are not: the app's WSGI wrapper lowercases
the fixed segments of /subscriptions/... paths (see sandbox.app.normalise_arm_path), and the
rules below are the spec templates with their fixed segments lowercased to match.
"""

import re
from typing import NamedTuple

from flask import g, request

from sandbox.auth import require_arm_token
from sandbox.errors import ArmError

APIM_API_VERSION = "2024-05-01"
APIM = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" \
       "/providers/Microsoft.ApiManagement/service/{serviceName}"


class Operation(NamedTuple):
    operation_id: str
    method: str
    path: str


OPERATIONS = []
HANDLERS = {}
_API_VERSIONS = {}


def arm_operation(operation_id, method, path, api_version=APIM_API_VERSION):
    """Register a handler ``fn(**path_params)`` for one spec operation.

    ``api_version``: one version or a tuple of the versions accepted (an SDK may send a newer
    version than the spec file present; the conformance suite validates against the nearest).
    """
    def deco(fn):
        OPERATIONS.append(Operation(operation_id, method.upper(), path))
        HANDLERS[operation_id] = fn
        _API_VERSIONS[operation_id] = ((api_version,) if isinstance(api_version, str)
                                       else tuple(api_version))
        return fn
    return deco


def api_versions(operation_id):
    return _API_VERSIONS[operation_id]


# Path parameters that span several segments (the spec marks them x-ms-skip-url-encoding).
MULTI_SEGMENT_PARAMS = {"scope"}


def flask_rule(path):
    parts = []
    for seg in path.strip("/").split("/"):
        m = re.fullmatch(r"\{(\w+)\}", seg)
        if m and m.group(1) in MULTI_SEGMENT_PARAMS:
            parts.append(f"<path:{m.group(1)}>")
        else:
            parts.append(f"<{m.group(1)}>" if m else seg.lower())
    return "/" + "/".join(parts)


def _check_api_version(operation_id):
    supported = _API_VERSIONS[operation_id]
    given = request.args.get("api-version")
    if not given:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all "
                       "requests.")
    if given not in supported:
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{given}' is invalid. The supported versions are "
                       f"'{','.join(supported)}'.")


def _subscription_of(params):
    """The subscription of a request: the path parameter, or the first segments of a scope."""
    if "subscriptionId" in params:
        return params["subscriptionId"]
    m = re.match(r"^/?subscriptions/([^/]+)", params.get("scope") or "", re.IGNORECASE)
    if not m:
        # Management-group, tenant and provider scopes are not emulated (the sandbox's choice
        # of answer: ARM's code for a scope it cannot resolve).
        raise ArmError(400, "InvalidScope",
                       f"The scope '/{params.get('scope')}' is not supported by the sandbox: "
                       "use a subscription, resource group or resource scope.")
    return m.group(1)


def _check_subscription(subscription_id):
    expected = g.settings["subscription_id"]
    if subscription_id.lower() != expected.lower():
        raise ArmError(404, "SubscriptionNotFound",
                       f"The subscription '{subscription_id}' could not be found.")


ALL_METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]


def _make_view(path, by_method):
    def view(**params):
        method = request.method
        op = by_method.get(method)
        g.route = path
        if op:
            g.operation = op.operation_id
        require_arm_token()
        if op is None:
            raise ArmError(405, "MethodNotAllowed",
                           f"The requested resource does not support http method '{method}'.")
        _check_api_version(op.operation_id)
        _check_subscription(_subscription_of(params))
        # Every ARM request runs in one write transaction: the read-check-write of ETags and
        # references is atomic across threads and processes. Fine for a test double.
        with g.store.transaction():
            return HANDLERS[op.operation_id](**params)
    return view


def identify(rule, method):
    """(route, operationId) of a matched ARM URL rule, so that requests answered before the view
    (injected faults) are logged under their operation too."""
    if rule is None or not rule.endpoint.startswith("arm "):
        return None, None
    path = rule.endpoint[len("arm "):]
    for op in OPERATIONS:
        if op.path == path and op.method == method:
            return path, op.operation_id
    return path, None


def register_arm_routes(app):
    grouped = {}
    for op in OPERATIONS:
        grouped.setdefault(op.path, {})[op.method] = op
    for path, by_method in grouped.items():
        app.add_url_rule(flask_rule(path), endpoint="arm " + path,
                         view_func=_make_view(path, by_method), methods=ALL_METHODS,
                         provide_automatic_options=False)
