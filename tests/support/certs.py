"""Test certificates: PFX files good and bad, made with cryptography (no key material is committed)."""

import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = 'Pfx-Pass-w0rd!'


def make_cert(common_name, days=365, start_days=-1, issuer=None, ca=False):
    """(certificate, key): self-signed, or signed by `issuer` (a (certificate, key) pair); a CA when `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'mtls.apim tests')])
    issuer_cert, issuer_key = issuer or (None, key)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(days=start_days))
               .not_valid_after(now + datetime.timedelta(days=days)))
    if ca:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=True, crl_sign=True, encipher_only=False,
                                                decipher_only=False), critical=True))
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert, key


def pfx(cert, key, password=PASSWORD):
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    return pkcs12.serialize_key_and_certificates(b'client', key, cert, None, encryption)


def thumbprint(cert):
    digest = hashes.Hash(hashes.SHA1())
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.finalize().hex().upper()


def write_set(directory):
    """Write the integration tests' certificate files to `directory`; return their facts as a dict."""
    import os

    os.makedirs(directory, exist_ok=True)
    facts = {'password': PASSWORD, 'dir': directory}

    def put(name, data):
        path = os.path.join(directory, name)
        with open(path, 'wb') as handle:
            handle.write(data)
        return path

    for label, cn, days in (('client1', 'client-one.mtls.test', 365), ('client2', 'client-two.mtls.test', 365),
                            ('soon', 'expiring-soon.mtls.test', 5)):
        cert, key = make_cert(cn, days=days)
        data = pfx(cert, key)
        facts[label] = {'path': put(label + '.pfx', data), 'b64': base64.b64encode(data).decode(),
                        'thumbprint': thumbprint(cert), 'subject': ', '.join(r.rfc4514_string() for r in reversed(cert.subject.rdns))}
    cert, key = make_cert('expired.mtls.test', days=-1, start_days=-30)
    facts['expired'] = {'path': put('expired.pfx', pfx(cert, key))}
    cert, _key = make_cert('nokey.mtls.test')
    facts['nokey'] = {'path': put('nokey.pfx', pkcs12.serialize_key_and_certificates(
        b'nokey', None, None, [cert],
        BestAvailableEncryption(PASSWORD.encode())))}
    facts['corrupt'] = {'path': put('corrupt.pfx', b'\x30\x82\x05\x00' + os.urandom(200))}
    facts['pem'] = {'path': put('client.pem', cert.public_bytes(serialization.Encoding.PEM))}
    # Unpassworded PFX, as Key Vault hands out a certificate's secret.
    cert, key = make_cert('vault-v1.mtls.test')
    facts['vault1'] = {'b64': base64.b64encode(pfx(cert, key, None)).decode(), 'thumbprint': thumbprint(cert)}
    cert, key = make_cert('vault-v2.mtls.test')
    facts['vault2'] = {'b64': base64.b64encode(pfx(cert, key, None)).decode(), 'thumbprint': thumbprint(cert)}
    put('facts.json', json.dumps(facts).encode())
    return facts


def write_ca(path, common_name='Test Root CA'):
    """A root CA certificate (PEM) at `path`, as a private PKI's root."""
    cert, _key = make_cert(common_name, days=3650, ca=True)
    with open(path, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


if __name__ == '__main__':
    # certs.py DIR: the test set, facts as JSON; certs.py --ca PATH: a root CA certificate.
    if sys.argv[1] == '--ca':
        write_ca(sys.argv[2])
    else:
        print(json.dumps(write_set(sys.argv[1])))
