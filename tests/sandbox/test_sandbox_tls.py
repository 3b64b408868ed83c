"""The generated CA and server certificate, and listening on both loopback addresses."""

import ipaddress
import json
import os
import socket
import ssl

import pytest
from cryptography import x509


def test_server_certificate_names(sandbox):
    with open(os.path.join(os.path.dirname(sandbox.ca_bundle), "server.pem"), "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "localhost", "vault.localhost", "*.vault.localhost"}
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}


def test_sandbox_json_matches_the_printed_line(sandbox):
    with open(os.path.join(os.path.dirname(sandbox.ca_bundle), "sandbox.json")) as fh:
        assert json.load(fh) == sandbox.info


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_tls_verifies_against_the_ca(sandbox, host):
    port = int(sandbox.url.rsplit(":", 1)[1])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        raw = socket.create_connection((host, port), timeout=5) if family == socket.AF_INET \
            else socket.socket(family)
        if family == socket.AF_INET6:
            raw.settimeout(5)
            raw.connect((host, port))
    except OSError:
        pytest.skip(f"{host} not reachable on this machine")
    ctx = ssl.create_default_context(cafile=sandbox.ca_bundle)
    with ctx.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(b"GET /metadata/endpoints?api-version=2022-09-01 HTTP/1.0\r\n"
                    b"Host: localhost\r\n\r\n")
        assert tls.recv(64).startswith(b"HTTP/1.")
