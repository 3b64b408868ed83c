"""The gateway's pure parts: policy scopes, operation templates, names, its certificate."""

import base64
import os
import shutil
import xml.etree.ElementTree as ET

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sandbox import gateway, gateway_tls
from sandbox.tls import ensure_tls


def doc(inbound, base=True):
    return ET.fromstring(f"<policies><inbound>{'<base/>' if base else ''}{inbound}</inbound>"
                         "<backend><base/></backend></policies>")


CERT_A = '<authentication-certificate certificate-id="a"/>'
CERT_B = '<authentication-certificate certificate-id="b"/>'


@pytest.mark.parametrize("roots, expected", [
    ([None, doc(CERT_A), doc(CERT_B)], "a"),           # operation has no policy: API's
    ([doc(CERT_B), doc(CERT_A), None], "b"),           # most specific wins
    ([doc(""), None, doc(CERT_A)], "a"),               # <base/> inherits from the service
    ([doc("", base=False), doc(CERT_A), None], None),  # no <base/>: inheritance stops
    ([None, None, None], None),
])
def test_effective_element(roots, expected):
    found = gateway.effective_element(roots, "authentication-certificate")
    assert (found.get("certificate-id") if found is not None else None) == expected


@pytest.mark.parametrize("template, path, matches", [
    ("/items/{id}", "/items/7", True),
    ("/items/{id}", "/items/7/", True),
    ("/items/{id}", "/items", False),
    ("/items/{id}", "/items/7/parts", False),
    ("/items?page={page}", "/items", True),
    ("/*", "/anything/at/all", True),
    ("/files/{*path}", "/files/a/b.txt", True),
    ("/", "/", True),
])
def test_operation_templates(template, path, matches):
    assert bool(gateway._template_regex(template).fullmatch(path)) is matches


@pytest.mark.parametrize("header, host", [
    ("apim1.azure-api.localhost:8443", "apim1.azure-api.localhost"),
    ("APIM1.Azure-Api.Localhost", "apim1.azure-api.localhost"),
    ("[::1]:8443", "::1"),
    ("127.0.0.1:1", "127.0.0.1"),
])
def test_host_header(header, host):
    assert gateway._host_name(header) == host


def test_only_gateway_names_are_gateway_hosts():
    assert gateway_tls.is_gateway_host("apim1.azure-api.localhost")
    assert not gateway_tls.is_gateway_host("azure-api.localhost")
    assert not gateway_tls.is_gateway_host("kv1.vault.localhost")
    assert not gateway_tls.is_gateway_host("localhost")


@pytest.fixture(scope="module")
def leaf_der():
    leaf = trustme.CA().issue_cert("backend.localhost", "*.api.test", "127.0.0.1")
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("host", ["backend.localhost", "BACKEND.localhost", "x.api.test",
                                  "127.0.0.1"])
def test_name_check_accepts(leaf_der, host):
    gateway_tls.check_name(leaf_der, host)


@pytest.mark.parametrize("host", ["localhost", "a.b.api.test", "api.test", "127.0.0.2", "::1"])
def test_name_check_refuses(leaf_der, host):
    with pytest.raises(gateway_tls.BackendTlsError, match="Hostname mismatch"):
        gateway_tls.check_name(leaf_der, host)


def test_ca_certificates_of_the_service():
    def der_b64(name):
        cert = x509.load_pem_x509_certificate(trustme.CA(organization_name=name).cert_pem.bytes())
        return cert, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    (root, root_b64), (inter, inter_b64), (mine, mine_b64), (kept, kept_b64) = (
        der_b64(n) for n in ("root", "intermediate", "personal", "kept"))
    pem_b64 = base64.b64encode(inter.public_bytes(serialization.Encoding.PEM)).decode()
    service = {"body": {"properties": {"certificates": [
        {"storeName": "Root", "encodedCertificate": root_b64},
        {"storeName": "CertificateAuthority", "encodedCertificate": pem_b64},
        {"storeName": "My", "encodedCertificate": mine_b64},
        {"storeName": "Root", "certificate": {"thumbprint": "abcd"}},
        {"storeName": "Root", "certificate": {"thumbprint": "unknown"}}]}},
        "private": {"ca_certificates": {"ABCD": kept_b64}}}
    assert gateway_tls.ca_certificates(service) == [
        base64.b64decode(b) for b in (root_b64, inter_b64, kept_b64)]


def test_gateway_certificate_is_made_once_and_again_for_a_new_ca(tmp_path):
    ensure_tls(str(tmp_path))
    cert_path, _key = gateway_tls.ensure_gateway_cert(str(tmp_path))
    first = open(cert_path, "rb").read()
    assert gateway_tls.ensure_gateway_cert(str(tmp_path))[0] == cert_path
    assert open(cert_path, "rb").read() == first
    cert = x509.load_pem_x509_certificate(first)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"azure-api.localhost",
                                                          "*.azure-api.localhost"}
    # A new CA in the same directory (its files were removed): the gateway's leaf follows.
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        os.remove(os.path.join(tmp_path, name))
    ensure_tls(str(tmp_path))
    gateway_tls.ensure_gateway_cert(str(tmp_path))
    assert open(cert_path, "rb").read() != first
    shutil.rmtree(tmp_path)
