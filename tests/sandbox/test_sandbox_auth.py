"""Metadata, Azure AD login and the ARM front door's checks, through the real SDKs."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from sandbox_helpers import RG, SERVICE, arm_path, bearer, client_for, credential_for

API_VERSION = "?api-version=2024-05-01"


def test_metadata_is_the_array_form(sb):
    status, _headers, body = sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")
    assert status == 200 and isinstance(body, list)
    cloud = body[0]
    url = sb.info["url"]
    assert cloud["name"] == "AzureSandbox"
    assert cloud["resourceManager"] == url + "/"
    assert cloud["authentication"]["loginEndpoint"] == url
    assert cloud["authentication"]["audiences"] == [url + "/"]
    assert cloud["authentication"]["tenant"] == sb.info["tenant"]
    assert cloud["suffixes"]["keyVaultDns"] == f"vault.localhost:{url.rsplit(':', 1)[1]}"


def test_token_with_the_right_secret(sb):
    token = credential_for(sb.info).get_token(sb.info["url"] + "/.default")
    assert token.token.count(".") == 2 and token.expires_on > 0


def test_wrong_secret_is_refused_like_azure_ad(sb):
    with pytest.raises(ClientAuthenticationError) as err:
        credential_for(sb.info, secret="wrong").get_token(sb.info["url"] + "/.default")
    assert "AADSTS7000215" in str(err.value)
    data = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": sb.info["client_id"], "client_secret": "wrong",
                                   "scope": sb.info["url"] + "/.default"}).encode()
    req = urllib.request.Request(f"{sb.info['url']}/{sb.info['tenant']}/oauth2/v2.0/token",
                                 data=data, method="POST")
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, context=sb._ssl)
    assert http.value.code == 401
    body = json.loads(http.value.read())
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_unknown_application(sb):
    from azure.identity import ClientSecretCredential

    cred = ClientSecretCredential(sb.info["tenant"], "00000000-0000-0000-0000-000000000001",
                                  "x", authority=sb.info["url"], disable_instance_discovery=True,
                                  connection_verify=sb.info["ca_bundle"])
    with pytest.raises(ClientAuthenticationError) as err:
        cred.get_token(sb.info["url"] + "/.default")
    assert "AADSTS700016" in str(err.value)


def test_sdk_reads_the_service(apim):
    service = apim.api_management_service.get(RG, SERVICE)
    assert service.name == SERVICE
    assert service.identity.principal_id
    assert [s.name for s in apim.api_management_service.list_by_resource_group(RG)] == [SERVICE]


def test_no_token_is_401_with_challenge(sb):
    status, headers, body = sb.request("GET", arm_path(sb.info) + API_VERSION)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert headers["x-ms-request-id"] and headers["x-ms-correlation-request-id"]


def test_garbage_and_wrong_audience_tokens(sb):
    status, _h, body = sb.request("GET", arm_path(sb.info) + API_VERSION,
                                  headers={"Authorization": "Bearer not.a.token"})
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")
    vault_token = credential_for(sb.info).get_token(
        "https://vault.localhost:" + sb.info["url"].rsplit(":", 1)[1] + "/.default").token
    status, _h, body = sb.request("GET", arm_path(sb.info) + API_VERSION,
                                  headers={"Authorization": "Bearer " + vault_token})
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationTokenAudience")


def test_api_version_checks(sb):
    auth = bearer(sb.info)
    status, _h, body = sb.request("GET", arm_path(sb.info), headers=auth)
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    status, _h, body = sb.request("GET", arm_path(sb.info) + "?api-version=2021-08-01",
                                  headers=auth)
    assert (status, body["error"]["code"]) == (400, "InvalidApiVersionParameter")


def test_arm_not_found_shapes(sb):
    auth = bearer(sb.info)
    other_sub = arm_path(sb.info).replace(sb.info["subscription_id"],
                                          "11111111-1111-1111-1111-111111111111")
    status, _h, body = sb.request("GET", other_sub + API_VERSION, headers=auth)
    assert (status, body["error"]["code"]) == (404, "SubscriptionNotFound")
    status, _h, body = sb.request("GET", arm_path(sb.info).replace(f"/{RG}/", "/nope/")
                                  + API_VERSION, headers=auth)
    assert status == 404
    assert body == {"error": {"code": "ResourceGroupNotFound",
                              "message": "Resource group 'nope' could not be found."}}
    status, _h, body = sb.request("GET", arm_path(sb.info).replace(SERVICE, "other")
                                  + API_VERSION, headers=auth)
    assert status == 404
    assert body["error"]["code"] == "ResourceNotFound"
    assert body["error"]["message"].startswith(
        f"The Resource 'Microsoft.ApiManagement/service/other' under resource group '{RG}' "
        "was not found.")
    status, _h, body = sb.request("GET", arm_path(sb.info, "/certificates/missing")
                                  + API_VERSION, headers=auth)
    assert status == 404
    assert body == {"error": {"code": "ResourceNotFound", "message": "Certificate not found.",
                              "details": None}}


def test_paths_are_case_insensitive(sb, apim):
    auth = bearer(sb.info)
    path = arm_path(sb.info).replace("resourceGroups", "RESOURCEGROUPS").replace(
        "Microsoft.ApiManagement", "microsoft.apimanagement")
    status, _h, body = sb.request("GET", path + API_VERSION, headers=auth)
    assert status == 200
    assert "/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1" in body["id"]


def test_sdk_not_found_is_resource_not_found_error(apim):
    with pytest.raises(ResourceNotFoundError):
        apim.certificate.get(RG, SERVICE, "missing")


def test_unauthenticated_sdk_client_fails(sb):
    client = client_for(dict(sb.info, secret="wrong"))
    with pytest.raises(ClientAuthenticationError):
        client.api_management_service.get(RG, SERVICE)
