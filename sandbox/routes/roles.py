"""Azure RBAC role assignments (authorization-RoleAssignmentsCalls.json, 2022-04-01).

A scope is a subscription, a resource group or a resource the sandbox holds (a vault, for
example). Principals must exist in the sandbox's directory (see sandbox.principals).
"""

import re

from flask import g, jsonify, make_response, request

from sandbox import access, principals
from sandbox.errors import ArmError
from sandbox.routes.common import arm_not_found, iso_now, json_body, list_response
from sandbox.routes.registry import arm_operation

API_VERSION = "2022-04-01"
COLLECTION = "/{scope}/providers/Microsoft.Authorization/roleAssignments"
ITEM = COLLECTION + "/{roleAssignmentName}"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")
_ROLE_DEFINITION = re.compile(r"^(/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/"
                              r"roleDefinitions/([^/]+)$", re.IGNORECASE)


def resolve_scope(scope):
    """The canonical id of a scope path (as the sandbox stores it), or ARM's 404."""
    scope = "/" + scope.strip("/")
    sub = g.settings["subscription_id"]
    segs = scope.split("/")
    if len(segs) == 3:
        return f"/subscriptions/{sub}"
    entity = g.store.get(scope)
    if entity is None:
        if len(segs) == 5:
            raise ArmError(404, "ResourceGroupNotFound",
                           f"Resource group '{segs[4]}' could not be found.")
        # Whether ARM accepts an assignment at a scope that does not exist is not documented;
        # the sandbox answers as for any missing parent resource.
        raise arm_not_found("/".join(segs[6:-1]) if len(segs) > 7 else scope, segs[-1],
                            segs[4] if len(segs) > 4 else "")
    return entity["body"]["id"]


def assignment_id(scope_id, name):
    return f"{scope_id}/providers/{access.ROLE_ASSIGNMENT_TYPE}/{name}"


def new_assignment(scope_id, name, role_guid, principal_id, principal_type, description=None):
    now = iso_now()
    props = {"roleDefinitionId": f"/subscriptions/{g.settings['subscription_id']}/providers/"
                                 f"Microsoft.Authorization/roleDefinitions/{role_guid}",
             "principalId": principal_id, "principalType": principal_type, "scope": scope_id,
             "createdOn": now, "updatedOn": now,
             "createdBy": g.settings["client_object_id"],
             "updatedBy": g.settings["client_object_id"]}
    if description:
        props["description"] = description
    return {"properties": props, "id": assignment_id(scope_id, name),
            "type": access.ROLE_ASSIGNMENT_TYPE, "name": name}


def store_assignment(body):
    return g.store.put(body["id"], body["properties"]["scope"], access.ROLE_ASSIGNMENT_TYPE, body)


def _not_found(name):
    return ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


@arm_operation("RoleAssignments_Create", "PUT", ITEM, API_VERSION)
def create_assignment(scope, roleAssignmentName):
    scope_id = resolve_scope(scope)
    if not _GUID.match(roleAssignmentName):
        raise ArmError(400, "InvalidRoleAssignmentId",
                       f"The role assignment ID '{roleAssignmentName}' is not valid. The role "
                       "assignment ID must be a GUID.")
    props = json_body().get("properties")
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could "
                       "not be deserialized: 'properties' is required.")
    role_id, principal_id = props.get("roleDefinitionId") or "", props.get("principalId") or ""
    m = _ROLE_DEFINITION.match(role_id)
    role_guid = m.group(2).lower() if m else access.role_guid_of(role_id)
    if not m or role_guid not in access.ROLES:
        raise ArmError(400, "RoleDefinitionDoesNotExist",
                       f"The specified role definition with ID '{role_guid or role_id}' does "
                       "not exist.")
    principal = principals.find_principal(principal_id)
    if principal is None:
        # Azure's wording for a principal unknown to the directory (or not yet replicated).
        raise ArmError(400, "PrincipalNotFound",
                       f"Principal {principal_id.replace('-', '')} does not exist in the "
                       f"directory {g.settings['tenant']}. Check that you have the correct "
                       "principal ID. If you are creating this principal and then immediately "
                       "assigning a role, this error might be related to a replication delay. "
                       "In this case, set the role assignment principalType property to a "
                       "value, such as ServicePrincipal, User, or Group.  See "
                       "https://aka.ms/docs-principaltype")
    given_type = props.get("principalType")
    if given_type and given_type.lower() != principal["principalType"].lower():
        raise ArmError(400, "UnmatchedPrincipalType",
                       f"The PrincipalId '{principal_id.replace('-', '')}' has type "
                       f"'{principal['principalType']}' , which is different from specified "
                       f"PrincipalType '{given_type}'.")
    rid = assignment_id(scope_id, roleAssignmentName)
    existing = g.store.get(rid)
    if existing:
        old = existing["body"]["properties"]
        if old["principalId"].lower() != principal_id.lower() or \
                access.role_guid_of(old["roleDefinitionId"]) != role_guid:
            raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                           "Tenant ID, application ID, principal ID, and scope are not allowed "
                           "to be updated.")
        # The same assignment again: the spec lists 200 for it (the sandbox's reading).
        return make_response(jsonify(existing["body"]), 200)
    for other in access.role_assignments(principal_id):
        p = other["body"]["properties"]
        if p["scope"].lower() == scope_id.lower() and \
                access.role_guid_of(p["roleDefinitionId"]) == role_guid:
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
    body = new_assignment(scope_id, roleAssignmentName, role_guid, principal_id,
                          principal["principalType"], props.get("description"))
    return make_response(jsonify(store_assignment(body)["body"]), 201)


@arm_operation("RoleAssignments_Get", "GET", ITEM, API_VERSION)
def get_assignment(scope, roleAssignmentName):
    entity = g.store.get(assignment_id(resolve_scope(scope), roleAssignmentName))
    if entity is None:
        raise _not_found(roleAssignmentName)
    return jsonify(entity["body"])


@arm_operation("RoleAssignments_Delete", "DELETE", ITEM, API_VERSION)
def delete_assignment(scope, roleAssignmentName):
    entity = g.store.get(assignment_id(resolve_scope(scope), roleAssignmentName))
    if entity is None:
        return make_response("", 204)
    g.store.delete(entity["id"])
    return jsonify(entity["body"])


_AT_SCOPE = re.compile(r"^atScope\(\)$", re.IGNORECASE)
_PRINCIPAL = re.compile(r"^(?:principalId\s+eq|assignedTo\()\s*'([^']+)'\)?$", re.IGNORECASE)


def _parse_filter(text):
    """(at_scope_only, principal_id) of a $filter; 400 for what the sandbox does not evaluate."""
    at_scope, principal = False, None
    for clause in [c.strip() for c in re.split(r"\s+and\s+", text or "", flags=re.I) if c.strip()]:
        if _AT_SCOPE.match(clause):
            at_scope = True
            continue
        m = _PRINCIPAL.match(clause)
        if not m:
            # Code and wording are the sandbox's: it evaluates atScope(), principalId eq and
            # assignedTo() only.
            raise ArmError(400, "UnsupportedQuery",
                           f"The filter '{text}' is not supported. Use atScope(), "
                           "principalId eq '{id}' or assignedTo('{id}'), joined with 'and'.")
        principal = m.group(1)
    return at_scope, principal


@arm_operation("RoleAssignments_ListForScope", "GET", COLLECTION, API_VERSION)
def list_assignments(scope):
    scope_id = resolve_scope(scope)
    at_scope, principal = _parse_filter(request.args.get("$filter"))
    found = []
    for entity in access.role_assignments(principal):
        assigned = entity["body"]["properties"]["scope"]
        above = access.is_at_or_below(assigned, scope_id)      # at or above the scope
        below = access.is_at_or_below(scope_id, assigned)
        # atScope(): at or above. Otherwise (with or without a principal): at, above or below.
        if above or (below and not at_scope):
            found.append(entity["body"])
    return list_response(found, with_count=False)
