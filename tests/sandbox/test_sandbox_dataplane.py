"""The Key Vault data plane through azure-keyvault-certificates/secrets: challenge, import,
reads, and who may do them (access policies, RBAC, firewall)."""

import base64
import ssl
import urllib.error
import urllib.request
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.keyvault import models as kv
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from sandbox_helpers import (RG, VAULT, authorization_client, certificate_client, client_object_id,
                             keyvault_client, secret_client, vault_url)

ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
CERTIFICATES_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def _import(info, pfx_factory, name="tls", vault=VAULT, password=None):
    pfx, thumb, expiry = pfx_factory(password, common_name=f"{name}.contoso.test")
    cert = certificate_client(info, vault).import_certificate(name, base64.b64decode(pfx), password=password)
    return cert, thumb, expiry


def test_challenge_names_the_login_and_the_resource(sb):
    port = sb.info["url"].rsplit(":", 1)[1]
    ctx = ssl.create_default_context(cafile=sb.info["ca_bundle"])
    req = urllib.request.Request(vault_url(sb.info) + "/secrets/x/?api-version=2026-04-01")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    assert err.value.code == 401
    assert err.value.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{sb.info["url"]}/{sb.info["tenant"]}", '
        f'resource="https://vault.localhost:{port}"')


def test_metadata_key_vault_suffix_matches_the_vault_uri(sb):
    _s, _h, metadata = sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")
    vault = keyvault_client(sb.info).vaults.get(RG, VAULT)
    assert vault.properties.vault_uri == f"https://{VAULT}.{metadata[0]['suffixes']['keyVaultDns']}/"


def test_import_creates_certificate_secret_and_key_versions(sb, pfx_factory):
    cert, thumb, expiry = _import(sb.info, pfx_factory, password="pfx-password")
    assert cert.properties.x509_thumbprint.hex().upper() == thumb
    assert cert.properties.expires_on.replace(microsecond=0) == expiry
    assert cert.secret_id.endswith(f"/secrets/tls/{cert.properties.version}")
    assert cert.key_id.endswith(f"/keys/tls/{cert.properties.version}")
    assert cert.policy.content_type == "application/x-pkcs12"
    certs = certificate_client(sb.info)
    assert certs.get_certificate("tls").id == cert.id
    assert certs.get_certificate_version("tls", cert.properties.version).id == cert.id
    second, thumb2, _e = _import(sb.info, pfx_factory)
    assert [v.version for v in certs.list_properties_of_certificate_versions("tls")] == [
        second.properties.version, cert.properties.version]
    secret = secret_client(sb.info).get_secret("tls")
    assert secret.properties.version == second.properties.version
    assert secret.properties.content_type == "application/x-pkcs12"
    assert secret.properties.managed is True
    _key, leaf, _chain = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
    assert leaf.fingerprint(hashes.SHA1()).hex().upper() == thumb2
    old = secret_client(sb.info).get_secret("tls", cert.properties.version)
    assert old.id == cert.secret_id
    assert certs.get_certificate_policy("tls").issuer_name == "Unknown"


def test_imported_certificate_is_usable_by_apim(sb, apim, pfx_factory):
    from azure.mgmt.apimanagement import models as am

    cert, thumb, _e = _import(sb.info, pfx_factory)
    principal = sb.seeded["services"][0]["identity"]
    keyvault_client(sb.info).vaults.update_access_policy(RG, VAULT, "add", kv.VaultAccessPolicyParameters(
        properties=kv.VaultAccessPolicyProperties(access_policies=[kv.AccessPolicyEntry(
            tenant_id=principal["tenantId"], object_id=principal["principalId"],
            permissions=kv.Permissions(secrets=["get", "list"]))])))
    versionless = cert.secret_id.rsplit("/", 1)[0]
    created = apim.certificate.create_or_update(RG, "apim1", "fromkv", am.CertificateCreateOrUpdateParameters(
        key_vault=am.KeyVaultContractCreateProperties(secret_identifier=versionless)))
    assert created.thumbprint == thumb


def test_missing_items_answer_not_found(sb):
    with pytest.raises(ResourceNotFoundError) as err:
        certificate_client(sb.info).get_certificate("absent")
    assert err.value.error.code == "CertificateNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        secret_client(sb.info).get_secret("absent", "0" * 32)
    assert err.value.error.code == "SecretNotFound"


def test_wrong_pfx_password_is_bad_parameter(sb, pfx_factory):
    pfx, _t, _e = pfx_factory("right")
    with pytest.raises(HttpResponseError) as err:
        certificate_client(sb.info).import_certificate("bad", base64.b64decode(pfx), password="wrong")
    assert err.value.status_code == 400 and err.value.error.code == "BadParameter"


def _remove_permission(sb, **perms):
    keyvault_client(sb.info).vaults.update_access_policy(RG, VAULT, "remove", kv.VaultAccessPolicyParameters(
        properties=kv.VaultAccessPolicyProperties(access_policies=[kv.AccessPolicyEntry(
            tenant_id=sb.info["tenant"], object_id=client_object_id(sb.info),
            permissions=kv.Permissions(**perms))])))


def test_access_policy_without_import_is_forbidden(sb, pfx_factory):
    _remove_permission(sb, certificates=["import"])
    with pytest.raises(HttpResponseError) as err:
        _import(sb.info, pfx_factory)
    assert err.value.status_code == 403
    oid = client_object_id(sb.info)
    assert err.value.message.startswith("(Forbidden) The user, group or application "
                                        f"'appid={sb.info['client_id']};oid={oid};")
    assert f"does not have certificates import permission on key vault '{VAULT};location=westeurope'" \
        in err.value.message
    _remove_permission(sb, secrets=["get"])
    with pytest.raises(HttpResponseError) as err:
        secret_client(sb.info).get_secret("anything")
    assert "does not have secrets get permission" in err.value.message


def _rbac_vault(sb, name="kvrbac"):
    sb.admin("POST", "seed", {"vaults": [{"resource_group": RG, "name": name, "enableRbacAuthorization": True}]})
    return keyvault_client(sb.info).vaults.get(RG, name).id


def _assign(sb, scope, role):
    from azure.mgmt.authorization.v2022_04_01 import models as az
    name = str(uuid.uuid4())
    authorization_client(sb.info).role_assignments.create(scope, name, az.RoleAssignmentCreateParameters(
        role_definition_id=f"/subscriptions/{sb.info['subscription_id']}/providers/Microsoft.Authorization/"
                           f"roleDefinitions/{role}", principal_id=client_object_id(sb.info),
        principal_type="ServicePrincipal"))
    return name


def test_rbac_vault_needs_a_role(sb, pfx_factory):
    scope = _rbac_vault(sb)
    _import(sb.info, pfx_factory, vault="kvrbac")  # the seeded Key Vault Administrator
    roles = authorization_client(sb.info).role_assignments
    for assignment in roles.list_for_scope(scope, filter="atScope()"):
        roles.delete(scope, assignment.name)
    with pytest.raises(HttpResponseError) as err:
        _import(sb.info, pfx_factory, vault="kvrbac")
    assert err.value.status_code == 403
    assert "Action: 'Microsoft.KeyVault/vaults/certificates/import/action'" in err.value.message
    rg_scope = scope.split("/providers/")[0]
    _assign(sb, rg_scope, CERTIFICATES_OFFICER)  # an ancestor scope counts
    _import(sb.info, pfx_factory, vault="kvrbac")
    with pytest.raises(HttpResponseError) as err:
        secret_client(sb.info, "kvrbac").get_secret("tls")
    assert err.value.status_code == 403
    _assign(sb, scope, SECRETS_USER)
    assert secret_client(sb.info, "kvrbac").get_secret("tls").value


def _set_firewall(sb, **acls):
    keyvault_client(sb.info).vaults.update(RG, VAULT, kv.VaultPatchParameters(
        properties=kv.VaultPatchProperties(network_acls=kv.NetworkRuleSet(**acls))))


@pytest.mark.parametrize("rule", ["127.0.0.1", "::1", "127.0.0.0/8"])
def test_firewall_allows_listed_addresses(sb, pfx_factory, rule):
    _set_firewall(sb, default_action="Deny", ip_rules=[kv.IPRule(value=rule)])
    _import(sb.info, pfx_factory)


def test_firewall_blocks_other_addresses_even_with_bypass(sb, pfx_factory):
    _set_firewall(sb, default_action="Deny", bypass="AzureServices", ip_rules=[kv.IPRule(value="10.1.2.3")])
    with pytest.raises(HttpResponseError) as err:
        _import(sb.info, pfx_factory)
    assert err.value.status_code == 403
    assert err.value.error.code == "Forbidden"
    assert err.value.error.innererror["code"] == "ForbiddenByFirewall"
    assert err.value.error.message.startswith(
        "Client address is not authorized and caller is not a trusted service.\r\nClient address: ")
    assert f"\r\nVault: {VAULT};location=westeurope" in err.value.error.message
    # The admin API is not behind the firewall.
    pfx, _t, _e = pfx_factory(None)
    sb.admin("PUT", f"vaults/{VAULT}/secrets/seeded", {"value": pfx})
