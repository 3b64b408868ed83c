"""Backends: certificate references, PATCH with If-Match, defaults."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE, arm_path, bearer, etag_of

API_VERSION = "?api-version=2024-05-01"


@pytest.fixture
def certificate(apim, pfx_factory):
    pfx, thumb, _e = pfx_factory("pw")
    return apim.certificate.create_or_update(
        RG, SERVICE, "client", am.CertificateCreateOrUpdateParameters(data=pfx, password="pw"))


def _backend(ids):
    return am.BackendContract(url="https://backend.example", protocol="http",
                              credentials=am.BackendCredentialsContract(certificate_ids=ids))


def test_unknown_certificate_id_is_refused(apim):
    with pytest.raises(HttpResponseError) as err:
        apim.backend.create_or_update(RG, SERVICE, "b1", _backend(["/certificates/nope"]))
    assert err.value.status_code == 400
    body = err.value.response.json()
    assert body == {"error": {"code": "ValidationError",
                              "message": "One or more fields contain incorrect values:",
                              "details": [{"code": "ValidationError", "target": "credentials",
                                           "message": "Certificate with id '/certificates/nope' "
                                                      "not found."}]}}


def test_short_and_full_certificate_ids_are_accepted_as_given(apim, certificate):
    short = apim.backend.create_or_update(RG, SERVICE, "b1", _backend(["/certificates/client"]))
    assert short.credentials.certificate_ids == ["/certificates/client"]
    assert short.credentials.certificate == [certificate.thumbprint]
    full = apim.backend.create_or_update(RG, SERVICE, "b2", _backend([certificate.id]))
    assert full.credentials.certificate_ids == [certificate.id]
    assert full.tls.validate_certificate_chain is True
    assert full.tls.validate_certificate_name is True
    assert sorted(b.name for b in apim.backend.list_by_service(RG, SERVICE)) == ["b1", "b2"]


def test_patch_requires_if_match_and_merges(sb, apim, certificate):
    apim.backend.create_or_update(RG, SERVICE, "b1", _backend(["/certificates/client"]))
    path = arm_path(sb.info, "/backends/b1") + API_VERSION
    auth = bearer(sb.info)
    patch = {"properties": {"description": "patched"}}
    status, _h, _b = sb.request("PATCH", path, patch, headers=auth)
    assert status == 400
    status, _h, _b = sb.request("PATCH", path, patch, headers=dict(auth, **{"If-Match": '"x"'}))
    assert status == 412
    etag = etag_of(apim.backend.get_entity_tag, RG, SERVICE, "b1")
    updated = apim.backend.update(RG, SERVICE, "b1", etag,
                                  am.BackendUpdateParameters(description="patched"))
    assert updated.description == "patched"
    assert updated.credentials.certificate_ids == ["/certificates/client"]


def test_bad_url_and_delete(apim):
    with pytest.raises(HttpResponseError) as err:
        apim.backend.create_or_update(RG, SERVICE, "bad", am.BackendContract(
            url="not a url", protocol="http"))
    assert err.value.error.details[0].target == "url"
    apim.backend.create_or_update(RG, SERVICE, "b1", am.BackendContract(
        url="https://x.example", protocol="http"))
    apim.backend.delete(RG, SERVICE, "b1", "*")
    assert list(apim.backend.list_by_service(RG, SERVICE)) == []
