"""CA certificates for the ca_certificate target: a root (PEM), an intermediate (DER and PFX), fillers.

    python make_ca.py DIR PASSWORD   -> JSON facts (paths, thumbprints) on stdout
"""

import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID


def make_ca(common_name, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'mtls.apim tests')])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))
    return cert, key


def main(directory, password):
    os.makedirs(directory, exist_ok=True)

    def put(name, data):
        path = os.path.join(directory, name)
        with open(path, 'wb') as handle:
            handle.write(data)
        return path

    def thumbprint(cert):
        return cert.fingerprint(hashes.SHA1()).hex().upper()  # nosec - APIM's thumbprint

    root = make_ca('mtls.apim Test Root CA')
    intermediate = make_ca('mtls.apim Test Issuing CA', issuer=root)
    facts = {
        'root': {'pem': put('root.pem', root[0].public_bytes(serialization.Encoding.PEM)),
                 'thumbprint': thumbprint(root[0])},
        'intermediate': {
            'der': put('intermediate.der', intermediate[0].public_bytes(serialization.Encoding.DER)),
            'pfx': put('intermediate.pfx', pkcs12.serialize_key_and_certificates(
                b'issuing', intermediate[1], intermediate[0], None, BestAvailableEncryption(password.encode()))),
            'thumbprint': thumbprint(intermediate[0])},
        'fillers': [],
    }
    for index in range(9):
        cert, _key = make_ca('mtls.apim Filler CA %d' % index)
        facts['fillers'].append({'pem': put('filler%d.pem' % index, cert.public_bytes(serialization.Encoding.PEM)),
                                 'thumbprint': thumbprint(cert)})
    print(json.dumps(facts))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
