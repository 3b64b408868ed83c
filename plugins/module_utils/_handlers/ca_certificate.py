# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CA certificates of an APIM service (properties.certificates): read a certificate, merge, update.

The service update replaces the whole list, so the list is read, changed by thumbprint, and
written back whole: CA certificates the task does not name are never dropped.
"""

from __future__ import annotations

import base64
import binascii

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._pfx import format_date, read_file, utcnow, windows_subject

MAX_CA_CERTIFICATES = 10  # spec: "Max supported certificates that can be installed is 10."
STORES = ('Root', 'CertificateAuthority')


class CaCertificate:
    """A CA certificate to install: its DER bytes and what the service will report for it."""

    def __init__(self, der, thumbprint, subject, not_after, is_ca, self_signed):
        self.der = der
        self.thumbprint = thumbprint
        self.subject = subject
        self.not_after = not_after
        self.is_ca = is_ca
        self.self_signed = self_signed

    @property
    def encoded(self):
        return base64.b64encode(self.der).decode('ascii')


def read_certificate_bytes(path=None, content=None):
    """(bytes, option name) from certificate_path, or certificate_content (PEM text or base64 DER/PFX)."""
    if path is not None:
        return read_file(path, 'certificate_path'), 'certificate_path'
    if '-----BEGIN' in content:
        return content.encode('ascii', 'replace'), 'certificate_content'
    try:
        data = base64.b64decode(''.join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ModuleError('certificate_content is neither PEM text nor base64 (of a DER certificate or a PFX).') from None
    if not data:
        raise ModuleError('certificate_content is empty.')
    return data, 'certificate_content'


def load_ca_certificate(data, password, field):
    """A CaCertificate from PEM, DER or PFX bytes; ModuleError naming `field` when it cannot be used."""
    from cryptography import x509

    if data.lstrip().startswith(b'-----BEGIN') or b'-----BEGIN CERTIFICATE-----' in data:
        if b'-----BEGIN CERTIFICATE-----' not in data:
            raise ModuleError('%s holds PEM data but no certificate (-----BEGIN CERTIFICATE-----).' % field)
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise ModuleError('%s holds a PEM certificate that cannot be read.' % field) from None
        if len(found) != 1:
            raise ModuleError('%s holds %d certificates; give one CA certificate per task (loop over the '
                              'certificates of a bundle).' % (field, len(found)))
        cert = found[0]
    else:
        try:
            cert = x509.load_der_x509_certificate(data)
        except ValueError:
            cert = None
        if cert is None:
            cert = _from_pfx(data, password, field)
    return _describe(cert, field)


def _from_pfx(data, password, field):
    from cryptography.hazmat.primitives.serialization import pkcs12

    secret = password.encode('utf-8') if password else None
    try:
        _key, cert, chain = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        if 'deserialize' in str(exc):
            raise ModuleError('%s is not a certificate in PEM, DER or PFX (PKCS#12) form.' % field) from None
        raise ModuleError('certificate_password does not open the PFX given in %s.' % field) from None
    if cert is None:
        if len(chain or []) != 1:
            raise ModuleError('%s is a PFX with %d certificates and none marked as its own; give one CA '
                              'certificate per task.' % (field, len(chain or [])))
        cert = chain[0]
    return cert


def _describe(cert, field):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashes.Hash(hashes.SHA1())  # nosec - SHA-1 is the thumbprint algorithm APIM reports
    digest.update(der)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    info = CaCertificate(der, digest.finalize().hex().upper(), windows_subject(cert.subject),
                         cert.not_valid_after_utc, is_ca, cert.issuer == cert.subject)
    if info.not_after <= utcnow():
        raise ModuleError('The certificate in %s (subject %s, thumbprint %s) expired on %s.'
                          % (field, info.subject, info.thumbprint, format_date(info.not_after)))
    return info


def entry_view(entry):
    """A certificates[] entry of the service as a plain dict (no encoded certificate, no password)."""
    info = entry.certificate
    return dict(store=entry.store_name, thumbprint=(info.thumbprint or '').upper() if info else None,
                subject=info.subject if info else None,
                expiration_date=format_date(info.expiry) if info and info.expiry else None)


def planned_view(certificate, store):
    return dict(store=store, thumbprint=certificate.thumbprint, subject=certificate.subject,
                expiration_date=format_date(certificate.not_after))


def _thumbprint(entry):
    return ((entry.certificate.thumbprint if entry.certificate else None) or '').upper()


def merge_present(entries, certificate, store):
    """New entries, or None when the certificate is already in `store`.

    Entries are the service's CertificateConfiguration objects, sent back as read; the list keeps its
    order and only the entry with the certificate's thumbprint is added or changed.
    """
    from azure.mgmt.apimanagement.models import CertificateConfiguration

    wanted = CertificateConfiguration(store_name=store, encoded_certificate=certificate.encoded)
    entries = list(entries)
    same = [i for i, e in enumerate(entries) if _thumbprint(e) == certificate.thumbprint]
    if any(entries[i].store_name == store for i in same):
        return None
    if same:
        # Installed in the other store: move it (the service keys entries by thumbprint).
        entries[same[0]] = wanted
        return [e for i, e in enumerate(entries) if i not in same[1:]]
    if len(entries) >= MAX_CA_CERTIFICATES:
        raise ModuleError('The service already has %d CA certificates, the most it allows (%s). Remove one with '
                          'state=absent first.' % (len(entries), ', '.join(
                              '%s in %s' % (_thumbprint(e), e.store_name) for e in entries)))
    entries.append(wanted)
    return entries


def merge_absent(entries, thumbprint, store=None):
    """New entries without `thumbprint` (in `store`, or any store), or None when it is not there."""
    thumbprint = thumbprint.upper()
    kept = [e for e in entries if not (_thumbprint(e) == thumbprint and (store is None or e.store_name == store))]
    return None if len(kept) == len(entries) else kept
