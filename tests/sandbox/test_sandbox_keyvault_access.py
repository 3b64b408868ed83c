"""APIM reading Key Vault as its managed identity: access policies, RBAC, firewall, and what a
refresh does when the secret can no longer be read."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am
from azure.mgmt.keyvault import models as kv

from sandbox_helpers import (RG, SERVICE, SYSTEM_PRINCIPAL, UAI_CLIENT, UAI_PRINCIPAL, VAULT,
                             authorization_client, keyvault_client, msi_client, seed_default)

SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
READER = "acdd72a7-3c48-4a5b-a4e2-0a0ed5ee4f3a"
SUBNET = "/subscriptions/{sub}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet/subnets/apim"


@pytest.fixture
def closed(sb, apim):
    """rg1/apim1/kv1 with no access policy for the service's identities (seeded after ``sb``)."""
    sb.seeded = seed_default(sb, grant=False)
    return sb


def _secret(sb, pfx_factory, vault=VAULT, name="tls"):
    pfx, thumb, _e = pfx_factory(None, common_name=f"{name}.contoso.test")
    return sb.admin("PUT", f"vaults/{vault}/secrets/{name}", {"value": pfx}), thumb


def _kv_cert(apim, secret_id, identity_client_id=None, name="kv"):
    return apim.certificate.create_or_update(RG, SERVICE, name, am.CertificateCreateOrUpdateParameters(
        key_vault=am.KeyVaultContractCreateProperties(secret_identifier=secret_id,
                                                      identity_client_id=identity_client_id)))


def _refused(apim, secret_id, identity_client_id=None):
    with pytest.raises(HttpResponseError) as err:
        _kv_cert(apim, secret_id, identity_client_id)
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidOperation"
    return err.value.error.message


def _grant(sb, object_id, secrets, kind="add", vault=VAULT):
    keyvault_client(sb.info).vaults.update_access_policy(RG, vault, kind, kv.VaultAccessPolicyParameters(
        properties=kv.VaultAccessPolicyProperties(access_policies=[kv.AccessPolicyEntry(
            tenant_id=sb.info["tenant"], object_id=object_id, permissions=kv.Permissions(secrets=secrets))])))


def _firewall(sb, **acls):
    keyvault_client(sb.info).vaults.update(RG, VAULT, kv.VaultPatchParameters(
        properties=kv.VaultPatchProperties(network_acls=kv.NetworkRuleSet(**acls))))


def test_without_access_policy_the_message_names_the_identity(closed, apim, pfx_factory):
    secret, _t = _secret(closed, pfx_factory)
    message = _refused(apim, secret["versionless_id"])
    assert message.startswith(f"Failed to access KeyVault Secret {secret['versionless_id']} using "
                              "Managed Service Identity (http://aka.ms/apimmsi) of Api Management service. "
                              "Check if Managed Identity of Type: SystemAssigned, ClientId: ")
    assert message.endswith(f"and ObjectId: {SYSTEM_PRINCIPAL} has GET permissions on secrets in the "
                            "KeyVault Access Policies.")


def test_access_policy_needs_get_and_list(closed, apim, pfx_factory):
    secret, thumb = _secret(closed, pfx_factory)
    _grant(closed, SYSTEM_PRINCIPAL, ["get"])
    _refused(apim, secret["versionless_id"])
    _grant(closed, SYSTEM_PRINCIPAL, ["list"])
    assert _kv_cert(apim, secret["versionless_id"]).thumbprint == thumb


def test_user_assigned_identity_needs_its_own_policy(closed, apim, pfx_factory):
    secret, thumb = _secret(closed, pfx_factory)
    _grant(closed, SYSTEM_PRINCIPAL, ["get", "list"])
    message = _refused(apim, secret["versionless_id"], UAI_CLIENT)
    assert f"Type: UserAssigned, ClientId: {UAI_CLIENT} and ObjectId: {UAI_PRINCIPAL}" in message
    _grant(closed, UAI_PRINCIPAL, ["get", "list"])
    assert _kv_cert(apim, secret["versionless_id"], UAI_CLIENT).thumbprint == thumb


def test_deleted_user_assigned_identity_cannot_read(sb, apim, pfx_factory):
    secret, _t = _secret(sb, pfx_factory)
    msi_client(sb.info).user_assigned_identities.delete(RG, "uai1")
    _refused(apim, secret["versionless_id"], UAI_CLIENT)


def test_no_system_identity_when_one_is_needed(sb, apim, pfx_factory):
    secret, _t = _secret(sb, pfx_factory)
    apim.api_management_service.begin_update(RG, SERVICE, am.ApiManagementServiceUpdateParameters(
        identity=am.ApiManagementServiceIdentity(type="UserAssigned"))).result()
    with pytest.raises(HttpResponseError) as err:
        _kv_cert(apim, secret["versionless_id"])
    assert err.value.status_code == 400 and err.value.error.code == "ValidationError"
    assert "aka.ms/apimmsi" in err.value.error.details[0].message


def _assign(sb, scope, role, principal=SYSTEM_PRINCIPAL):
    from azure.mgmt.authorization.v2022_04_01 import models as az
    authorization_client(sb.info).role_assignments.create(scope, str(uuid.uuid4()), az.RoleAssignmentCreateParameters(
        role_definition_id=f"/subscriptions/{sb.info['subscription_id']}/providers/Microsoft.Authorization/"
                           f"roleDefinitions/{role}", principal_id=principal, principal_type="ServicePrincipal"))


@pytest.mark.parametrize("scope_of", [lambda v: v, lambda v: v.split("/providers/")[0],
                                      lambda v: "/".join(v.split("/")[:3])], ids=["vault", "group", "subscription"])
def test_rbac_vault_reads_with_secrets_user_at_or_above_the_vault(sb, apim, pfx_factory, scope_of):
    sb.admin("POST", "seed", {"vaults": [{"resource_group": RG, "name": "kvrbac", "enableRbacAuthorization": True,
                                          # ignored for authorization on an RBAC vault:
                                          "accessPolicies": [{"tenantId": sb.info["tenant"], "objectId": SYSTEM_PRINCIPAL,
                                                              "permissions": {"secrets": ["get", "list"]}}]}]})
    vault_id = keyvault_client(sb.info).vaults.get(RG, "kvrbac").id
    secret, thumb = _secret(sb, pfx_factory, vault="kvrbac")
    _refused(apim, secret["versionless_id"])
    _assign(sb, scope_of(vault_id), READER)
    _refused(apim, secret["versionless_id"])
    _assign(sb, scope_of(vault_id), SECRETS_USER)
    assert _kv_cert(apim, secret["versionless_id"]).thumbprint == thumb


def test_firewall_lets_the_system_identity_through_the_trusted_services_bypass(sb, apim, pfx_factory):
    secret, thumb = _secret(sb, pfx_factory)
    _firewall(sb, default_action="Deny", bypass="AzureServices")
    assert _kv_cert(apim, secret["versionless_id"]).thumbprint == thumb
    _firewall(sb, default_action="Deny", bypass="None")
    message = _refused(apim, secret["versionless_id"])
    # The same (misleading) message as for a missing permission.
    assert "has GET permissions on secrets in the KeyVault Access Policies." in message


def test_firewall_refuses_a_user_assigned_identity_even_with_bypass(sb, apim, pfx_factory):
    secret, _t = _secret(sb, pfx_factory)
    _firewall(sb, default_action="Deny", bypass="AzureServices", ip_rules=[kv.IPRule(value="127.0.0.1")])
    message = _refused(apim, secret["versionless_id"], UAI_CLIENT)
    assert "Type: UserAssigned" in message


def test_firewall_allows_the_service_subnet(sb, apim, pfx_factory):
    secret, thumb = _secret(sb, pfx_factory)
    subnet = SUBNET.format(sub=sb.info["subscription_id"])
    # Azure refuses a virtual network rule for a subnet without the Microsoft.KeyVault endpoint.
    sb.admin("POST", "seed", {"virtual_networks": [{
        "resource_group": RG, "name": "vnet", "location": "westeurope", "address_space": ["10.0.0.0/16"],
        "subnets": [{"name": "apim", "address_prefix": "10.0.0.0/24",
                     "service_endpoints": ["Microsoft.KeyVault"]}]}]})
    _firewall(sb, default_action="Deny", bypass="None",
              virtual_network_rules=[kv.VirtualNetworkRule(id=subnet.lower())])
    _refused(apim, secret["versionless_id"], UAI_CLIENT)
    apim.api_management_service.begin_update(RG, SERVICE, am.ApiManagementServiceUpdateParameters(
        virtual_network_type="External",
        virtual_network_configuration=am.VirtualNetworkConfiguration(subnet_resource_id=subnet))).result()
    assert _kv_cert(apim, secret["versionless_id"], UAI_CLIENT).thumbprint == thumb


def test_refresh_that_cannot_read_keeps_the_certificate_and_records_the_failure(sb, apim, pfx_factory):
    secret, thumb = _secret(sb, pfx_factory)
    _kv_cert(apim, secret["versionless_id"])
    _secret(sb, pfx_factory)  # a new version the service will not be able to read
    _grant(sb, SYSTEM_PRINCIPAL, ["get", "list"], kind="remove")
    with pytest.raises(HttpResponseError) as err:
        apim.certificate.refresh_secret(RG, SERVICE, "kv")
    assert err.value.status_code == 400 and err.value.error.code == "InvalidOperation"
    cert = apim.certificate.get(RG, SERVICE, "kv")
    assert cert.thumbprint == thumb
    assert cert.key_vault.last_status.code == "InvalidOperation"
    assert cert.key_vault.last_status.message == err.value.error.message
    failed = list(apim.certificate.list_by_service(RG, SERVICE, is_key_vault_refresh_failed=True))
    assert [c.name for c in failed] == ["kv"]


def test_clock_refresh_that_cannot_read_records_the_failure(sb, apim, pfx_factory):
    secret, thumb = _secret(sb, pfx_factory)
    _kv_cert(apim, secret["versionless_id"])
    _secret(sb, pfx_factory)
    _firewall(sb, default_action="Deny", bypass="None")
    sb.admin("POST", "clock", {"advance_seconds": 4 * 3600 + 1})
    cert = apim.certificate.get(RG, SERVICE, "kv")
    assert cert.thumbprint == thumb
    assert cert.key_vault.last_status.code == "InvalidOperation"
