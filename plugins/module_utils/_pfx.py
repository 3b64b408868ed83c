# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a PFX (PKCS#12) locally: its thumbprint, subject and expiry, and what is wrong with it."""

from __future__ import annotations

import base64
import binascii
import datetime

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError


class PfxInfo:
    """What the service will report for a PFX, computed locally; never holds key material."""

    def __init__(self, thumbprint, subject, not_after):
        self.thumbprint = thumbprint
        self.subject = subject
        self.not_after = not_after


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def read_file(path, field):
    """The bytes of a file on the machine running the module; ModuleError naming `field` when unusable."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise ModuleError('%s %s cannot be read: %s.' % (field, path, exc.strerror or exc)) from None
    if not data.strip():
        raise ModuleError('%s %s is empty.' % (field, path))
    return data


def read_pfx_bytes(path=None, content=None):
    """The PFX bytes from a file path or base64 content; ModuleError naming the option otherwise."""
    if path is not None:
        return read_file(path, 'pfx_path'), 'pfx_path'
    try:
        data = base64.b64decode(''.join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ModuleError('pfx_content is not valid base64: give the PFX file base64-encoded '
                          '(for example with the b64encode filter on a slurped file), or use pfx_path.') from None
    if not data:
        raise ModuleError('pfx_content is empty.')
    return data, 'pfx_content'


def inspect_pfx(data, password, field):
    """Parse a PFX as the service will; raise ModuleError naming `field` or `password` when it cannot be used."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    if data.lstrip().startswith(b'-----BEGIN'):
        raise ModuleError('%s holds PEM text, not a PFX (PKCS#12) file. Convert it, for example with '
                          '"openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx".' % field)
    secret = password.encode('utf-8') if password else None
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        if 'deserialize' in str(exc):
            raise ModuleError('%s is not a readable PFX (PKCS#12) file: the data is corrupt or of another '
                              'format.' % field) from None
        raise ModuleError('password does not open the PFX given in %s: check the password (leave it out '
                          'only for a PFX without one).' % field) from None
    if key is None:
        raise ModuleError('%s holds no private key: a client certificate for APIM must be a PFX with its '
                          'private key (openssl pkcs12 -export -inkey ...).' % field)
    if cert is None:
        raise ModuleError('%s holds a private key but no certificate for it.' % field)
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashes.Hash(hashes.SHA1())  # nosec - SHA-1 is the thumbprint algorithm APIM reports
    digest.update(der)
    not_after = cert.not_valid_after_utc
    info = PfxInfo(digest.finalize().hex().upper(), windows_subject(cert.subject), not_after)
    if not_after <= utcnow():
        raise ModuleError('The certificate in %s (subject %s, thumbprint %s) expired on %s: give a '
                          'current certificate.' % (field, info.subject, info.thumbprint, format_date(not_after)))
    return info


def windows_subject(name):
    """A subject as APIM reports it: .NET's X500DistinguishedName form, most specific first, ', ' between."""
    return ', '.join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def format_date(value):
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def days_left(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return (value - utcnow()).days
