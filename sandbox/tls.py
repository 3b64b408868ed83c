"""The sandbox's own CA and HTTPS server certificate, generated once per state dir."""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ["localhost", "vault.localhost", "*.vault.localhost"]
SERVER_IPS = ["127.0.0.1", "::1"]


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_tls(state_dir):
    """Return (ca_pem_path, server_cert_path, server_key_path), creating them on first start."""
    ca_pem = os.path.join(state_dir, "ca.pem")
    ca_key = os.path.join(state_dir, "ca-key.pem")
    srv_pem = os.path.join(state_dir, "server.pem")
    srv_key = os.path.join(state_dir, "server-key.pem")
    if all(os.path.exists(p) for p in (ca_pem, ca_key, srv_pem, srv_key)):
        return ca_pem, srv_pem, srv_key

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_private = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mtls.apim sandbox"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "mtls.apim sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_private.public_key()),
                       critical=False)
        .sign(ca_private, hashes.SHA256())
    )

    srv_private = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in SERVER_NAMES] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    srv_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(srv_private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_private.public_key()),
                       critical=False)
        .sign(ca_private, hashes.SHA256())
    )

    _write_private(ca_key, _key_pem(ca_private))
    _write_private(srv_key, _key_pem(srv_private))
    with open(srv_pem, "wb") as fh:
        fh.write(srv_cert.public_bytes(serialization.Encoding.PEM))
    # Written last: its presence marks a complete set.
    with open(ca_pem, "wb") as fh:
        fh.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem, srv_pem, srv_key
