"""Key Vault management through azure-mgmt-keyvault: vaults, access policies, network rules."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault import models as kv

from sandbox_helpers import RG, VAULT, client_object_id, keyvault_client


@pytest.fixture
def vaults(sb):
    return keyvault_client(sb.info).vaults


def _create(sb, vaults, name="kv2", rg=RG, **props):
    props.setdefault("tenant_id", sb.info["tenant"])
    props.setdefault("sku", kv.Sku(family="A", name="standard"))
    return vaults.begin_create_or_update(rg, name, kv.VaultCreateOrUpdateParameters(
        location="westeurope", properties=kv.VaultProperties(**props))).result()


def _policy(sb, object_id, **perms):
    return kv.AccessPolicyEntry(tenant_id=sb.info["tenant"], object_id=object_id,
                                permissions=kv.Permissions(**perms))


def _policies(vaults, name=VAULT):
    return {p.object_id: p.permissions for p in vaults.get(RG, name).properties.access_policies}


def test_create_defaults_and_uri(sb, vaults):
    vault = _create(sb, vaults)
    port = sb.info["url"].rsplit(":", 1)[1]
    assert vault.properties.vault_uri == f"https://kv2.vault.localhost:{port}/"
    assert vault.properties.provisioning_state == "Succeeded"
    # The 2026-05-15 schema's default: RBAC authorization for a new vault.
    assert vault.properties.enable_rbac_authorization is True
    assert vault.properties.access_policies == []
    assert "kv2" in [v.name for v in vaults.list_by_resource_group(RG)]
    assert "kv2" in [v.name for v in vaults.list_by_subscription()]
    assert "kv2" in [v.name for v in vaults.list()]


def test_vault_names_are_global(sb, vaults):
    sb.admin("POST", "seed", {"resource_groups": [{"name": "rg2", "location": "westeurope"}]})
    with pytest.raises(HttpResponseError) as err:
        _create(sb, vaults, name=VAULT, rg="rg2")
    assert err.value.status_code == 409 and err.value.error.code == "VaultAlreadyExists"
    with pytest.raises(HttpResponseError) as err:
        _create(sb, vaults, name="a--b")
    assert err.value.status_code == 400 and err.value.error.code == "VaultNameNotValid"


def test_patch_merges_network_rules_and_keeps_the_rest(sb, vaults):
    _create(sb, vaults, enable_rbac_authorization=False,
            access_policies=[_policy(sb, sb.info["client_id"], secrets=["get"])])
    updated = vaults.update(RG, "kv2", kv.VaultPatchParameters(properties=kv.VaultPatchProperties(
        network_acls=kv.NetworkRuleSet(default_action="Deny", ip_rules=[kv.IPRule(value="10.0.0.0/24")]))))
    acls = updated.properties.network_acls
    assert (acls.default_action, acls.bypass, [r.value for r in acls.ip_rules]) == (
        "Deny", "AzureServices", ["10.0.0.0/24"])
    assert updated.properties.enable_rbac_authorization is False
    assert len(updated.properties.access_policies) == 1
    with pytest.raises(HttpResponseError) as err:
        vaults.update(RG, "kv2", kv.VaultPatchParameters(properties=kv.VaultPatchProperties(
            network_acls=kv.NetworkRuleSet(ip_rules=[kv.IPRule(value="not-an-ip")]))))
    assert err.value.status_code == 400


def test_seeded_vault_grants_the_creator(sb, vaults):
    vault = vaults.get(RG, VAULT)
    assert vault.properties.enable_rbac_authorization is False
    creator = [p for p in vault.properties.access_policies if p.object_id == client_object_id(sb.info)]
    assert len(creator) == 1 and creator[0].tenant_id == sb.info["tenant"]
    assert {"get", "list", "import"} <= set(creator[0].permissions.certificates)
    assert {"get", "list"} <= set(creator[0].permissions.secrets)


def test_access_policy_add_remove_replace(sb, vaults):
    a, b = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    update = vaults.update_access_policy
    update(RG, VAULT, "add", kv.VaultAccessPolicyParameters(properties=kv.VaultAccessPolicyProperties(
        access_policies=[_policy(sb, a, secrets=["get"]), _policy(sb, b, certificates=["get"])])))
    update(RG, VAULT, "add", kv.VaultAccessPolicyParameters(properties=kv.VaultAccessPolicyProperties(
        access_policies=[_policy(sb, a, secrets=["list", "get"])])))
    policies = _policies(vaults)
    assert policies[a].secrets == ["get", "list"] and policies[b].certificates == ["get"]
    before = len(policies)
    update(RG, VAULT, "remove", kv.VaultAccessPolicyParameters(properties=kv.VaultAccessPolicyProperties(
        access_policies=[_policy(sb, a, secrets=["get"])])))
    assert _policies(vaults)[a].secrets == ["list"]
    update(RG, VAULT, "remove", kv.VaultAccessPolicyParameters(properties=kv.VaultAccessPolicyProperties(
        access_policies=[_policy(sb, a, secrets=["list"])])))
    policies = _policies(vaults)
    assert a not in policies and len(policies) == before - 1
    update(RG, VAULT, "replace", kv.VaultAccessPolicyParameters(properties=kv.VaultAccessPolicyProperties(
        access_policies=[_policy(sb, b, secrets=["get"])])))
    policies = _policies(vaults)
    assert policies[b].secrets == ["get"] and not policies[b].certificates
    assert len(policies) == before - 1  # the creator's entry is untouched


def test_seed_rbac_vault_with_firewall(sb, vaults):
    sb.admin("POST", "seed", {"vaults": [{"resource_group": RG, "name": "kvrbac", "enableRbacAuthorization": True,
                                          "networkAcls": {"defaultAction": "Deny", "bypass": "None",
                                                          "ipRules": [{"value": "127.0.0.1"}]}}]})
    vault = vaults.get(RG, "kvrbac")
    assert vault.properties.enable_rbac_authorization is True and vault.properties.access_policies == []
    assert vault.properties.network_acls.bypass == "None"
    assignments = [r for r in sb.admin("GET", "state")["resources"]
                   if r["body"].get("type") == "Microsoft.Authorization/roleAssignments"]
    assert len(assignments) == 1
    assert assignments[0]["body"]["properties"]["roleDefinitionId"].endswith("00482a5a-887f-4fb3-b363-3b7fe8e74483")
    assert assignments[0]["body"]["properties"]["scope"] == vault.id
