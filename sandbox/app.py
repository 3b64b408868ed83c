"""Flask app factory: request ids, fault injection, the request log, error rendering."""

import logging
import re
import time
import uuid

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox import admin, auth, gateway
from sandbox import vault_dataplane
from sandbox.errors import ArmError
from sandbox.routes import register_arm_routes
from sandbox.routes.registry import identify
from sandbox.store import Store

WRITE_METHODS = {"PUT", "PATCH", "POST", "DELETE"}
_FAULT_CODES = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                503: "ServiceUnavailable", 504: "GatewayTimeout", 409: "Conflict"}


def normalise_arm_path(path):
    """Lowercase the fixed segments of an ARM path, keep the names as sent.

    /subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}/{type}/...:
    before "providers" fixed words and names alternate; "providers" is followed by the
    namespace; after it, type and name alternate again.
    """
    segs = path.split("/")
    if len(segs) < 2 or segs[1].lower() != "subscriptions":
        return path
    first_type = None  # index of the first type segment after providers/{namespace}
    for idx in range(1, len(segs)):
        if first_type is None:
            fixed = idx % 2 == 1
        else:
            fixed = idx == first_type - 1 or (idx >= first_type and (idx - first_type) % 2 == 0)
        # Extension resources (role assignments on a vault) start a new providers/{namespace}.
        if fixed and segs[idx].lower() == "providers" and (first_type is None or idx >= first_type):
            first_type = idx + 2
        if fixed:
            segs[idx] = segs[idx].lower()
    return "/".join(segs)


class _PathNormaliser:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        environ["sandbox.original_path"] = path
        environ["PATH_INFO"] = normalise_arm_path(path)
        return self.wsgi_app(environ, start_response)


def _kind(path):
    if path.startswith("/_sandbox"):
        return "admin"
    if path.startswith("/metadata/"):
        return "metadata"
    if path.lower().startswith("/subscriptions") or path.lower().startswith("/providers"):
        return "arm"
    return "login"


def _fault_matches(regex, path):
    try:
        return re.search(regex, path) is not None
    except re.error:
        return False


def create_app(config):
    """config: url, port, tenant, client_id, secret, subscription_id, token_key, db_path..."""
    app = Flask("sandbox")
    app.config["SANDBOX"] = config
    app.json.sort_keys = False
    app.wsgi_app = _PathNormaliser(app.wsgi_app)
    vault_dataplane.mount(app, config)  # <vault>.vault.localhost: Key Vault data plane
    gateway.mount(app, config)  # <service>.azure-api.localhost never reaches the routes

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    register_arm_routes(app)

    @app.before_request
    def open_store():
        g.started = time.time()
        g.store = Store.open(config["db_path"])
        g.settings = g.store.settings()
        g.base_url = config["url"]
        g.route = None
        g.operation = None
        g.original_path = request.environ.get("sandbox.original_path", request.path)
        g.kind = _kind(g.original_path)
        if g.kind == "admin":
            return None
        fault = g.store.take_fault(request.method, g.original_path, _fault_matches)
        if fault is None:
            return None
        g.route, g.operation = identify(request.url_rule, request.method)
        if fault["latency_ms"]:
            time.sleep(fault["latency_ms"] / 1000.0)
        if not fault["status"]:
            return None
        status = int(fault["status"])
        headers = {}
        if fault["retry_after"] is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        error = ArmError(status, _FAULT_CODES.get(status, "SandboxInjectedFault"),
                         f"Fault injected by the sandbox (HTTP {status}).", headers=headers)
        g.fault = True
        return _render(error)

    @app.after_request
    def finish(response):
        request_id = str(uuid.uuid4())
        correlation = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = correlation
        if request.headers.get("x-ms-client-request-id"):
            response.headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
        store = g.get("store")
        if store is not None:
            route = g.get("route")
            if route is None and request.url_rule is not None:
                route = request.url_rule.rule
            kind = g.get("kind", "arm")
            # Never the body nor the Authorization header: method, path, route, status only.
            store.log_request(request.method, g.get("original_path", request.path), route,
                              g.get("operation"), kind, response.status_code,
                              kind == "arm" and request.method in WRITE_METHODS)
        return response

    @app.teardown_request
    def close_store(_exc):
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.errorhandler(ArmError)
    def arm_error(exc):
        return _render(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 404 and g.get("kind") == "arm":
            return _render(ArmError(404, "NotFound",
                                    f"The requested resource path '{request.path}' is not "
                                    "emulated by the sandbox."))
        return _render(ArmError(exc.code or 500, exc.name.replace(" ", ""),
                                exc.description or exc.name))

    logging.getLogger("werkzeug").setLevel(logging.WARNING if not config.get("verbose")
                                           else logging.INFO)
    return app


def _render(error):
    resp = jsonify(error.body())
    resp.status_code = error.status
    for key, value in error.headers.items():
        resp.headers[key] = value
    return resp
