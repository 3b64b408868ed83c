"""APIM certificates: uploaded PFX or Key Vault references (apimcertificates.json)."""

import copy

from flask import g, jsonify, request

from sandbox import certs, keyvault
from sandbox.errors import ArmError, validation_error
from sandbox.routes.common import (check_if_match, child_id, contract, delete_entity,
                                   entity_response, etag_response, json_body, list_response,
                                   properties_of, require_child, require_service)
from sandbox.routes.registry import APIM, arm_operation

TYPE = "Microsoft.ApiManagement/service/certificates"
COLLECTION = APIM + "/certificates"
ITEM = COLLECTION + "/{certificateId}"
WORD = "Certificate"


class RefreshFailed(Exception):
    """A forced refresh that could not read the secret (its lastStatus is already stored)."""

    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


def _sync(service, entity, force):
    """Re-read a Key Vault certificate when due (or forced); returns the current entity.

    A new secret version updates subject/thumbprint/expiry (and so the ETag). The same
    version only moves lastStatus.timeStampUtc, keeping the ETag (a choice: the content
    did not change). A failure is recorded in lastStatus and the last good values stay.
    """
    if not force and not keyvault.needs_refresh(entity):
        return entity
    body = copy.deepcopy(entity["body"])
    private = dict(entity["private"])
    kv = body["properties"]["keyVault"]
    try:
        facts, new_private, status = keyvault.load_certificate(service, kv)
    except ArmError as exc:
        private["kv_synced_at"] = g.store.now()
        kv["lastStatus"] = {"code": exc.code, "message": exc.message,
                            "timeStampUtc": keyvault.iso_utc(g.store.now())}
        failed = g.store.put(body["id"], service["body"]["id"], TYPE, body, private)
        if force:
            raise RefreshFailed(exc) from None
        return failed
    changed = new_private["kv_version"] != private.get("kv_version")
    private.update(new_private)
    body["properties"].update(facts)
    kv["lastStatus"] = status
    return g.store.put(body["id"], service["body"]["id"], TYPE, body, private,
                       keep_etag=not changed)


@arm_operation("Certificate_ListByService", "GET", COLLECTION)
def list_certificates(**p):
    service = require_service(**p)
    items = [_sync(service, e, False) for e in g.store.list(service["body"]["id"], TYPE)]
    if request.args.get("isKeyVaultRefreshFailed", "").lower() == "true":
        items = [e for e in items
                 if e["body"]["properties"].get("keyVault", {}).get("lastStatus", {})
                 .get("code", "Success") != "Success"]
    return list_response([e["body"] for e in items])


@arm_operation("Certificate_GetEntityTag", "HEAD", ITEM)
def head_certificate(certificateId, **p):
    service = require_service(**p)
    return etag_response(_sync(service, require_child(service, "certificates", certificateId,
                                                      WORD), False))


@arm_operation("Certificate_Get", "GET", ITEM)
def get_certificate(certificateId, **p):
    service = require_service(**p)
    return entity_response(_sync(service, require_child(service, "certificates",
                                                        certificateId, WORD), False))


@arm_operation("Certificate_CreateOrUpdate", "PUT", ITEM)
def put_certificate(certificateId, **p):
    service = require_service(**p)
    existing = g.store.get(child_id(service, "certificates", certificateId))
    check_if_match(existing, required=False)
    props = properties_of(json_body())
    data, password, kv = props.get("data"), props.get("password"), props.get("keyVault")
    if kv and data:
        # Not documented; the sandbox refuses the ambiguous request.
        raise validation_error("keyVault", "Specify either data (with password) or keyVault, "
                               "not both.")
    if kv:
        if not isinstance(kv, dict) or not kv.get("secretIdentifier"):
            raise validation_error("keyVault", "keyVault.secretIdentifier is required.")
        key_vault = {"secretIdentifier": kv["secretIdentifier"],
                     "identityClientId": kv.get("identityClientId")}
        facts, private, status = keyvault.load_certificate(service, key_vault)
        key_vault["lastStatus"] = status
        properties = dict(facts, keyVault=key_vault)
    else:
        try:
            facts = certs.parse_pfx(data, password)
        except certs.PfxError as exc:
            raise validation_error(exc.target, exc.message) from None
        # The PFX itself is kept privately (a gateway emulation may need it); never returned.
        private = {"pfx": data, "password": password}
        properties = facts
    body = contract(service, "certificates", certificateId, TYPE, properties)
    if existing:
        body["id"], body["name"] = existing["body"]["id"], existing["body"]["name"]
    entity = g.store.put(body["id"], service["body"]["id"], TYPE, body, private)
    return entity_response(entity, 200 if existing else 201)


@arm_operation("Certificate_Delete", "DELETE", ITEM)
def delete_certificate(certificateId, **p):
    service = require_service(**p)
    # Whether APIM refuses to delete a certificate a backend still references is not
    # documented for the REST API (the portal warns); the sandbox allows it.
    return delete_entity(g.store.get(child_id(service, "certificates", certificateId)))


@arm_operation("Certificate_RefreshSecret", "POST", ITEM + "/refreshSecret")
def refresh_certificate(certificateId, **p):
    service = require_service(**p)
    entity = require_child(service, "certificates", certificateId, WORD)
    if not entity["body"]["properties"].get("keyVault"):
        # Not documented; the sandbox's answer for refreshing an uploaded certificate.
        raise validation_error("keyVault", "The certificate is not a Key Vault reference; "
                               "there is nothing to refresh.")
    # A refresh that cannot read the secret keeps the last good certificate and records the
    # failure in keyVault.lastStatus (as the clock refresh does). What refreshSecret answers
    # then is not documented; the sandbox answers the same 400 InvalidOperation a PUT with that
    # reference gets: the caller asked for this refresh and learns at once that it failed,
    # with the cause, instead of having to compare lastStatus timestamps. The error is
    # returned, not raised, so that the recorded lastStatus is committed.
    try:
        return entity_response(_sync(service, entity, True))
    except RefreshFailed as failed:
        resp = jsonify(failed.error.body())
        resp.status_code = failed.error.status
        return resp
