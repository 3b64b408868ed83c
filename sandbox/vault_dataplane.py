"""Key Vault data plane on https://<vault>.vault.localhost:<port> (certificates, secrets).

Requests whose Host is <vault>.vault.localhost never reach the ARM app: a WSGI dispatcher hands
them to a Flask app of their own. Each request goes, as on Key Vault: api-version, bearer token
(or the 401 challenge), firewall (networkAcls), then permission (access policies, or RBAC when
enableRbacAuthorization is true). Answers use Key Vault's error shape
``{"error": {"code", "message"[, "innererror": {"code"}]}}``.

Importing a certificate creates a certificate version and the secret (and, by id, the key) of
the same version; the secret holds the PFX without password (or PEM when the policy asks for
application/x-pem-file), as Key Vault does.
"""

import base64
import re
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox import access
from sandbox.auth import verify
from sandbox.store import Store

SUFFIX = ".vault.localhost"
# The versions azure-keyvault-* 4.12 sends (2026-04-01, the data-plane spec present) and the
# numbered versions older clients send; others get Key Vault's BadParameter answer.
API_VERSIONS = ("7.4", "7.5", "7.6", "2025-07-01", "2026-04-01")
RECOVERY = {"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
PKCS12, PEM = "application/x-pkcs12", "application/x-pem-file"
_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")


class KeyVaultError(Exception):
    def __init__(self, status, code, message, inner=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.inner, self.headers = inner, headers or {}

    def response(self):
        error = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        resp = jsonify({"error": error})
        resp.status_code = self.status
        for key, value in self.headers.items():
            resp.headers[key] = value
        return resp


def _host_name(host_header):
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def vault_name_of_host(host_header):
    host = _host_name(host_header).rstrip(".")
    if host.endswith(SUFFIX) and "." not in host[:-len(SUFFIX)]:
        return host[:-len(SUFFIX)] or None
    return None


class VaultDispatcher:
    def __init__(self, wsgi_app, dataplane_app):
        self.wsgi_app = wsgi_app
        self.dataplane_app = dataplane_app

    def __call__(self, environ, start_response):
        if vault_name_of_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME")):
            return self.dataplane_app(environ, start_response)
        return self.wsgi_app(environ, start_response)


def mount(app, config):
    """Put the data plane in front of the ARM app: vault host names never reach its routes."""
    app.wsgi_app = VaultDispatcher(app.wsgi_app, create_dataplane_app(config))
    return app


# --- the app -----------------------------------------------------------------------------

OPERATIONS = []  # (operationId, method, spec path template), for the conformance suite
_VIEWS = {}


def operation(operation_id, method, template, rules):
    def deco(fn):
        OPERATIONS.append((operation_id, method, template))
        _VIEWS[operation_id] = (method, rules, fn)
        return fn
    return deco


def create_dataplane_app(config):
    app = Flask("sandbox-keyvault")
    app.config["SANDBOX"] = config
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    for operation_id, (method, rules, fn) in _VIEWS.items():
        for rule in rules:
            app.add_url_rule(rule, endpoint=f"{operation_id} {rule}", methods=[method],
                             view_func=_guarded(operation_id, fn))

    @app.before_request
    def open_store():
        g.store = Store.open(config["db_path"])
        g.settings = g.store.settings()
        g.config = config
        g.operation = None

    @app.after_request
    def log(response):
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        if request.headers.get("x-ms-client-request-id"):
            response.headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
        store = g.get("store")
        if store is not None:
            # Listed with kind "keyvault", never counted (counts cover ARM). Faults do not apply.
            store.log_request(request.method, request.path, "keyvault", g.get("operation"),
                              "keyvault", response.status_code, False)
        return response

    @app.teardown_request
    def close_store(_exc):
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.errorhandler(KeyVaultError)
    def kv_error(exc):
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc):
        # Key Vault's answer for a path it does not serve (wording is Key Vault's usual one).
        if exc.code in (404, 405):
            return KeyVaultError(exc.code, "BadParameter" if exc.code == 404 else
                                 "MethodNotAllowed", "The request URI is not valid or the "
                                 "operation is not emulated by the sandbox.").response()
        return KeyVaultError(exc.code or 500, exc.name.replace(" ", ""), exc.description
                             or exc.name).response()

    return app


def _guarded(operation_id, fn):
    def view(**params):
        g.operation = operation_id
        vault = _vault()
        _check_api_version()
        claims = _authenticate(vault)
        _check_firewall(vault, claims)
        with g.store.transaction():
            return fn(vault, claims, **params)
    view.__name__ = f"kv_{operation_id}"
    return view


# --- the checks --------------------------------------------------------------------------

def _vault():
    name = vault_name_of_host(request.host)
    row = g.store.conn.execute("SELECT id FROM resources WHERE type = ? AND id LIKE ?",
                               (access.KEYVAULT_TYPE.lower(), f"%/vaults/{name}")).fetchone()
    if row is None:
        # On Azure the host name of a vault that does not exist does not resolve; here every
        # *.localhost name does, so the sandbox answers 404 (its choice of code and wording).
        raise KeyVaultError(404, "VaultNotFound", f"The vault '{name}' does not exist.")
    return g.store.get(row["id"])


def _check_api_version():
    given = request.args.get("api-version")
    if not given:
        raise KeyVaultError(400, "BadParameter", "The api-version query parameter is missing.")
    if given not in API_VERSIONS:
        raise KeyVaultError(400, "BadParameter",
                            f"The specified version ({given}) is not recognized. Consider using "
                            f"the latest supported version ({API_VERSIONS[-1]}).")


def _challenge(vault):
    cfg = g.config
    tenant = vault["body"]["properties"]["tenantId"]
    return {"WWW-Authenticate": f'Bearer authorization="{cfg["url"]}/{tenant}", '
                                f'resource="{cfg["vault_resource"]}"'}


def _authenticate(vault):
    header = request.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if not header:
        raise KeyVaultError(401, "Unauthorized",
                            "AKV10000: Request is missing a Bearer or PoP token.",
                            headers=_challenge(vault))
    claims = verify(token.strip(), g.config["token_key"]) if scheme.lower() == "bearer" else None
    if claims is None:
        # Wording is the sandbox's: Key Vault's AKV1xxxx texts vary with the defect.
        raise KeyVaultError(401, "Unauthorized", "AKV10000: The bearer token could not be "
                            "validated.", headers=_challenge(vault))
    if claims.get("aud") not in (g.config["vault_resource"], g.config["vault_resource"] + "/"):
        raise KeyVaultError(401, "Unauthorized",
                            f"AKV10022: Invalid audience. Expected {g.config['vault_resource']}"
                            f", found: {claims.get('aud')}.", headers=_challenge(vault))
    if (claims.get("tid") or "").lower() != vault["body"]["properties"]["tenantId"].lower():
        raise KeyVaultError(401, "Unauthorized", "AKV10032: Invalid issuer. Expected one of "
                            f"https://sts.windows.net/{vault['body']['properties']['tenantId']}/"
                            f", found {claims.get('iss')}.", headers=_challenge(vault))
    if claims.get("exp", 0) < time.time():
        raise KeyVaultError(401, "Unauthorized", "AKV10022: The token has expired.",
                            headers=_challenge(vault))
    return claims


def _caller(claims):
    return f"appid={claims.get('appid')};oid={claims.get('oid')};iss={claims.get('iss')}"


def _vault_label(vault):
    return f"{vault['body']['name']};location={vault['body']['location']}"


def _check_firewall(vault, claims):
    address = request.remote_addr
    if access.address_allowed(vault, address):
        return
    # Key Vault's answer (SERVICE-BEHAVIOUR.md). The control node is never a trusted service,
    # so bypass: AzureServices does not help it.
    raise KeyVaultError(403, "Forbidden",
                        "Client address is not authorized and caller is not a trusted service."
                        f"\r\nClient address: {address}\r\nCaller: {_caller(claims)}\r\n"
                        f"Vault: {_vault_label(vault)}", inner="ForbiddenByFirewall")


def _authorize(vault, claims, op, item_path):
    category, permission, action = op
    resource = f"{vault['body']['id']}/{item_path}"
    if access.vault_allows(vault, claims.get("oid"), claims.get("tid"), op, resource):
        return
    if access.uses_rbac(vault):
        raise KeyVaultError(
            403, "Forbidden",
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, "
            "deny assignments or role definitions were changed recently, please observe "
            f"propagation time.\r\nCaller: {_caller(claims)}\r\nAction: '{action}'\r\n"
            f"Resource: '{resource.lower()}'\r\nAssignment: (not found)\r\n"
            "DenyAssignmentId: null\r\nDecisionReason: null \r\n"
            f"Vault: {_vault_label(vault)}\r\n", inner="ForbiddenByRbac")
    raise KeyVaultError(
        403, "Forbidden",
        f"The user, group or application '{_caller(claims)}' does not have {category} "
        f"{permission} permission on key vault '{_vault_label(vault)}'. For help resolving "
        "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
        inner="AccessDenied")


# --- bodies ------------------------------------------------------------------------------

def _base(vault):
    return vault["body"]["properties"]["vaultUri"].rstrip("/")


def _unix(ts):
    return int(ts)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _cert_attributes(cert, created):
    return dict({"enabled": True,
                 "nbf": int(cert.not_valid_before_utc.timestamp()),
                 "exp": int(cert.not_valid_after_utc.timestamp()),
                 "created": _unix(created), "updated": _unix(created)}, **RECOVERY)


def _certificate_bundle(vault, row, with_policy=True):
    der = base64.b64decode(row["cer"])
    cert = x509.load_der_x509_certificate(der)
    base = _base(vault)
    content_type = row["policy"].get("secret_props", {}).get("contentType", PKCS12)
    bundle = {"id": f"{base}/certificates/{row['name']}/{row['version']}",
              "kid": f"{base}/keys/{row['name']}/{row['version']}",
              "sid": f"{base}/secrets/{row['name']}/{row['version']}",
              "x5t": _b64url(_sha1(der)),
              "cer": row["cer"], "attributes": _cert_attributes(cert, row["created"]),
              "tags": row["tags"], "contentType": content_type}
    if with_policy:
        bundle["policy"] = dict(row["policy"], id=f"{base}/certificates/{row['name']}/policy")
    return bundle


def _sha1(data):
    digest = hashes.Hash(hashes.SHA1())
    digest.update(data)
    return digest.finalize()


def _certificate_item(vault, row, versioned):
    bundle = _certificate_bundle(vault, row, with_policy=False)
    item_id = bundle["id"] if versioned else f"{_base(vault)}/certificates/{row['name']}"
    return {"id": item_id, "attributes": bundle["attributes"], "tags": row["tags"],
            "x5t": bundle["x5t"]}


def _certificate_of_secret(vault, name, version):
    return next((c for c in g.store.certificate_versions(vault["body"]["name"], name)
                 if c["version"] == version), None)


def _secret_attributes(vault, row):
    attrs = dict({"enabled": True, "created": _unix(row["created"]),
                  "updated": _unix(row["created"])}, **RECOVERY)
    cert_row = _certificate_of_secret(vault, row["name"], row["version"])
    if cert_row:
        cert = x509.load_der_x509_certificate(base64.b64decode(cert_row["cer"]))
        attrs["nbf"] = int(cert.not_valid_before_utc.timestamp())
        attrs["exp"] = int(cert.not_valid_after_utc.timestamp())
    return attrs, cert_row


def _secret_bundle(vault, row, with_value=True):
    base = _base(vault)
    attrs, cert_row = _secret_attributes(vault, row)
    bundle = {"id": f"{base}/secrets/{row['name']}/{row['version']}",
              "attributes": attrs, "tags": {}}
    if with_value:
        bundle["value"] = row["value"]
    if row["content_type"]:
        bundle["contentType"] = row["content_type"]
    if cert_row:  # the secret backing a certificate
        bundle["kid"] = f"{base}/keys/{row['name']}/{row['version']}"
        bundle["managed"] = True
    return bundle


def _not_found(kind, name, version=None):
    # Key Vault's wording ("A certificate with (name/id) x was not found in this key vault...").
    code = "CertificateNotFound" if kind == "certificate" else "SecretNotFound"
    what = f"{name}/{version}" if version else name
    return KeyVaultError(404, code,
                         f"A {kind} with (name/id) {what} was not found in this key vault. If "
                         f"you recently deleted this {kind} you may be able to recover it "
                         f"using the correct recovery command. For help resolving this issue, "
                         f"please see https://go.microsoft.com/fwlink/?linkid=2125182")


def _check_name(name):
    if not _NAME.match(name or ""):
        raise KeyVaultError(400, "BadParameter",
                            f"The request URI contains an invalid name: {name}")


# --- certificates ------------------------------------------------------------------------

def _derived_policy(cert, key, requested, created):
    """The policy Key Vault records for an imported certificate: key and X.509 facts of the
    certificate, the requested secret content type, issuer Unknown, the default lifetime
    action (email contacts at 80 %)."""
    if isinstance(key, rsa.RSAPrivateKey):
        key_props = {"exportable": True, "kty": "RSA", "key_size": key.key_size,
                     "reuse_key": False}
    else:
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
                 "secp256k1": "P-256K"}.get(key.curve.name, "P-256")
        key_props = {"exportable": True, "kty": "EC", "key_size": key.curve.key_size,
                     "reuse_key": False, "crv": curve}
    months = max(1, round((cert.not_valid_after_utc - cert.not_valid_before_utc).days / 30.44))
    x509_props = {"subject": cert.subject.rfc4514_string().replace(",", ", "),
                  "validity_months": months}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        x509_props["sans"] = {"dns_names": san.get_values_for_type(x509.DNSName)}
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        x509_props["ekus"] = [oid.dotted_string for oid in eku]
    except x509.ExtensionNotFound:
        pass
    content_type = ((requested or {}).get("secret_props") or {}).get("contentType") or PKCS12
    return {"key_props": key_props, "secret_props": {"contentType": content_type},
            "x509_props": x509_props,
            "lifetime_actions": [{"trigger": {"lifetime_percentage": 80},
                                  "action": {"action_type": "EmailContacts"}}],
            "issuer": {"name": "Unknown"},
            "attributes": {"enabled": True, "created": _unix(created),
                           "updated": _unix(created)}}


def _open_import(value, password):
    unreadable = KeyVaultError(400, "BadParameter",
                               "The specified PKCS#12 X.509 certificate content can not be "
                               "read. Please check if certificate is in valid PKCS#12 format.")
    try:
        raw = base64.b64decode(value or "", validate=True)
    except ValueError:
        raise unreadable from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            raw, password.encode("utf-8") if password else None)
    except ValueError:
        try:  # PEM (certificate and private key) is accepted too
            cert = x509.load_pem_x509_certificate(raw)
            key = serialization.load_pem_private_key(raw, password.encode() if password else None)
            extra = []
        except ValueError:
            raise unreadable from None
    if cert is None:
        raise unreadable
    if key is None or not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyVaultError(400, "BadParameter", "Private key is not specified in the "
                            "specified X.509 certificate content. Please specify private key "
                            "in the X.509 certificate content.")
    return key, cert, list(extra or [])


@operation("ImportCertificate", "POST", "/certificates/{certificate-name}/import",
           ["/certificates/<name>/import"])
def import_certificate(vault, claims, name):
    _authorize(vault, claims, access.CERTIFICATES_IMPORT, f"certificates/{name}")
    _check_name(name)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body.get("value"):
        raise KeyVaultError(400, "BadParameter", "Property 'value' is required.")
    key, cert, chain = _open_import(body["value"], body.get("pwd"))
    created = g.store.now()
    policy = _derived_policy(cert, key, body.get("policy"), created)
    content_type = policy["secret_props"]["contentType"]
    if content_type == PEM:
        secret_value = (key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
                        + b"".join(c.public_bytes(serialization.Encoding.PEM)
                                   for c in [cert] + chain)).decode("ascii")
    else:
        secret_value = base64.b64encode(pkcs12.serialize_key_and_certificates(
            None, key, cert, chain or None, serialization.NoEncryption())).decode("ascii")
    existing = g.store.certificate_versions(vault["body"]["name"], name)
    stored_name = existing[0]["name"] if existing else name
    version = uuid.uuid4().hex
    g.store.add_secret(vault["body"]["name"], stored_name, secret_value, content_type, version)
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
    g.store.add_certificate(vault["body"]["name"], stored_name, version, der, policy,
                            body.get("tags") or {})
    row = g.store.certificate_versions(vault["body"]["name"], name)[0]
    return jsonify(_certificate_bundle(vault, row))


def _certificate_row(vault, name, version):
    rows = g.store.certificate_versions(vault["body"]["name"], name)
    if version:
        rows = [r for r in rows if r["version"].lower() == version.lower()]
    if not rows:
        raise _not_found("certificate", name, version)
    return rows[0]


@operation("GetCertificate", "GET", "/certificates/{certificate-name}/{certificate-version}",
           ["/certificates/<name>/", "/certificates/<name>/<version>"])
def get_certificate(vault, claims, name, version=None):
    _authorize(vault, claims, access.CERTIFICATES_GET, f"certificates/{name}")
    return jsonify(_certificate_bundle(vault, _certificate_row(vault, name, version)))


@operation("GetCertificateVersions", "GET", "/certificates/{certificate-name}/versions",
           ["/certificates/<name>/versions"])
def certificate_versions(vault, claims, name):
    _authorize(vault, claims, access.CERTIFICATES_LIST, f"certificates/{name}")
    rows = g.store.certificate_versions(vault["body"]["name"], name)
    return jsonify({"value": [_certificate_item(vault, r, True) for r in rows]})


@operation("GetCertificatePolicy", "GET", "/certificates/{certificate-name}/policy",
           ["/certificates/<name>/policy"])
def certificate_policy(vault, claims, name):
    _authorize(vault, claims, access.CERTIFICATES_GET, f"certificates/{name}")
    row = _certificate_row(vault, name, None)
    return jsonify(dict(row["policy"], id=f"{_base(vault)}/certificates/{row['name']}/policy"))


@operation("GetCertificates", "GET", "/certificates", ["/certificates"])
def list_certificates(vault, claims):
    _authorize(vault, claims, access.CERTIFICATES_LIST, "certificates")
    names = g.store.all_certificate_names(vault["body"]["name"])
    return jsonify({"value": [_certificate_item(vault, _certificate_row(vault, n, None), False)
                              for n in names]})


# --- secrets -----------------------------------------------------------------------------

def _secret_row(vault, name, version):
    rows = g.store.secret_versions(vault["body"]["name"], name)
    if version:
        rows = [r for r in rows if r["version"].lower() == version.lower()]
    if not rows:
        raise _not_found("secret", name, version)
    return rows[0]


@operation("GetSecret", "GET", "/secrets/{secret-name}/{secret-version}",
           ["/secrets/<name>/", "/secrets/<name>/<version>"])
def get_secret(vault, claims, name, version=None):
    _authorize(vault, claims, access.SECRETS_GET, f"secrets/{name}")
    return jsonify(_secret_bundle(vault, _secret_row(vault, name, version)))


def _secret_item(vault, row, versioned):
    bundle = _secret_bundle(vault, row, with_value=False)
    item = {"id": bundle["id"] if versioned else f"{_base(vault)}/secrets/{row['name']}",
            "attributes": bundle["attributes"], "tags": {}}
    if row["content_type"]:
        item["contentType"] = row["content_type"]
    if bundle.get("managed"):
        item["managed"] = True
    return item


@operation("GetSecretVersions", "GET", "/secrets/{secret-name}/versions",
           ["/secrets/<name>/versions"])
def secret_versions(vault, claims, name):
    _authorize(vault, claims, access.SECRETS_LIST, f"secrets/{name}")
    rows = g.store.secret_versions(vault["body"]["name"], name)
    return jsonify({"value": [_secret_item(vault, r, True) for r in rows]})


@operation("GetSecrets", "GET", "/secrets", ["/secrets"])
def list_secrets(vault, claims):
    _authorize(vault, claims, access.SECRETS_LIST, "secrets")
    names = g.store.all_secret_names(vault["body"]["name"])
    return jsonify({"value": [_secret_item(vault, _secret_row(vault, n, None), False)
                              for n in names]})
