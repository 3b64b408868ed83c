"""Uploaded (PFX) certificates: facts, ETags, If-Match rules, validation errors."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE, arm_path, bearer

API_VERSION = "?api-version=2024-05-01"


def _create(apim, name, pfx, password):
    return apim.certificate.create_or_update(
        RG, SERVICE, name, am.CertificateCreateOrUpdateParameters(data=pfx, password=password))


def test_create_get_reports_facts_never_key_material(sb, apim, pfx_factory):
    pfx, thumb, expiry = pfx_factory("s3cret", common_name="api.contoso.test")
    created = _create(apim, "client", pfx, "s3cret")
    assert created.thumbprint == thumb
    assert created.subject == "CN=api.contoso.test, O=Contoso"
    assert created.expiration_date.replace(tzinfo=None) == expiry.replace(tzinfo=None)
    status, headers, body = sb.request("GET", arm_path(sb.info, "/certificates/client")
                                       + API_VERSION, headers=bearer(sb.info))
    assert status == 200
    assert headers["ETag"].startswith('"') and headers["ETag"].endswith('="')
    assert set(body["properties"]) == {"subject", "thumbprint", "expirationDate"}
    assert body["properties"]["expirationDate"].endswith("Z")
    assert "data" not in str(body) and "s3cret" not in str(body)
    assert [c.name for c in apim.certificate.list_by_service(RG, SERVICE)] == ["client"]


def test_put_answers_201_then_200_and_etag_changes(sb, pfx_factory):
    pfx, _t, _e = pfx_factory("pw")
    path = arm_path(sb.info, "/certificates/c1") + API_VERSION
    auth = bearer(sb.info)
    body = {"properties": {"data": pfx, "password": "pw"}}
    status1, h1, _ = sb.request("PUT", path, body, headers=auth)
    status2, h2, _ = sb.request("PUT", path, body, headers=auth)
    assert (status1, status2) == (201, 200)
    assert h1["ETag"] != h2["ETag"]
    status, h3, _ = sb.request("HEAD", path, headers=auth)
    assert status == 200 and h3["ETag"] == h2["ETag"]


def test_if_match_on_update_and_delete(sb, apim, pfx_factory):
    pfx, _t, _e = pfx_factory("pw")
    _create(apim, "c1", pfx, "pw")
    assert apim.certificate.get_entity_tag(RG, SERVICE, "c1") is True
    with pytest.raises(HttpResponseError) as err:
        apim.certificate.create_or_update(
            RG, SERVICE, "c1", am.CertificateCreateOrUpdateParameters(data=pfx, password="pw"),
            if_match='"AAAAAAAAAAA="')
    assert err.value.status_code == 412
    # Delete needs If-Match: the SDK always sends it, so ask without it by hand.
    auth = bearer(sb.info)
    path = arm_path(sb.info, "/certificates/c1") + API_VERSION
    status, _h, body = sb.request("DELETE", path, headers=auth)
    assert status == 400 and body["error"]["code"]
    status, _h, body = sb.request("DELETE", path, headers=dict(auth, **{"If-Match": '"stale"'}))
    assert status == 412 and body["error"]["code"] == "PreconditionFailed"
    current = sb.request("GET", path, headers=auth)[1]["ETag"]
    status, _h, _b = sb.request("DELETE", path, headers=dict(auth, **{"If-Match": current}))
    assert status == 200
    assert list(apim.certificate.list_by_service(RG, SERVICE)) == []
    apim.certificate.delete(RG, SERVICE, "c1", "*")  # already gone: 204, no error


@pytest.mark.parametrize("data, password, target", [
    ("bm90IGEgcGZ4", "pw", "data"),
    ("!!!", "pw", "data"),
    (None, "wrong", "password"),
])
def test_bad_pfx_is_validation_error(apim, pfx_factory, data, password, target):
    if data is None:
        data, _t, _e = pfx_factory("right")
    with pytest.raises(HttpResponseError) as err:
        _create(apim, "bad", data, password)
    assert err.value.status_code == 400
    assert err.value.error.code == "ValidationError"
    assert err.value.error.message == "One or more fields contain incorrect values:"
    assert err.value.error.details[0].target == target


def test_pfx_without_password(apim, pfx_factory):
    pfx, thumb, _e = pfx_factory(None)
    assert _create(apim, "nopw", pfx, None).thumbprint == thumb


def test_empty_certificate_body_is_refused(sb):
    status, _h, body = sb.request("PUT", arm_path(sb.info, "/certificates/x") + API_VERSION,
                                  {"properties": {}}, headers=bearer(sb.info))
    assert status == 400 and body["error"]["details"][0]["target"] == "data"
