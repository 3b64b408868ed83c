"""Policies at service, API and operation scope; APIs and operations they hang on."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE, etag_of

XML = "<policies><inbound><base /></inbound><backend><base /></backend>" \
      "<outbound><base /></outbound><on-error><base /></on-error></policies>"
RAW = '<policies><inbound><set-header name="x" exists-action="override"><value>' \
      '@(context.Request.Headers.GetValueOrDefault("a", "b"))</value></set-header>' \
      '</inbound></policies>'


@pytest.fixture
def api(apim):
    api = apim.api.begin_create_or_update(RG, SERVICE, "echo", am.ApiCreateOrUpdateParameter(
        display_name="Echo", path="echo", protocols=["https"])).result()
    apim.api_operation.create_or_update(RG, SERVICE, "echo", "get", am.OperationContract(
        display_name="Get", method="GET", url_template="/"))
    return api


def test_service_policy_round_trip(apim):
    created = apim.policy.create_or_update(RG, SERVICE, "policy", am.PolicyContract(value=XML))
    assert created.value == XML
    assert apim.policy.get(RG, SERVICE, "policy").value == XML
    assert apim.policy.get(RG, SERVICE, "policy", format="rawxml").value == XML
    assert [p.name for p in apim.policy.list_by_service(RG, SERVICE)] == ["policy"]
    apim.policy.delete(RG, SERVICE, "policy", "*")
    with pytest.raises(ResourceNotFoundError):
        apim.policy.get(RG, SERVICE, "policy")


def test_api_and_operation_policies(apim, api):
    apim.api_policy.create_or_update(RG, SERVICE, "echo", "policy",
                                     am.PolicyContract(value=RAW, format="rawxml"))
    assert apim.api_policy.get(RG, SERVICE, "echo", "policy", format="rawxml").value == RAW
    etag = etag_of(apim.api_policy.get_entity_tag, RG, SERVICE, "echo", "policy")
    apim.api_policy.create_or_update(RG, SERVICE, "echo", "policy", am.PolicyContract(value=XML),
                                     if_match=etag)
    with pytest.raises(HttpResponseError) as err:
        apim.api_policy.create_or_update(RG, SERVICE, "echo", "policy",
                                         am.PolicyContract(value=XML), if_match=etag)
    assert err.value.status_code == 412
    apim.api_operation_policy.create_or_update(RG, SERVICE, "echo", "get", "policy",
                                               am.PolicyContract(value=XML))
    assert apim.api_operation_policy.get(RG, SERVICE, "echo", "get", "policy").value == XML
    assert len(apim.api_operation_policy.list_by_operation(RG, SERVICE, "echo", "get").value) == 1
    # Deleting the API removes what hangs below it.
    apim.api.begin_delete(RG, SERVICE, "echo", "*").result()
    with pytest.raises(ResourceNotFoundError):
        apim.api_operation.get(RG, SERVICE, "echo", "get")


def test_malformed_policy_is_validation_error(apim, api):
    with pytest.raises(HttpResponseError) as err:
        apim.api_policy.create_or_update(RG, SERVICE, "echo", "policy",
                                         am.PolicyContract(value="<policies><inbound>"))
    assert err.value.status_code == 400
    assert err.value.error.code == "ValidationError"


def test_api_and_operation_shapes(apim, api):
    assert api.provisioning_state == "Succeeded"
    assert apim.api.get(RG, SERVICE, "echo").path == "echo"
    assert [a.name for a in apim.api.list_by_service(RG, SERVICE)] == ["echo"]
    op = apim.api_operation.get(RG, SERVICE, "echo", "get")
    assert (op.method, op.url_template) == ("GET", "/")
    assert [o.name for o in apim.api_operation.list_by_api(RG, SERVICE, "echo")] == ["get"]
    apim.api_operation.delete(RG, SERVICE, "echo", "get", "*")
    assert list(apim.api_operation.list_by_api(RG, SERVICE, "echo")) == []
