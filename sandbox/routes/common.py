"""What every APIM entity route shares: scope checks, ids, ETags, If-Match, list pages."""

import copy
import datetime

from flask import g, jsonify, make_response, request

from sandbox.errors import ArmError, entity_not_found, if_match_required, precondition_failed

APIM_TYPE = "Microsoft.ApiManagement/service"


def rg_id(subscription_id, resource_group):
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def require_resource_group(subscription_id, resource_group):
    rg = g.store.get(rg_id(subscription_id, resource_group))
    if rg is None:
        raise ArmError(404, "ResourceGroupNotFound",
                       f"Resource group '{resource_group}' could not be found.")
    return rg


def require_service(subscriptionId, resourceGroupName, serviceName, **_ignored):
    """The APIM service entity, after ARM's resource-group and resource checks."""
    rg = require_resource_group(subscriptionId, resourceGroupName)
    sid = f"{rg['body']['id']}/providers/{APIM_TYPE}/{serviceName}"
    service = g.store.get(sid)
    if service is None:
        raise ArmError(404, "ResourceNotFound",
                       f"The Resource '{APIM_TYPE}/{serviceName}' under resource group "
                       f"'{resourceGroupName}' was not found. For more details please go to "
                       "https://aka.ms/ARMResourceNotFoundFix")
    return service


def require_child(parent, segment, name, word):
    """A child entity of ``parent`` (an entity dict) or APIM's 404 for it."""
    entity = g.store.get(f"{parent['body']['id']}/{segment}/{name}")
    if entity is None:
        raise entity_not_found(word)
    return entity


def child_id(parent, segment, name):
    return f"{parent['body']['id']}/{segment}/{name}"


def contract(parent, segment, name, rtype, properties):
    """An APIM proxy-resource body; the id keeps the casing of the parent and of ``name``."""
    return {"id": child_id(parent, segment, name), "type": rtype, "name": name,
            "properties": properties}


# --- ETags ------------------------------------------------------------------------------
def quote_etag(etag):
    return f'"{etag}"'


def _normalise(tag):
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def check_if_match(entity, required):
    """Enforce If-Match: required (400 when missing), '*' or the current tag (else 412)."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if required:
            raise if_match_required()
        return
    tags = [_normalise(t) for t in header.split(",")]
    if entity is None:
        # HTTP: If-Match fails when there is no current representation, even for "*".
        raise precondition_failed()
    if "*" in tags or entity["etag"] in tags:
        return
    raise precondition_failed()


# --- Responses ---------------------------------------------------------------------------
def public_body(entity):
    return entity["body"]


def entity_response(entity, status=200):
    resp = make_response(jsonify(public_body(entity)), status)
    resp.headers["ETag"] = quote_etag(entity["etag"])
    return resp


def etag_response(entity):
    resp = make_response("", 200)
    resp.headers["ETag"] = quote_etag(entity["etag"])
    return resp


def deleted_response(existed, missing_status=204):
    # ARM convention: 200 when something was deleted, 204 when there was nothing to delete.
    # Whether APIM answers 204 or 404 for a missing child entity is not documented; the
    # specs list 200 and 204 only, so the sandbox answers 204.
    if existed:
        return make_response("", 200)
    return make_response("", missing_status)


def delete_entity(existing, missing_status=204, deleted_status=200):
    """DELETE with a required If-Match: 400 without it, 412 if stale, 200/204 otherwise."""
    if not (request.headers.get("If-Match") or "").strip():
        raise if_match_required()
    if existing is None:
        if "*" in [_normalise(t) for t in request.headers["If-Match"].split(",")]:
            return deleted_response(False, missing_status)
        # A specific tag cannot match an entity that does not exist (HTTP If-Match).
        raise precondition_failed()
    check_if_match(existing, required=True)
    g.store.delete(existing["id"])
    return make_response("", deleted_status)


def merge_patch(base, patch):
    """JSON merge of a PATCH body: objects merge, everything else replaces."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_patch(base[key], value)
        else:
            base[key] = value
    return base


def patch_entity(parent, segment, name, rtype, word, finish=None):
    """PATCH with a required If-Match: 400 without, 404 if absent, 412 if stale, else merge.

    ``finish(properties)`` validates/completes the merged properties.
    """
    if not (request.headers.get("If-Match") or "").strip():
        raise if_match_required()
    existing = g.store.get(child_id(parent, segment, name))
    if existing is None:
        raise entity_not_found(word)
    check_if_match(existing, required=True)
    props = merge_patch(copy.deepcopy(existing["body"]["properties"]),
                        properties_of(json_body()))
    if finish:
        props = finish(props)
    body = dict(existing["body"], properties=props)
    return entity_response(g.store.put(body["id"], parent["body"]["id"], rtype, body,
                                       existing["private"]))


def list_response(bodies, with_count=True):
    """A page of ``value``; honours $top/$skip. $filter is not evaluated (a simplification:
    the sandbox returns every entity of the collection)."""
    total = len(bodies)
    try:
        skip = int(request.args.get("$skip", 0))
        top = request.args.get("$top")
        top = int(top) if top is not None else None
    except ValueError:
        raise ArmError(400, "ValidationError", "$top and $skip must be integers.",
                       apim_shape=True) from None
    page = bodies[skip:] if top is None else bodies[skip:skip + top]
    result = {"value": page}
    if with_count:  # APIM collections carry a total; ARM's service list does not
        result["count"] = total
    if top is not None and skip + top < total:
        args = request.args.to_dict()
        args["$skip"] = str(skip + top)
        query = "&".join(f"{k}={v}" for k, v in args.items())
        result["nextLink"] = f"{g.base_url}{request.path}?{query}"
    return jsonify(result)


def json_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ArmError(400, "ValidationError", "The request body must be a JSON object.",
                       apim_shape=True)
    return body


def properties_of(body):
    props = body.get("properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise ArmError(400, "ValidationError", "'properties' must be a JSON object.",
                       apim_shape=True)
    return props


def json_merge_patch(target, patch):
    """RFC 7396 (the ARM RPC's PATCH): absent keeps, null deletes, objects merge, the rest
    (arrays included) replaces. Returns a new value; neither argument is changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def arm_not_found(rtype, name, resource_group):
    """ARM's 404 for a missing top-level resource."""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{rtype}/{name}' under resource group '{resource_group}' was "
                    "not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix")


def require_location(body, existing, name, resource_group):
    """ARM's checks of ``location`` on a PUT: required, and fixed once the resource exists."""
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise ArmError(400, "LocationRequired",
                       "The location property is required for this definition.")
    if existing is not None:
        old = existing["body"].get("location", "")
        if _location_key(old) != _location_key(location):
            raise ArmError(400, "InvalidResourceLocation",
                           f"The resource '{name}' already exists in location '{old}' in resource "
                           f"group '{resource_group}'. A resource with the same name cannot be "
                           f"created in location '{location}'. Please select a new resource name.")
        return old
    return location


def _location_key(location):
    return (location or "").replace(" ", "").lower()


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
