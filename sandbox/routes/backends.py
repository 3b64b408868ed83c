"""APIM backends (apimbackends.json), with the certificate-reference check of the service."""

import copy
import urllib.parse

from flask import g, make_response

from sandbox.errors import validation_error
from sandbox.routes.common import (check_if_match, child_id, contract, delete_entity,
                                   entity_response, etag_response, json_body, list_response,
                                   patch_entity, properties_of, require_child,
                                   require_service)
from sandbox.routes.registry import APIM, arm_operation

TYPE = "Microsoft.ApiManagement/service/backends"
COLLECTION = APIM + "/backends"
ITEM = COLLECTION + "/{backendId}"
WORD = "Backend"
PROTOCOLS = ("http", "soap")


def _certificate_entity(service, certificate_id):
    """The certificate a backend names, given as "/certificates/<name>" or a full ARM id."""
    cid = certificate_id.strip()
    service_id = service["body"]["id"].lower()
    lowered = cid.lower()
    if lowered.startswith("/certificates/"):
        name = cid[len("/certificates/"):]
    elif lowered.startswith(service_id + "/certificates/"):
        name = cid[len(service_id) + len("/certificates/"):]
    else:
        return None
    if not name or "/" in name:
        return None
    return g.store.get(child_id(service, "certificates", name))


def _validate(service, props):
    url = props.get("url")
    if not url:
        # Spec: url is required. The wording is the sandbox's.
        raise validation_error("url", "Backend url is required.")
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if not parsed or not parsed.scheme or not (parsed.netloc or parsed.scheme == "fabric"):
        # APIM wants an absolute URL (Service Fabric backends use fabric:/app/service).
        raise validation_error("url", f"Backend url '{url}' is not a valid absolute URL.")
    if props.get("protocol") not in PROTOCOLS:
        raise validation_error("protocol",
                               f"Backend protocol must be one of {', '.join(PROTOCOLS)}.")
    creds = props.get("credentials")
    if creds is None:
        return props
    if not isinstance(creds, dict):
        raise validation_error("credentials", "credentials must be an object.")
    ids = creds.get("certificateIds")
    if ids:
        thumbprints = []
        for cid in ids:
            cert = _certificate_entity(service, cid)
            if cert is None:
                # Shape and wording from Azure/apiops#749.
                raise validation_error("credentials", f"Certificate with id '{cid}' not found.")
            thumbprints.append(cert["body"]["properties"]["thumbprint"])
        # Spec: thumbprints in `certificate` are ignored when certificateIds is given. The
        # sandbox reports the thumbprints of the named certificates there (a choice).
        creds["certificate"] = thumbprints
    return props


def _with_defaults(props):
    props = copy.deepcopy(props)
    tls = props.setdefault("tls", {}) or {}
    # Spec defaults: both TLS checks are on unless switched off.
    tls.setdefault("validateCertificateChain", True)
    tls.setdefault("validateCertificateName", True)
    props["tls"] = tls
    return props


def _store(service, backend_id, existing, props):
    body = contract(service, "backends", backend_id, TYPE, props)
    if existing:
        body["id"], body["name"] = existing["body"]["id"], existing["body"]["name"]
    return g.store.put(body["id"], service["body"]["id"], TYPE, body)


@arm_operation("Backend_ListByService", "GET", COLLECTION)
def list_backends(**p):
    service = require_service(**p)
    return list_response([e["body"] for e in g.store.list(service["body"]["id"], TYPE)])


@arm_operation("Backend_GetEntityTag", "HEAD", ITEM)
def head_backend(backendId, **p):
    service = require_service(**p)
    return etag_response(require_child(service, "backends", backendId, WORD))


@arm_operation("Backend_Get", "GET", ITEM)
def get_backend(backendId, **p):
    service = require_service(**p)
    return entity_response(require_child(service, "backends", backendId, WORD))


@arm_operation("Backend_CreateOrUpdate", "PUT", ITEM)
def put_backend(backendId, **p):
    service = require_service(**p)
    existing = g.store.get(child_id(service, "backends", backendId))
    check_if_match(existing, required=False)
    props = _validate(service, _with_defaults(properties_of(json_body())))
    return entity_response(_store(service, backendId, existing, props),
                           200 if existing else 201)


@arm_operation("Backend_Update", "PATCH", ITEM)
def patch_backend(backendId, **p):
    service = require_service(**p)
    return patch_entity(service, "backends", backendId, TYPE, WORD,
                        lambda props: _validate(service, _with_defaults(props)))


@arm_operation("Backend_Reconnect", "POST", ITEM + "/reconnect")
def reconnect_backend(backendId, **p):
    # Service Fabric reconnect: nothing to do locally; 202 as the spec says.
    service = require_service(**p)
    require_child(service, "backends", backendId, WORD)
    return make_response("", 202)


@arm_operation("Backend_Delete", "DELETE", ITEM)
def delete_backend(backendId, **p):
    service = require_service(**p)
    return delete_entity(g.store.get(child_id(service, "backends", backendId)))

