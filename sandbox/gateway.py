"""The API gateway: ``https://<service>.azure-api.localhost:<port>/<api path>/<rest>``.

Azure's gateway host is ``<service>.azure-api.net``; the sandbox answers the same requests on
its own HTTPS listener when the Host header names ``<service>.azure-api.localhost`` (every
``*.localhost`` name resolves to loopback, see tools/setup-system.sh). A request goes to the
API whose path is the longest prefix of the request path, then to that API's backend: its
service URL, or the backend entity named by ``<set-backend-service backend-id="..."/>``. The
client certificate is the one named by ``<authentication-certificate .../>``, else the
backend entity's ``credentials.certificateIds`` (as the real gateway does). The backend's
server certificate is checked against the public roots plus the service's CA certificates
unless that backend switches chain validation off, and its name unless name validation is
off. A failed handshake or check answers 500 in the shape of the real gateway's error.
"""

import http.client
import json
import logging
import re
import ssl
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from werkzeug.wrappers import Request, Response

from sandbox import gateway_tls
from sandbox.keyvault import parse_secret_identifier
from sandbox.routes.common import APIM_TYPE
from sandbox.store import Store

LOG = logging.getLogger("sandbox.gateway")
SUFFIX = "." + gateway_tls.GATEWAY_DOMAIN
# Header carrying why the gateway answered 500 (the real gateway puts it in its diagnostic
# logs, where the caller cannot see it; the sandbox's callers are its tests).
ERROR_HEADER = "X-Sandbox-Gateway-Error"
BACKEND_TIMEOUT = 30
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length"}
# APIM consumes the subscription key; the backend never sees it.
_NOT_FORWARDED = _HOP_BY_HOP | {"ocp-apim-subscription-key"}


class GatewayFailure(Exception):
    """The gateway cannot complete the call: 500 to the caller, ``cause`` in the log."""

    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


def mount(app, config):
    """Put the gateway in front of the Flask app: gateway host names never reach it."""
    app.wsgi_app = GatewayDispatcher(app.wsgi_app, config)
    return app


def _host_name(host_header):
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


class GatewayDispatcher:
    def __init__(self, wsgi_app, config):
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ, start_response):
        host = _host_name(environ.get("HTTP_HOST") or environ.get("SERVER_NAME"))
        if not gateway_tls.is_gateway_host(host):
            return self.wsgi_app(environ, start_response)
        service_name = host.rstrip(".")[:-len(SUFFIX)]
        request = Request(environ)
        store = Store.open(self.config["db_path"])
        try:
            call = GatewayCall(store, service_name, request)
            response = call.run()
            # Never the body nor headers: method, path, the API (and operation) matched.
            store.log_request(request.method, environ.get("PATH_INFO", request.path),
                              "gateway", call.label, "gateway", response.status_code, False)
        finally:
            store.close()
        return response(environ, start_response)


def _gateway_error(status, message, activity_id=None):
    # The body of the real gateway's own answers ({"statusCode", "message"[, "activityId"]}),
    # as seen in its responses; the docs do not spell it out.
    body = {"statusCode": status, "message": message}
    if activity_id:
        body["activityId"] = activity_id
    resp = Response(status=status, content_type="application/json; charset=utf-8")
    resp.set_data(json.dumps(body))
    return resp


def _segments(path):
    return [s for s in (path or "").split("/") if s]


def _template_regex(template):
    """An operation's urlTemplate ("/users/{id}", "/*", "/files/{*path}") as a regex."""
    path = template.split("?", 1)[0]
    out = []
    for part in re.split(r"(\{\*?[^}]*\}|\*)", path):
        if part == "*" or part.startswith("{*"):
            out.append(".*")
        elif part.startswith("{"):
            out.append("[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out).rstrip("/") + "/?")


def _policy_root(store, parent_id):
    entity = store.get(f"{parent_id}/policies/policy")
    if entity is None:
        return None
    try:
        return ET.fromstring(entity["body"]["properties"]["value"])
    except (ET.ParseError, KeyError):
        return None


def effective_element(roots, tag):
    """The element ``tag`` that applies, given policy roots from the most specific scope
    (operation, API, service) outwards; None when none applies.

    Simplified ``<base/>`` semantics: the most specific scope that holds the element wins,
    and a scope whose ``<inbound>`` lacks ``<base/>`` stops inheritance from the scopes
    above it. The real service evaluates the merged document in order (product scope
    included), which only differs when a scope sets the same thing twice.
    """
    for root in roots:
        if root is None:
            continue  # no policy at a scope behaves as <base/> everywhere
        found = None
        for section in ("inbound", "backend"):
            node = root.find(section)
            if node is not None:
                for element in node.iter(tag):
                    found = element  # the last one set wins
        if found is not None:
            return found
        inbound = root.find("inbound")
        if inbound is not None and inbound.find("base") is None:
            return None
    return None


class GatewayCall:
    """One request through the gateway: match, resolve the backend, forward."""

    def __init__(self, store, service_name, request):
        self.store = store
        self.service_name = service_name
        self.request = request
        self.label = None
        self.activity_id = str(uuid.uuid4())

    def run(self):
        try:
            return self._run()
        except GatewayFailure as exc:
            LOG.warning("gateway %s %s %s: %s", self.service_name, self.request.method,
                        self.request.path, exc.cause)
            resp = _gateway_error(500, "Internal server error", self.activity_id)
            resp.headers[ERROR_HEADER] = " ".join(exc.cause.split())[:1000]
            return resp

    # --- matching ------------------------------------------------------------------------
    def _service(self):
        rows = self.store.conn.execute("SELECT id FROM resources WHERE type = ? ORDER BY rowid",
                                       (APIM_TYPE.lower(),)).fetchall()
        for row in rows:
            if row["id"].rsplit("/", 1)[-1] == self.service_name:
                return self.store.get(row["id"])
        return None

    def _api(self, service, segments):
        best, best_len = None, -1
        for api in self.store.list(service["body"]["id"], "Microsoft.ApiManagement/service/apis"):
            props = api["body"].get("properties") or {}
            if props.get("isCurrent") is False:
                continue
            prefix = [s.lower() for s in _segments(props.get("path"))]
            if [s.lower() for s in segments[:len(prefix)]] == prefix and len(prefix) > best_len:
                best, best_len = api, len(prefix)
        return best, max(best_len, 0)

    def _operation(self, api, rest):
        """(matched operation or None, found): an API without operations forwards every
        request (the sandbox's choice: APIs made only to test backends need none)."""
        ops = self.store.list(api["body"]["id"], "Microsoft.ApiManagement/service/apis/operations")
        if not ops:
            return None, True
        for op in ops:
            props = op["body"]["properties"]
            if props.get("method") not in (self.request.method.upper(), "*"):
                continue
            if _template_regex(props.get("urlTemplate") or "/").fullmatch(rest or "/"):
                return op, True
        return None, False

    def _run(self):
        service = self._service()
        if service is None:
            # Azure would not resolve the host at all; the sandbox answers 404 (a choice).
            return _gateway_error(404, "Resource not found")
        raw_path = urllib.parse.urlsplit(self.request.environ.get("RAW_URI")
                                         or self.request.environ.get("REQUEST_URI")
                                         or self.request.path).path
        segments = _segments(raw_path)
        api, used = self._api(service, segments)
        if api is None:
            return _gateway_error(404, "Resource not found")
        rest = "".join("/" + s for s in segments[used:])
        if raw_path.endswith("/") and rest:
            rest += "/"
        operation, found = self._operation(api, rest)
        self.label = api["body"]["name"] + (f"/{operation['body']['name']}" if operation else "")
        if not found:
            return _gateway_error(404, "Resource not found")
        # The sandbox's APIs are treated as not requiring subscriptions: no key is checked,
        # whatever subscriptionRequired says (the sandbox has no subscriptions to check).
        roots = ([_policy_root(self.store, operation["body"]["id"])] if operation else []) + [
            _policy_root(self.store, api["body"]["id"]),
            _policy_root(self.store, service["body"]["id"])]
        url, backend = self._target(service, api, roots)
        query = self.request.environ.get("QUERY_STRING")
        target = url.rstrip("/") + rest + (f"?{query}" if query else "")
        client_pfx = self._client_certificate(service, backend, roots)
        return self._forward(service, target, backend, client_pfx)

    # --- backend and certificate -----------------------------------------------------------
    def _backend(self, service, backend_id):
        return self.store.get(f"{service['body']['id']}/backends/{backend_id}")

    def _backend_by_url(self, service, url):
        # A backend entity with the API's URL lends its settings (credentials, tls) to calls
        # that do not name it, as public reports of the real gateway describe; a choice where
        # several match: the first created.
        wanted = url.rstrip("/").lower()
        for backend in self.store.list(service["body"]["id"],
                                       "Microsoft.ApiManagement/service/backends"):
            if (backend["body"]["properties"].get("url") or "").rstrip("/").lower() == wanted:
                return backend
        return None

    def _target(self, service, api, roots):
        element = effective_element(roots, "set-backend-service")
        if element is not None and element.get("backend-id"):
            backend = self._backend(service, element.get("backend-id"))
            if backend is None:
                raise GatewayFailure(f"set-backend-service: backend '{element.get('backend-id')}'"
                                     " not found")
            return backend["body"]["properties"]["url"], backend
        if element is not None and element.get("base-url"):
            url = element.get("base-url")
        else:
            url = (api["body"].get("properties") or {}).get("serviceUrl")
        if not url:
            raise GatewayFailure("the API has no service URL and no set-backend-service policy")
        return url, self._backend_by_url(service, url)

    def _certificate(self, service, certificate_id=None, thumbprint=None):
        if certificate_id:
            return self.store.get(f"{service['body']['id']}/certificates/{certificate_id}")
        for cert in self.store.list(service["body"]["id"],
                                    "Microsoft.ApiManagement/service/certificates"):
            if (cert["body"]["properties"].get("thumbprint") or "").upper() == thumbprint.upper():
                return cert
        return None

    def _client_certificate(self, service, backend, roots):
        """(base64 PFX, password) of the client certificate to present, or None."""
        element = effective_element(roots, "authentication-certificate")
        if element is not None:
            cid, thumb = element.get("certificate-id"), element.get("thumbprint")
            if not cid and not thumb:
                # body="@(...)" needs policy expressions, which the sandbox does not evaluate.
                raise GatewayFailure("authentication-certificate: only certificate-id and "
                                     "thumbprint are supported by the sandbox")
            cert = self._certificate(service, cid, thumb)
            if cert is None:
                raise GatewayFailure(f"authentication-certificate: certificate "
                                     f"'{cid or thumb}' not found")
            return self._pfx(cert)
        creds = (backend["body"]["properties"].get("credentials") or {}) if backend else {}
        # Spec: thumbprints in `certificate` are ignored when certificateIds is given.
        ids, thumbs = creds.get("certificateIds") or [], creds.get("certificate") or []
        if ids:
            cert = self._certificate(service, ids[0].rstrip("/").rsplit("/", 1)[-1])
        elif thumbs:
            cert = self._certificate(service, thumbprint=thumbs[0])
        else:
            return None
        if cert is None:
            raise GatewayFailure(f"backend credentials: certificate '{(ids or thumbs)[0]}' "
                                 "not found")
        return self._pfx(cert)

    def _pfx(self, cert):
        private = cert["private"]
        if private.get("pfx"):
            return private["pfx"], private.get("password")
        kv = cert["body"]["properties"].get("keyVault")
        if kv:
            # The version the service last synced, as the real gateway keeps using it.
            ref = parse_secret_identifier(kv["secretIdentifier"])
            version = private.get("kv_version") or ref["version"]
            for item in self.store.secret_versions(ref["vault"], ref["name"]):
                if item["version"] == version:
                    return item["value"], None  # Key Vault exports unprotected PKCS#12
        raise GatewayFailure(f"certificate '{cert['body']['name']}' has no key material the "
                             "gateway can read")

    # --- forwarding ------------------------------------------------------------------------
    def _forward(self, service, target, backend, client_pfx):
        parts = urllib.parse.urlsplit(target)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {k: v for k, v in self.request.headers.items()
                   if k.lower() not in _NOT_FORWARDED}
        forwarded = self.request.remote_addr or ""
        if headers.get("X-Forwarded-For"):
            forwarded = f"{headers['X-Forwarded-For']}, {forwarded}"
        headers["X-Forwarded-For"] = forwarded
        body = self.request.get_data() or None
        try:
            if parts.scheme == "http":
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80,
                                                  timeout=BACKEND_TIMEOUT)
            elif parts.scheme == "https":
                tls = backend["body"]["properties"].get("tls") if backend else None
                try:
                    ctx, manual_name = gateway_tls.client_context(service, tls, client_pfx)
                except (ValueError, OSError) as exc:
                    raise GatewayFailure(f"client certificate could not be loaded: {exc}") from None
                conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                                   context=ctx, timeout=BACKEND_TIMEOUT)
                conn.connect()
                if manual_name:
                    gateway_tls.check_name(conn.sock.getpeercert(binary_form=True),
                                           parts.hostname)
            else:
                raise GatewayFailure(f"backend URL scheme '{parts.scheme}' is not supported")
            try:
                conn.request(self.request.method, path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
        except gateway_tls.BackendTlsError as exc:
            raise GatewayFailure(str(exc)) from None
        except ssl.SSLCertVerificationError as exc:
            raise GatewayFailure(f"certificate verify failed: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            raise GatewayFailure(f"TLS handshake with the backend failed: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise GatewayFailure(f"backend connection failed: {exc!r}") from None
        resp = Response(data, status=answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                resp.headers.add(key, value)
        return resp

