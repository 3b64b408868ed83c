"""Role assignments through azure-mgmt-authorization (2022-04-01)."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am
from azure.mgmt.authorization.v2022_04_01 import models as az

from sandbox_helpers import RG, SERVICE, VAULT, authorization_client

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
READER = "acdd72a7-3c48-4a5b-a4e2-0a0ed5ee4f3a"


@pytest.fixture
def roles(sb):
    return authorization_client(sb.info).role_assignments


def _vault(sb):
    return f"/subscriptions/{sb.info['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"


def _rg(sb):
    return f"/subscriptions/{sb.info['subscription_id']}/resourceGroups/{RG}"


def _params(sb, principal, role=SECRETS_USER, principal_type="ServicePrincipal"):
    return az.RoleAssignmentCreateParameters(
        role_definition_id=f"/subscriptions/{sb.info['subscription_id']}/providers/Microsoft.Authorization/"
                           f"roleDefinitions/{role}", principal_id=principal, principal_type=principal_type)


def _system_principal(sb):
    return sb.seeded["services"][0]["identity"]["principalId"]


def test_create_get_list_delete(sb, roles):
    principal = _system_principal(sb)
    name = str(uuid.uuid4())
    created = roles.create(_vault(sb), name, _params(sb, principal))
    assert created.scope == _vault(sb) and created.principal_type == "ServicePrincipal"
    assert roles.get(_vault(sb), name).role_definition_id.endswith(SECRETS_USER)
    rg_name = str(uuid.uuid4())
    roles.create(_rg(sb), rg_name, _params(sb, principal, READER))
    at_vault = {a.name for a in roles.list_for_scope(_vault(sb), filter="atScope()")}
    assert {name, rg_name} <= at_vault           # at or above the vault
    at_rg = {a.name for a in roles.list_for_scope(_rg(sb), filter="atScope()")}
    assert rg_name in at_rg and name not in at_rg  # the vault's is below the group
    mine = {a.name for a in roles.list_for_scope(f"/subscriptions/{sb.info['subscription_id']}",
                                                 filter=f"principalId eq '{principal}'")}
    assert {name, rg_name} <= mine               # at, above or below for a principal
    roles.delete(_vault(sb), name)
    with pytest.raises(HttpResponseError) as err:
        roles.get(_vault(sb), name)
    assert err.value.status_code == 404 and err.value.error.code == "RoleAssignmentNotFound"


def test_duplicate_under_another_name_conflicts(sb, roles):
    principal = _system_principal(sb)
    first = str(uuid.uuid4())
    roles.create(_vault(sb), first, _params(sb, principal))
    assert roles.create(_vault(sb), first, _params(sb, principal)).name == first  # same again
    with pytest.raises(HttpResponseError) as err:
        roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, principal))
    assert err.value.status_code == 409 and err.value.error.code == "RoleAssignmentExists"


def test_principal_must_exist(sb, roles, apim):
    with pytest.raises(HttpResponseError) as err:
        roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, str(uuid.uuid4())))
    assert err.value.status_code == 400 and err.value.error.code == "PrincipalNotFound"
    # A disabled system-assigned identity's principal is gone.
    old = _system_principal(sb)
    apim.api_management_service.begin_update(RG, SERVICE, am.ApiManagementServiceUpdateParameters(
        identity=am.ApiManagementServiceIdentity(type="None"))).result()
    with pytest.raises(HttpResponseError) as err:
        roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, old))
    assert err.value.error.code == "PrincipalNotFound"


def test_user_assigned_identity_and_client_are_principals(sb, roles):
    uai = next(iter(sb.seeded["services"][0]["identity"]["userAssignedIdentities"].values()))
    roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, uai["principalId"]))
    with pytest.raises(HttpResponseError) as err:  # the SDK model's default principalType is User
        roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, uai["principalId"], READER, "User"))
    assert err.value.error.code == "UnmatchedPrincipalType"


def test_unknown_role_definition(sb, roles):
    with pytest.raises(HttpResponseError) as err:
        roles.create(_vault(sb), str(uuid.uuid4()), _params(sb, _system_principal(sb), str(uuid.uuid4())))
    assert err.value.status_code == 400 and err.value.error.code == "RoleDefinitionDoesNotExist"
