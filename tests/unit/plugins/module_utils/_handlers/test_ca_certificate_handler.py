"""CA certificates: reading PEM/DER/PFX, merging into the service's list by thumbprint."""

import base64
import datetime

import pytest
from azure.mgmt.apimanagement.models import CertificateConfiguration, CertificateInformation
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.ca_certificate import (
    MAX_CA_CERTIFICATES, entry_view, load_ca_certificate, merge_absent, merge_present, read_certificate_bytes)


def make_ca(name='Test Root CA', days=3650, ca=True, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))
    return cert, key


def thumbprint(cert):
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # nosec - APIM's thumbprint


@pytest.fixture(scope='module')
def root():
    return make_ca()


def test_pem_der_and_pfx_give_the_same_der(root, tmp_path):
    cert, key = root
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    pfx = pkcs12.serialize_key_and_certificates(b'ca', key, cert, None, BestAvailableEncryption(b'pw'))
    path = tmp_path / 'ca.der'
    path.write_bytes(der)

    def load(password=None, **source):
        data, field = read_certificate_bytes(**source)
        return load_ca_certificate(data, password, field)

    loaded = [load(path=str(path)), load(content=pem.decode()), load(content=base64.b64encode(der).decode()),
              load('pw', content=base64.b64encode(pfx).decode())]
    assert {c.encoded for c in loaded} == {base64.b64encode(der).decode()}
    assert {c.thumbprint for c in loaded} == {thumbprint(cert)}
    assert loaded[0].is_ca and loaded[0].self_signed and loaded[0].subject == 'CN=Test Root CA'


def test_a_pfx_holding_only_the_ca_certificate(root):
    cert, _key = root
    pfx = pkcs12.serialize_key_and_certificates(None, None, None, [cert], BestAvailableEncryption(b'pw'))
    assert load_ca_certificate(pfx, 'pw', 'certificate_content').thumbprint == thumbprint(cert)


@pytest.mark.parametrize('data, password, message', [
    (b'-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', None, 'no certificate'),
    (b'\x30\x82\x01\x00' + b'\x00' * 40, None, 'not a certificate in PEM, DER or PFX'),
])
def test_unreadable_certificates(data, password, message):
    with pytest.raises(ModuleError, match=message):
        load_ca_certificate(data, password, 'certificate_path')


def test_wrong_pfx_password_names_the_option(root):
    cert, key = root
    pfx = pkcs12.serialize_key_and_certificates(b'ca', key, cert, None, BestAvailableEncryption(b'pw'))
    with pytest.raises(ModuleError, match='certificate_password does not open'):
        load_ca_certificate(pfx, 'wrong', 'certificate_path')


def test_bundles_and_expired_certificates_are_refused(root):
    pem = root[0].public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ModuleError, match='holds 2 certificates'):
        load_ca_certificate(pem + pem, None, 'certificate_path')
    expired = make_ca(days=-1)[0]
    with pytest.raises(ModuleError, match='expired on'):
        load_ca_certificate(expired.public_bytes(serialization.Encoding.DER), None, 'certificate_path')


def test_bad_content_and_path():
    with pytest.raises(ModuleError, match='neither PEM text nor base64'):
        read_certificate_bytes(content='not base64!')
    with pytest.raises(ModuleError, match='certificate_path /nonexistent cannot be read'):
        read_certificate_bytes(path='/nonexistent')


def entry(thumb, store='Root'):
    return CertificateConfiguration(store_name=store, certificate=CertificateInformation(
        thumbprint=thumb, subject='CN=%s' % thumb, expiry=datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)))


def test_merge_present_adds_keeps_and_moves(root):
    desired = load_ca_certificate(root[0].public_bytes(serialization.Encoding.DER), None, 'certificate_path')
    others = [entry('AA'), entry('BB', 'CertificateAuthority')]
    merged = merge_present(others, desired, 'Root')
    assert merged[:2] == others and merged[2].encoded_certificate == desired.encoded
    assert merged[2].certificate_password is None
    installed = others + [entry(desired.thumbprint.lower())]
    assert merge_present(installed, desired, 'Root') is None
    moved = merge_present(installed, desired, 'CertificateAuthority')
    assert [e.store_name for e in moved] == ['Root', 'CertificateAuthority', 'CertificateAuthority']
    assert moved[2].encoded_certificate == desired.encoded


def test_merge_present_respects_the_limit(root):
    desired = load_ca_certificate(root[0].public_bytes(serialization.Encoding.DER), None, 'certificate_path')
    full = [entry('%02X' % i) for i in range(MAX_CA_CERTIFICATES)]
    with pytest.raises(ModuleError, match='already has 10 CA certificates'):
        merge_present(full, desired, 'Root')


def test_merge_absent_removes_only_the_thumbprint():
    entries = [entry('AA'), entry('BB', 'CertificateAuthority')]
    assert merge_absent(entries, 'aa') == [entries[1]]
    assert merge_absent(entries, 'BB', 'Root') is None
    assert merge_absent(entries, 'CC') is None


def test_entry_view():
    assert entry_view(entry('aa')) == dict(store='Root', thumbprint='AA', subject='CN=aa',
                                           expiration_date='2035-01-01T00:00:00Z')
