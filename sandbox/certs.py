"""PFX parsing and the certificate facts APIM reports (subject, thumbprint, expiry)."""

import base64
import binascii
import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12


class PfxError(ValueError):
    """The data is not a PKCS#12 blob, or the password does not open it.

    ``target`` is the request field to blame ("data" or "password").
    """

    def __init__(self, target, message):
        super().__init__(message)
        self.target = target
        self.message = message


def _windows_subject(cert):
    # APIM runs on Windows and prints subjects the way .NET's X500DistinguishedName does:
    # the reverse of the encoded order ("CN=..., O=..., C=..." for a usual certificate),
    # which is RFC 4514 order, with ", " between RDNs. .NET's exact escaping/quoting of
    # special characters is not reproduced (a simplification).
    return cert.subject.rfc4514_string().replace(",", ", ").replace("\\, ", "\\,")


def describe(cert):
    """Subject, thumbprint and expirationDate of an x509 certificate, as APIM returns them."""
    der = cert.public_bytes(serialization.Encoding.DER)
    expiry = cert.not_valid_after_utc.astimezone(datetime.timezone.utc)
    return {
        "subject": _windows_subject(cert),
        "thumbprint": _sha1_hex(der),
        "expirationDate": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _sha1_hex(der):
    digest = hashes.Hash(hashes.SHA1())
    digest.update(der)
    return digest.finalize().hex().upper()


def parse_pfx(data_b64, password):
    """Open a base64 PFX; return describe() of its leaf certificate or raise PfxError.

    The messages are the sandbox's wording: APIM's exact texts for these cases are not
    documented. The shape (ValidationError with target data/password) follows APIM.
    """
    if not data_b64:
        raise PfxError("data", "Certificate data is required.")
    try:
        raw = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        raise PfxError("data", "Certificate data is not valid base64.") from None
    pwd = password.encode("utf-8") if password else None
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(raw, pwd)
    except ValueError:
        # cryptography does not say whether the blob or the password is wrong. Try to tell:
        # a blob that opens with no password (or fails the same way) is a data problem.
        if _is_pkcs12(raw):
            raise PfxError("password",
                           "The specified network password is not correct.") from None
        raise PfxError("data", "Certificate data is not a valid PKCS#12 (PFX) blob.") from None
    if cert is None:
        raise PfxError("data", "The PKCS#12 blob holds no certificate.")
    return describe(cert)


def _is_pkcs12(raw):
    """Best effort: does raw look like a DER PKCS#12 PFX (SEQUENCE, version INTEGER 3)?"""
    if len(raw) < 8 or raw[0] != 0x30:
        return False
    idx = 1
    length_byte = raw[idx]
    idx += 1
    if length_byte & 0x80:
        idx += length_byte & 0x7F
    return raw[idx:idx + 3] == b"\x02\x01\x03"


def load_public_certificate(data_b64, password=None):
    """An x509 certificate from base64 DER (.cer), base64 of PEM text, or a base64 PFX.

    Raises PfxError(target "encodedCertificate") when none of these opens it.
    """
    from cryptography import x509

    try:
        raw = base64.b64decode(data_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise PfxError("encodedCertificate", "Certificate data is not valid base64.") from None
    for loader in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
        try:
            return loader(raw)
        except ValueError:
            pass
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(
            raw, password.encode("utf-8") if password else None)
    except ValueError:
        cert = None
    if cert is None:
        raise PfxError("encodedCertificate", "Certificate data is not a valid X.509 certificate "
                       "(DER, PEM or PKCS#12 with the given password).")
    return cert


def certificate_information(cert):
    """CertificateInformation of the APIM service's CA certificates: expiry, thumbprint, subject."""
    facts = describe(cert)
    return {"expiry": facts["expirationDate"], "thumbprint": facts["thumbprint"],
            "subject": facts["subject"]}


def der_b64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
