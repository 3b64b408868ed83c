"""Certificates that reference Key Vault secrets: resolution, refresh, rotation, errors."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE, VAULT, etag_of


def _secret(sb, pfx_factory, name="tls"):
    pfx, thumb, _e = pfx_factory(None, common_name=f"{name}.contoso.test")
    return sb.admin("PUT", f"vaults/{VAULT}/secrets/{name}", {
        "value": pfx, "content_type": "application/x-pkcs12"}), thumb


def _kv_cert(apim, name, secret_id, identity_client_id=None):
    key_vault = am.KeyVaultContractCreateProperties(secret_identifier=secret_id,
                                                    identity_client_id=identity_client_id)
    return apim.certificate.create_or_update(
        RG, SERVICE, name, am.CertificateCreateOrUpdateParameters(key_vault=key_vault))


def test_versionless_reference_follows_refresh(sb, apim, pfx_factory):
    first, thumb1 = _secret(sb, pfx_factory)
    cert = _kv_cert(apim, "kv", first["versionless_id"])
    assert cert.thumbprint == thumb1
    assert cert.key_vault.secret_identifier == first["versionless_id"]
    assert cert.key_vault.last_status.code == "Success"
    _second, thumb2 = _secret(sb, pfx_factory)
    assert apim.certificate.get(RG, SERVICE, "kv").thumbprint == thumb1  # not yet due
    assert apim.certificate.refresh_secret(RG, SERVICE, "kv").thumbprint == thumb2
    assert apim.certificate.get(RG, SERVICE, "kv").thumbprint == thumb2


def test_versioned_reference_never_changes(sb, apim, pfx_factory):
    first, thumb1 = _secret(sb, pfx_factory)
    _kv_cert(apim, "pinned", first["id"])
    _secret(sb, pfx_factory)
    assert apim.certificate.refresh_secret(RG, SERVICE, "pinned").thumbprint == thumb1
    sb.admin("POST", "clock", {"advance_seconds": 5 * 3600})
    assert apim.certificate.get(RG, SERVICE, "pinned").thumbprint == thumb1


def test_clock_past_four_hours_picks_up_the_new_version(sb, apim, pfx_factory):
    first, thumb1 = _secret(sb, pfx_factory)
    _kv_cert(apim, "kv", first["versionless_id"])
    etag_before = etag_of(apim.certificate.get_entity_tag, RG, SERVICE, "kv")
    _second, thumb2 = _secret(sb, pfx_factory)
    sb.admin("POST", "clock", {"advance_seconds": 3 * 3600})
    assert apim.certificate.get(RG, SERVICE, "kv").thumbprint == thumb1
    sb.admin("POST", "clock", {"advance_seconds": 3600 + 1})
    listed = {c.name: c for c in apim.certificate.list_by_service(RG, SERVICE)}
    assert listed["kv"].thumbprint == thumb2
    assert etag_of(apim.certificate.get_entity_tag, RG, SERVICE, "kv") != etag_before


def test_user_assigned_identity_by_client_id(sb, apim, pfx_factory):
    first, thumb = _secret(sb, pfx_factory)
    uai = next(iter(sb.seeded["services"][0]["identity"]["userAssignedIdentities"].values()))
    cert = _kv_cert(apim, "uai", first["versionless_id"], uai["clientId"])
    assert cert.thumbprint == thumb
    assert cert.key_vault.identity_client_id == uai["clientId"]
    with pytest.raises(HttpResponseError) as err:
        _kv_cert(apim, "uai2", first["versionless_id"], uai["principalId"])
    assert err.value.status_code == 400
    detail = err.value.error.details[0]
    assert detail.target == "identityClientId"
    assert detail.message.startswith("Can not find Managed Identity with provided "
                                     f"IdentityClientId : {uai['principalId']}")


def test_certificate_url_is_refused(sb, apim, pfx_factory):
    first, _t = _secret(sb, pfx_factory)
    url = first["versionless_id"].replace("/secrets/", "/certificates/")
    with pytest.raises(HttpResponseError) as err:
        _kv_cert(apim, "wrongtype", url)
    assert err.value.status_code == 400
    assert err.value.error.code == "ValidationError"
    assert "only accepts KeyVault Secrets type" in err.value.error.details[0].message


def test_unknown_secret_is_invalid_operation(sb, apim, pfx_factory):
    first, _t = _secret(sb, pfx_factory)
    url = first["versionless_id"].replace("/secrets/tls", "/secrets/absent")
    with pytest.raises(HttpResponseError) as err:
        _kv_cert(apim, "missing", url)
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidOperation"
    principal = sb.seeded["services"][0]["identity"]["principalId"]
    assert err.value.error.message.startswith(f"Failed to access KeyVault Secret {url} using "
                                              "Managed Service Identity (http://aka.ms/apimmsi)")
    assert "Type: SystemAssigned" in err.value.error.message
    assert f"ObjectId: {principal}" in err.value.error.message


def test_secret_admin_api_needs_a_seeded_vault(sb):
    from sandbox.testing import SandboxError

    with pytest.raises(SandboxError):
        sb.admin("PUT", "vaults/notseeded/secrets/x", {"value": "AAAA"})
