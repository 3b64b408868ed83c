"""The gateway against a real nginx that demands client certificates.

State is made through the real Azure SDK (ApiManagementClient) against the sandbox; calls go
to https://apim1.azure-api.localhost:<port>/<api path>/... as a client of the API would.
"""

import pytest
from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE
from support.nginx import free_port

API = "orders"


def policy(*elements):
    inner = "\n    ".join(elements)
    return (f"<policies>\n  <inbound>\n    <base />\n    {inner}\n  </inbound>\n"
            "  <backend><base /></backend>\n  <outbound><base /></outbound>\n"
            "  <on-error><base /></on-error>\n</policies>")


def upload(apim, name, pfx):
    data, password, subject = pfx
    apim.certificate.create_or_update(RG, SERVICE, name, am.CertificateCreateOrUpdateParameters(
        data=data, password=password))
    return subject


def make_api(apim, service_url, api=API, path=API, api_policy=None):
    apim.api.begin_create_or_update(RG, SERVICE, api, am.ApiCreateOrUpdateParameter(
        display_name=api, path=path, protocols=["https"], service_url=service_url)).result()
    if api_policy:
        apim.api_policy.create_or_update(RG, SERVICE, api, "policy", am.PolicyContract(
            value=api_policy, format="rawxml"))


def make_backend(apim, name, url, chain=True, name_check=True, certificate_ids=None):
    creds = am.BackendCredentialsContract(certificate_ids=certificate_ids) \
        if certificate_ids else None
    apim.backend.create_or_update(RG, SERVICE, name, am.BackendContract(
        url=url, protocol="http", credentials=creds,
        tls=am.BackendTlsProperties(validate_certificate_chain=chain,
                                    validate_certificate_name=name_check)))


def install_ca(sb, apim, der_b64):
    """Put the backend's CA into the service's properties.certificates (store Root).

    Through the SDK's service update when the sandbox emulates it; before that existed,
    through the admin seed, which stores properties.certificates as given.
    """
    from sandbox.routes import OPERATIONS

    if any(op[0] == "ApiManagementService_Update" for op in OPERATIONS):
        apim.api_management_service.begin_update(
            RG, SERVICE, am.ApiManagementServiceUpdateParameters(certificates=[
                am.CertificateConfiguration(encoded_certificate=der_b64, store_name="Root")])
        ).result()
        return
    seeded = sb.seeded["services"][0]
    sb.admin("POST", "seed", {"services": [{
        "resource_group": RG, "name": SERVICE, "location": "westeurope",
        "sku": {"name": "Developer", "capacity": 1}, "identity": seeded.get("identity"),
        "certificates": [{"encodedCertificate": der_b64, "storeName": "Root"}]}]})


def assert_internal_error(status, headers, body, cause):
    assert status == 500
    assert body["statusCode"] == 500
    assert body["message"] == "Internal server error"
    assert body["activityId"]
    assert cause in headers["x-sandbox-gateway-error"]


def test_policy_certificate_is_presented(sb, apim, gateway, nginx_backend):
    subject = upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_api(apim, nginx_backend.url + "/base",
             api_policy=policy('<authentication-certificate certificate-id="client1" />'))

    status, _h, body = gateway(f"/{API}/items/7?x=1")

    assert status == 200, body
    assert body["uri"] == "/base/items/7?x=1"
    [entry] = nginx_backend.access_log()
    assert entry["client_verify"] == "SUCCESS"
    assert entry["client_s_dn"] == subject
    assert entry["request"] == "GET /base/items/7?x=1 HTTP/1.1"


def test_without_a_client_certificate_nginx_refuses_and_the_answer_passes_through(
        sb, apim, gateway, nginx_backend):
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_api(apim, nginx_backend.url)

    status, _h, body = gateway(f"/{API}/")

    assert status == 400
    assert "No required SSL certificate was sent" in body
    assert nginx_backend.access_log()[-1]["client_verify"] == "NONE"


def test_a_certificate_nginx_does_not_trust_is_refused(sb, apim, gateway, nginx_backend):
    upload(apim, "stranger", nginx_backend.stranger_pfx("stranger"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_api(apim, nginx_backend.url,
             api_policy=policy('<authentication-certificate certificate-id="stranger" />'))

    status, _h, body = gateway(f"/{API}/")

    assert status == 400
    assert "SSL certificate error" in body


def test_private_ca_without_the_ca_installed_is_a_500(sb, apim, gateway, nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    make_api(apim, nginx_backend.url,
             api_policy=policy('<authentication-certificate certificate-id="client1" />'))

    status, headers, body = gateway(f"/{API}/")

    assert_internal_error(status, headers, body,
                          "certificate verify failed: unable to get local issuer certificate")
    assert nginx_backend.access_log() == []


def test_installing_the_ca_in_the_service_makes_the_chain_valid(sb, apim, gateway,
                                                                 nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    make_api(apim, nginx_backend.url,
             api_policy=policy('<authentication-certificate certificate-id="client1" />'))
    assert gateway(f"/{API}/")[0] == 500

    install_ca(sb, apim, nginx_backend.server_ca_der_b64)

    assert gateway(f"/{API}/")[0] == 200


def test_backend_with_chain_validation_off_accepts_the_private_ca(sb, apim, gateway,
                                                                  nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    make_backend(apim, "nginx", nginx_backend.url, chain=False)
    make_api(apim, "https://unused.invalid", api_policy=policy(
        '<set-backend-service backend-id="nginx" />',
        '<authentication-certificate certificate-id="client1" />'))

    status, _h, body = gateway(f"/{API}/ping")

    assert status == 200, body
    assert body["uri"] == "/ping"


def test_chain_validation_off_still_checks_the_name(sb, apim, gateway, nginx_backend):
    # nginx's certificate names backend.localhost and 127.0.0.1, not localhost.
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    make_backend(apim, "nginx", nginx_backend.url_for("localhost"), chain=False)
    make_api(apim, "https://unused.invalid", api_policy=policy(
        '<set-backend-service backend-id="nginx" />',
        '<authentication-certificate certificate-id="client1" />'))

    status, headers, body = gateway(f"/{API}/")

    assert_internal_error(status, headers, body, "Hostname mismatch")
    assert nginx_backend.access_log() == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_host_name_is_checked_until_name_validation_is_off(sb, apim, gateway, nginx_backend,
                                                           host):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    url = nginx_backend.url_for(host)
    make_api(apim, url,
             api_policy=policy('<authentication-certificate certificate-id="client1" />'))

    status, headers, body = gateway(f"/{API}/")
    if host == "127.0.0.1":
        assert status == 200, body  # the certificate names the address: nothing to switch off
        return
    assert_internal_error(status, headers, body, "Hostname mismatch")

    # A backend entity with the API's URL lends its tls settings to the API's calls.
    make_backend(apim, "nginx", url, name_check=False)
    assert gateway(f"/{API}/")[0] == 200


def test_set_backend_service_picks_the_backend_entity(sb, apim, gateway, nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_backend(apim, "nginx", nginx_backend.url + "/via-backend")
    # The service URL leads nowhere: only the backend entity can answer.
    make_api(apim, f"https://127.0.0.1:{free_port()}/direct", api_policy=policy(
        '<set-backend-service backend-id="nginx" />',
        '<authentication-certificate certificate-id="client1" />'))

    status, _h, body = gateway(f"/{API}/a/b")

    assert status == 200, body
    assert body["uri"] == "/via-backend/a/b"


def test_backend_credentials_give_the_certificate_without_a_policy_element(
        sb, apim, gateway, nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    subject2 = upload(apim, "client2", nginx_backend.client_pfx("client-two"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_backend(apim, "nginx", nginx_backend.url, certificate_ids=["/certificates/client2"])
    make_api(apim, "https://unused.invalid",
             api_policy=policy('<set-backend-service backend-id="nginx" />'))

    assert gateway(f"/{API}/")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject2


def test_the_policy_certificate_wins_over_backend_credentials(sb, apim, gateway,
                                                               nginx_backend):
    subject1 = upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    upload(apim, "client2", nginx_backend.client_pfx("client-two"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_backend(apim, "nginx", nginx_backend.url, certificate_ids=["/certificates/client2"])
    make_api(apim, "https://unused.invalid", api_policy=policy(
        '<set-backend-service backend-id="nginx" />',
        '<authentication-certificate certificate-id="client1" />'))

    assert gateway(f"/{API}/")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject1


def test_operation_policy_by_thumbprint_overrides_the_api_policy(sb, apim, gateway,
                                                                 nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    subject2 = upload(apim, "client2", nginx_backend.client_pfx("client-two"))
    thumb2 = apim.certificate.get(RG, SERVICE, "client2").thumbprint
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_api(apim, nginx_backend.url,
             api_policy=policy('<authentication-certificate certificate-id="client1" />'))
    apim.api_operation.create_or_update(RG, SERVICE, API, "get-item", am.OperationContract(
        display_name="get item", method="GET", url_template="/items/{id}"))
    apim.api_operation.create_or_update(RG, SERVICE, API, "list", am.OperationContract(
        display_name="list", method="GET", url_template="/items"))
    by_thumbprint = policy(f'<authentication-certificate thumbprint="{thumb2}" />')
    apim.api_operation_policy.create_or_update(RG, SERVICE, API, "get-item", "policy",
                                               am.PolicyContract(value=by_thumbprint,
                                                                 format="rawxml"))

    assert gateway(f"/{API}/items/3")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject2
    assert gateway(f"/{API}/items")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] != subject2
    # An API with operations answers 404 for a request no operation matches.
    status, _h, body = gateway(f"/{API}/nothing-here")
    assert (status, body) == (404, {"statusCode": 404, "message": "Resource not found"})


def test_longest_api_path_wins_and_unknown_paths_are_404(sb, apim, gateway, nginx_backend):
    upload(apim, "client1", nginx_backend.client_pfx("client-one"))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    cert = policy('<authentication-certificate certificate-id="client1" />')
    make_api(apim, nginx_backend.url + "/short", api="short", path="shop", api_policy=cert)
    make_api(apim, nginx_backend.url + "/long", api="long", path="shop/v2", api_policy=cert)

    assert gateway("/shop/v2/x")[2]["uri"] == "/long/x"
    assert gateway("/shop/v3/x")[2]["uri"] == "/short/v3/x"
    assert gateway("/shopping")[0] == 404
    assert gateway("/elsewhere/x")[0] == 404


def test_unknown_service_is_404(gateway_for):
    status, _h, body = gateway_for("nosuchservice")("/x")
    assert (status, body) == (404, {"statusCode": 404, "message": "Resource not found"})


def test_gateway_calls_are_logged_with_kind_gateway(sb, apim, gateway, nginx_backend):
    make_api(apim, nginx_backend.url)
    sb.admin("DELETE", "requests")

    gateway(f"/{API}/logged")
    gateway("/unknown")

    log = sb.admin("GET", "requests")
    entries = [r for r in log["requests"] if r["kind"] == "gateway"]
    assert [(r["method"], r["path"], r["operation"], r["status"]) for r in entries] == [
        ("GET", f"/{API}/logged", API, 500), ("GET", "/unknown", None, 404)]
    assert not any(key.startswith("GET gateway") for key in log["counts"])


def test_the_arm_host_is_not_the_gateway(sb):
    # The same listener still serves ARM for its own names (no Host of the gateway's form).
    status, _h, _b = sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")
    assert status == 200


def test_key_vault_certificate_presents_the_synced_version(sb, apim, gateway, nginx_backend):
    def secret(common_name):
        data, _pw, subject = nginx_backend.client_pfx(common_name, password=None)
        return sb.admin("PUT", "vaults/kv1/secrets/client", {
            "value": data, "content_type": "application/x-pkcs12"}), subject

    first, subject1 = secret("vault-one")
    key_vault = am.KeyVaultContractCreateProperties(secret_identifier=first["versionless_id"])
    apim.certificate.create_or_update(RG, SERVICE, "fromvault",
                                      am.CertificateCreateOrUpdateParameters(key_vault=key_vault))
    install_ca(sb, apim, nginx_backend.server_ca_der_b64)
    make_api(apim, nginx_backend.url,
             api_policy=policy('<authentication-certificate certificate-id="fromvault" />'))

    assert gateway(f"/{API}/")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject1

    _second, subject2 = secret("vault-two")
    assert gateway(f"/{API}/")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject1  # not synced yet
    apim.certificate.refresh_secret(RG, SERVICE, "fromvault")
    assert gateway(f"/{API}/")[0] == 200
    assert nginx_backend.access_log()[-1]["client_s_dn"] == subject2


def test_gateway_host_names_get_the_gateway_certificate(sb):
    import socket
    import ssl

    from cryptography import x509

    port = int(sb.url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=sb.ca_bundle)  # names and chain both checked
    names = {}
    for host in (f"{SERVICE}.azure-api.localhost", "localhost"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            names[host] = cert.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "*.azure-api.localhost" in names[f"{SERVICE}.azure-api.localhost"]
    assert "*.azure-api.localhost" not in names["localhost"]
