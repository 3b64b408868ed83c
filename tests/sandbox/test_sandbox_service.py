"""The APIM service through ARM: PUT, PATCH (merge-patch), identities, CA certificates."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am
from azure.mgmt.msi import models as msi

from sandbox_helpers import RG, SERVICE, make_ca_cer, msi_client, uai_id


@pytest.fixture
def identities(sb):
    return msi_client(sb.info)


def _service(apim, name="apim2", sku="Developer", **kwargs):
    return apim.api_management_service.begin_create_or_update(RG, name, am.ApiManagementServiceResource(
        location="westeurope", publisher_email="ops@example.com", publisher_name="Ops",
        sku=am.ApiManagementServiceSkuProperties(name=sku, capacity=0 if sku == "Consumption" else 1),
        **kwargs)).result()


def _patch(apim, name="apim2", **kwargs):
    return apim.api_management_service.begin_update(
        RG, name, am.ApiManagementServiceUpdateParameters(**kwargs)).result()


def test_identities_are_resources_with_stable_ids(sb, identities):
    created = identities.user_assigned_identities.create_or_update(RG, "id1", msi.Identity(location="westeurope"))
    assert created.principal_id and created.client_id and created.tenant_id == sb.info["tenant"]
    again = identities.user_assigned_identities.create_or_update(
        RG, "id1", msi.Identity(location="westeurope", tags={"a": "b"}))
    assert (again.principal_id, again.client_id, again.tags) == (created.principal_id, created.client_id, {"a": "b"})
    assert "id1" in [i.name for i in identities.user_assigned_identities.list_by_resource_group(RG)]
    identities.user_assigned_identities.delete(RG, "id1")
    with pytest.raises(HttpResponseError) as err:
        identities.user_assigned_identities.get(RG, "id1")
    assert err.value.status_code == 404 and err.value.error.code == "ResourceNotFound"


def test_create_answers_the_final_state_at_once(sb, apim):
    service = _service(apim, identity=am.ApiManagementServiceIdentity(type="SystemAssigned"))
    assert service.provisioning_state == "Succeeded"
    assert service.identity.principal_id and service.identity.tenant_id == sb.info["tenant"]
    assert apim.api_management_service.get(RG, "apim2").identity.principal_id == service.identity.principal_id


def test_patch_keeps_absent_fields_and_system_identity(sb, apim):
    service = _service(apim, identity=am.ApiManagementServiceIdentity(type="SystemAssigned"),
                       tags={"keep": "me"})
    updated = _patch(apim, publisher_name="Renamed")
    assert updated.publisher_name == "Renamed"
    assert updated.publisher_email == "ops@example.com"
    assert updated.tags == {"keep": "me"}
    assert updated.identity.principal_id == service.identity.principal_id


def test_disabling_and_enabling_system_identity_gives_a_new_principal(sb, apim):
    first = _service(apim, identity=am.ApiManagementServiceIdentity(type="SystemAssigned")).identity.principal_id
    off = _patch(apim, identity=am.ApiManagementServiceIdentity(type="None"))
    assert off.identity is None or off.identity.type == "None"
    on = _patch(apim, identity=am.ApiManagementServiceIdentity(type="SystemAssigned"))
    assert on.identity.principal_id and on.identity.principal_id != first


def test_user_assigned_identities_added_and_removed_by_null(sb, apim, identities):
    a = identities.user_assigned_identities.create_or_update(RG, "ida", msi.Identity(location="westeurope"))
    b = identities.user_assigned_identities.create_or_update(RG, "idb", msi.Identity(location="westeurope"))
    ida, idb = uai_id(sb.info, "ida"), uai_id(sb.info, "idb")
    _service(apim, identity=am.ApiManagementServiceIdentity(
        type="SystemAssigned, UserAssigned", user_assigned_identities={ida: am.UserIdentityProperties()}))
    both = _patch(apim, identity=am.ApiManagementServiceIdentity(
        type="SystemAssigned, UserAssigned", user_assigned_identities={idb: am.UserIdentityProperties()}))
    uais = {k.lower(): v for k, v in both.identity.user_assigned_identities.items()}
    assert uais[ida.lower()].client_id == a.client_id and uais[ida.lower()].principal_id == a.principal_id
    assert uais[idb.lower()].client_id == b.client_id
    one = _patch(apim, identity=am.ApiManagementServiceIdentity(
        type="SystemAssigned, UserAssigned", user_assigned_identities={ida: None}))
    assert [k.lower() for k in one.identity.user_assigned_identities] == [idb.lower()]
    system_only = _patch(apim, identity=am.ApiManagementServiceIdentity(type="SystemAssigned"))
    assert not system_only.identity.user_assigned_identities


def test_missing_user_assigned_identity_is_refused(sb, apim):
    with pytest.raises(HttpResponseError) as err:
        _service(apim, identity=am.ApiManagementServiceIdentity(
            type="UserAssigned", user_assigned_identities={uai_id(sb.info, "ghost"): am.UserIdentityProperties()}))
    assert err.value.status_code == 400
    assert err.value.error.code == "FailedIdentityOperation"
    assert "ghost" in err.value.error.message


def test_ca_certificates_info_computed_and_kept_on_resend(sb, apim):
    cer, thumb = make_ca_cer()
    service = _service(apim, certificates=[am.CertificateConfiguration(encoded_certificate=cer, store_name="Root")])
    info = service.certificates[0].certificate
    assert (info.thumbprint, info.subject) == (thumb, "CN=Contoso Root CA")
    assert service.certificates[0].encoded_certificate is None
    cer2, thumb2 = make_ca_cer("Contoso Issuing CA")
    # A client adds one: it sends back what it read (no encodedCertificate) plus the new one.
    resent = [am.CertificateConfiguration(store_name="Root", certificate=am.CertificateInformation(
        thumbprint=thumb, subject=info.subject, expiry=info.expiry)),
        am.CertificateConfiguration(encoded_certificate=cer2, store_name="CertificateAuthority")]
    updated = _patch(apim, certificates=resent)
    assert [(c.store_name, c.certificate.thumbprint) for c in updated.certificates] == [
        ("Root", thumb), ("CertificateAuthority", thumb2)]


def test_ca_certificates_limits(sb, apim):
    cer, _t = make_ca_cer()
    with pytest.raises(HttpResponseError) as err:
        _service(apim, name="apimc", sku="Consumption",
                 certificates=[am.CertificateConfiguration(encoded_certificate=cer, store_name="Root")])
    assert err.value.status_code == 400
    assert "not supported in the Consumption tier" in err.value.error.details[0].message
    many = [am.CertificateConfiguration(encoded_certificate=make_ca_cer(f"CA {i}")[0], store_name="Root")
            for i in range(11)]
    with pytest.raises(HttpResponseError) as err:
        _service(apim, certificates=many)
    assert err.value.status_code == 400 and err.value.error.details[0].target == "certificates"
    with pytest.raises(HttpResponseError) as err:
        _service(apim, certificates=[am.CertificateConfiguration(store_name="Root", certificate=am.CertificateInformation(
            thumbprint="AB" * 20, subject="CN=x", expiry="2030-01-01T00:00:00Z"))])
    assert err.value.status_code == 400


def test_location_cannot_change(sb, apim):
    with pytest.raises(HttpResponseError) as err:
        apim.api_management_service.begin_create_or_update(RG, SERVICE, am.ApiManagementServiceResource(
            location="northeurope", publisher_email="a@b.c", publisher_name="x",
            sku=am.ApiManagementServiceSkuProperties(name="Developer", capacity=1))).result()
    assert err.value.status_code == 400 and err.value.error.code == "InvalidResourceLocation"


def test_seeded_user_assigned_identity_exists_as_resource(sb, identities):
    uai = next(iter(sb.seeded["services"][0]["identity"]["userAssignedIdentities"].values()))
    listed = {i.name: i for i in identities.user_assigned_identities.list_by_resource_group(RG)}
    assert listed["uai1"].client_id == uai["clientId"]
