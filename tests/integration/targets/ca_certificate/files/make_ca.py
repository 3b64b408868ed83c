"""CA certificates for the ca_certificate target: a root (PEM), an intermediate (DER and PFX), fillers.

    python make_ca.py DIR PASSWORD   -> JSON facts (paths, thumbprints) on stdout
"""

import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..'))
from support.certs import make_cert  # noqa: E402  pylint: disable=wrong-import-position


def make_ca(common_name, issuer=None):
    return make_cert(common_name, days=3650, issuer=issuer, ca=True)


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
