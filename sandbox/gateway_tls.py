"""TLS for the gateway: its own inbound certificate, and the outbound context per backend.

Inbound: the gateway answers for ``<service>.azure-api.localhost``. Its certificate is a
separate leaf signed by the sandbox CA and chosen by SNI, so ``server.pem`` (and the names
its tests pin) stays as it is and a state dir made before the gateway existed needs no
regeneration: the gateway certificate is added on the next start.

Outbound: what the real gateway does towards a backend. Trust is the public roots plus the
service's CA certificates; chain and name validation follow the backend's ``tls`` switches
and nothing else.
"""

import base64
import binascii
import datetime
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GATEWAY_DOMAIN = "azure-api.localhost"
GATEWAY_NAMES = [GATEWAY_DOMAIN, "*." + GATEWAY_DOMAIN]
# Stores of properties.certificates that hold trust anchors / intermediates (spec enum).
CA_STORES = ("root", "certificateauthority")


class BackendTlsError(Exception):
    """The backend's TLS failed the checks; ``str()`` is the cause for the gateway log."""


# --- inbound -----------------------------------------------------------------------------
def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _issued_by(cert, ca_cert):
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def ensure_gateway_cert(state_dir):
    """(cert_path, key_path) of the gateway's certificate; made (again) when missing or
    not issued by the state dir's current CA."""
    cert_path = os.path.join(state_dir, "gateway.pem")
    key_path = os.path.join(state_dir, "gateway-key.pem")
    with open(os.path.join(state_dir, "ca.pem"), "rb") as fh:
        ca_cert = x509.load_pem_x509_certificate(fh.read())
    if os.path.exists(cert_path) and os.path.exists(key_path):
        with open(cert_path, "rb") as fh:
            if _issued_by(x509.load_pem_x509_certificate(fh.read()), ca_cert):
                return cert_path, key_path
    with open(os.path.join(state_dir, "ca-key.pem"), "rb") as fh:
        ca_key = serialization.load_pem_private_key(fh.read(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                    "*." + GATEWAY_DOMAIN)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in GATEWAY_NAMES]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def is_gateway_host(name):
    return bool(name) and name.lower().rstrip(".").endswith("." + GATEWAY_DOMAIN)


def serve_gateway_names(server_ctx, state_dir):
    """Make ``server_ctx`` present the gateway certificate to clients asking for a gateway
    host name (SNI); every other name keeps the server certificate."""
    cert_path, key_path = ensure_gateway_cert(state_dir)
    gateway_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    gateway_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    gateway_ctx.load_cert_chain(cert_path, key_path)

    def choose(sslsock, server_name, _ctx):
        if is_gateway_host(server_name):
            sslsock.context = gateway_ctx
        return None

    server_ctx.sni_callback = choose
    return gateway_ctx


# --- outbound ----------------------------------------------------------------------------
def _der(encoded):
    """DER bytes of a base64 certificate (DER, or PEM text); None when it is neither."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    for loader in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
        try:
            return loader(raw).public_bytes(serialization.Encoding.DER)
        except ValueError:
            continue
    return None


def ca_certificates(service):
    """DER blobs of the service's CA certificates: properties.certificates entries in the
    stores Root and CertificateAuthority. GET never returns encodedCertificate, so the
    service keeps it privately by thumbprint (``private["ca_certificates"]``); an entry
    that carries it in the body (a seeded service) is read from there."""
    kept = {k.upper(): v for k, v in
            ((service.get("private") or {}).get("ca_certificates") or {}).items()}
    blobs = []
    for entry in (service["body"].get("properties") or {}).get("certificates") or []:
        if not isinstance(entry, dict):
            continue
        if (entry.get("storeName") or "").lower() not in CA_STORES:
            continue
        thumbprint = str((entry.get("certificate") or {}).get("thumbprint") or "").upper()
        der = _der(entry.get("encodedCertificate") or kept.get(thumbprint))
        if der:
            blobs.append(der)
    return blobs


def _public_roots(ctx):
    ctx.load_default_certs()
    try:
        import certifi
    except ImportError:  # the system store alone then
        return
    ctx.load_verify_locations(cafile=certifi.where())


def _load_client_certificate(ctx, pfx_b64, password):
    """Give ``ctx`` the PFX's key and certificate (with any chain the PFX carries)."""
    raw = base64.b64decode(pfx_b64)
    key, cert, extra = pkcs12.load_key_and_certificates(
        raw, password.encode("utf-8") if password else None)
    if key is None or cert is None:
        raise BackendTlsError("the client certificate's PFX holds no private key or "
                              "no certificate")
    # ssl only loads key and chain from files: a private temporary directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="sandbox-gw-") as tmp:
        cert_file = os.path.join(tmp, "cert.pem")
        key_file = os.path.join(tmp, "key.pem")
        chain = cert.public_bytes(serialization.Encoding.PEM) + b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in extra or [])
        _write_private(cert_file, chain)
        _write_private(key_file, key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        ctx.load_cert_chain(cert_file, key_file)


def client_context(service, tls, client_pfx=None):
    """The SSLContext for one backend call.

    ``tls`` is the backend's tls block (None when no backend entity applies: both checks
    on, the spec's defaults). ``client_pfx`` is (base64 PFX, password) or None.
    Returns (ctx, manual_name_check): when chain validation is off but name validation
    on, OpenSSL cannot check the name alone, so the caller checks it with check_name().
    """
    tls = tls or {}
    chain = tls.get("validateCertificateChain", True) is not False
    name = tls.get("validateCertificateName", True) is not False
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if chain:
        _public_roots(ctx)
        for der in ca_certificates(service):
            try:
                ctx.load_verify_locations(cadata=der)
            except ssl.SSLError:
                continue  # not a certificate: the service would not have accepted it
        ctx.check_hostname = name
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        # Only this backend's own switch turns chain validation off (as on the real gateway).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client_pfx:
        _load_client_certificate(ctx, *client_pfx)
    return ctx, (name and not chain)


def _dns_matches(pattern, host):
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        # RFC 6125: the wildcard covers exactly one left-most label.
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def check_name(der, host):
    """Raise BackendTlsError unless the certificate (DER) is valid for ``host``."""
    cert = x509.load_der_x509_certificate(der)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if sans is not None:
        if address is not None:
            ok = address in sans.get_values_for_type(x509.IPAddress)
        else:
            ok = any(_dns_matches(n, host) for n in sans.get_values_for_type(x509.DNSName))
    else:
        # No SAN: the subject's common name, as older clients (and .NET) accept.
        ok = address is None and any(
            _dns_matches(a.value, host)
            for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    if not ok:
        # Worded like OpenSSL's own hostname failure, so both paths read the same.
        raise BackendTlsError("certificate verify failed: Hostname mismatch, certificate is "
                              f"not valid for '{host}'.")
