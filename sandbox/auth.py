"""Cloud metadata, the Azure AD v2 endpoints MSAL uses, and bearer-token checks for ARM.

Tokens are HS256 JWTs signed with a key persisted in the state. They are issued and checked
against real time, not the sandbox clock: advancing the clock (to trigger Key Vault refresh)
must not expire the tokens azure-identity has cached, which it judges by real time.
"""

import base64
import datetime
import hashlib
import hmac
import json
import time
import uuid

from flask import Blueprint, current_app, jsonify, request

from sandbox.errors import ArmError

bp = Blueprint("auth", __name__)

TOKEN_LIFETIME = 3599


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims, key):
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    sig = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


def verify(token, key):
    """Claims of a token this sandbox signed, or None if it is not one."""
    try:
        header, payload, sig = token.split(".")
        expected = hmac.new(key.encode(), f"{header}.{payload}".encode("ascii"),
                            hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(sig)):
            return None
        return json.loads(_b64url_decode(payload))
    except (ValueError, TypeError):
        return None


def _cfg():
    return current_app.config["SANDBOX"]


def audiences():
    """Resources the sandbox's tenant knows: ARM (with and without slash) and Key Vault."""
    url = _cfg()["url"]
    return {url: url, url + "/": url + "/", _cfg()["vault_resource"]: _cfg()["vault_resource"]}


# ---------------------------------------------------------------------------------------
# Metadata
@bp.get("/metadata/endpoints")
def metadata():
    cfg = _cfg()
    url = cfg["url"]
    # Array form, as Azure answers for api-version=2022-09-01 (fields the SDKs read).
    return jsonify([{
        "name": "AzureSandbox",
        "portal": url,
        "resourceManager": url + "/",
        "authentication": {
            "loginEndpoint": url,
            "audiences": [url + "/"],
            "tenant": cfg["tenant"],
            "identityProvider": "AAD",
        },
        "suffixes": {"keyVaultDns": f"vault.localhost:{cfg['port']}"},
    }])


# ---------------------------------------------------------------------------------------
# Azure AD v2
def _aad_error(status, error, code, description):
    now = datetime.datetime.now(datetime.timezone.utc)
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    text = (f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: "
            f"{correlation_id} Timestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}Z")
    resp = jsonify({
        "error": error,
        "error_description": text,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{_cfg()['url']}/error?code={code}",
    })
    resp.status_code = status
    return resp


def _unknown_tenant(tenant):
    return _aad_error(400, "invalid_request", 90002,
                      f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                      "tenant ID and are signing into the correct cloud.")


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant):
    cfg = _cfg()
    if tenant.lower() != cfg["tenant"].lower():
        return _unknown_tenant(tenant)
    base = f"{cfg['url']}/{cfg['tenant']}"
    return jsonify({
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "sandbox.localhost",
        "request_uri_parameter_supported": False,
    })


@bp.post("/<tenant>/oauth2/v2.0/token")
def token(tenant):
    cfg = _cfg()
    if tenant.lower() != cfg["tenant"].lower():
        return _unknown_tenant(tenant)
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _aad_error(400, "unsupported_grant_type", 70003,
                          "The app requested an unsupported grant type "
                          f"'{form.get('grant_type')}'.")
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = client_id or request.authorization.username
        secret = secret or request.authorization.password
    if (client_id or "").lower() != cfg["client_id"].lower():
        # Azure AD answers an unknown application with 400 unauthorized_client (not 401).
        return _aad_error(400, "unauthorized_client", 700016,
                          f"Application with identifier '{client_id}' was not found in the "
                          f"directory '{cfg['tenant']}'. This can happen if the application has "
                          "not been installed by the administrator of the tenant or consented "
                          "to by any user in the tenant. You may have sent your authentication "
                          "request to the wrong tenant.")
    if not secret or not hmac.compare_digest(secret.encode(), cfg["secret"].encode()):
        return _aad_error(401, "invalid_client", 7000215,
                          "Invalid client secret provided. Ensure the secret being sent in the "
                          "request is the client secret value, not the client secret ID, for a "
                          f"secret added to app '{cfg['client_id']}'.")
    scopes = (form.get("scope") or "").split()
    resource = None
    for scope in scopes:
        if scope.endswith("/.default"):
            resource = scope[: -len("/.default")]
            break
    if resource is None:
        return _aad_error(400, "invalid_scope", 1002012,
                          f"The provided value for scope {form.get('scope')} is not valid. "
                          "Client credential flows must have a scope value with /.default "
                          "suffixed to the resource identifier (application ID URI).")
    known = audiences()
    if resource not in known:
        return _aad_error(400, "invalid_resource", 500011,
                          f"The resource principal named {resource} was not found in the tenant "
                          f"named {cfg['tenant']}. This can happen if the application has not "
                          "been installed by the administrator of the tenant or consented to by "
                          "any user in the tenant. You might have sent your authentication "
                          "request to the wrong tenant.")
    now = int(time.time())
    claims = {
        "aud": resource,
        "iss": f"{cfg['url']}/{cfg['tenant']}/",
        "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
        "tid": cfg["tenant"],
        "appid": cfg["client_id"], "azp": cfg["client_id"],
        "oid": cfg["client_object_id"], "sub": cfg["client_object_id"],
        "idtyp": "app", "ver": "1.0",
    }
    return jsonify({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "ext_expires_in": TOKEN_LIFETIME,
        "access_token": sign(claims, cfg["token_key"]),
    })


# ---------------------------------------------------------------------------------------
# ARM bearer check
def _auth_failed(code, message, description):
    cfg = _cfg()
    challenge = (f'Bearer authorization_uri="{cfg["url"]}/{cfg["tenant"]}", '
                 f'error="invalid_token", error_description="{description}"')
    return ArmError(401, code, message, headers={"WWW-Authenticate": challenge})


def require_arm_token():
    """Raise ArmError(401) unless the request carries a valid ARM token; return its claims."""
    cfg = _cfg()
    header = request.headers.get("Authorization")
    if not header:
        raise _auth_failed("AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is missing.",
                           "The authentication failed because of missing 'Authorization' "
                           "header.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _auth_failed("AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an "
                           "invalid format.",
                           "The authentication failed because of invalid 'Authorization' "
                           "header format.")
    claims = verify(token.strip(), cfg["token_key"])
    if claims is None or claims.get("tid") != cfg["tenant"]:
        raise _auth_failed("InvalidAuthenticationToken", "The access token is invalid.",
                           "The access token is invalid.")
    url = cfg["url"]
    if claims.get("aud") not in (url, url + "/"):
        raise _auth_failed(
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource "
            f"'{claims.get('aud')}'. It should exactly match with one of the allowed audiences "
            f"'{url}/','{url}'.",
            "The access token has been obtained for wrong audience or resource.")
    now = time.time()
    if claims.get("exp", 0) < now:
        expired = datetime.datetime.fromtimestamp(claims.get("exp", 0), datetime.timezone.utc)
        current = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        raise _auth_failed(
            "ExpiredAuthenticationToken",
            f"The access token expiry UTC time '{expired:%m/%d/%Y %H:%M:%S}' is earlier than "
            f"current UTC time '{current:%m/%d/%Y %H:%M:%S}'.",
            "The access token has expired.")
    return claims
