"""The outcome users care about: through the sandbox's gateway, APIM reaches a real nginx that demands a
client certificate, once the collection's modules have put the pieces in place."""

import json
import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'support'))

from nginx import MtlsBackend, find_nginx, NginxUnavailable  # noqa: E402


@pytest.fixture(scope='module')
def nginx(tmp_path_factory):
    try:
        find_nginx()
        socket.getaddrinfo('apim-gw.azure-api.localhost', 443)
    except (NginxUnavailable, socket.gaierror) as exc:
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail('nginx or *.localhost resolution missing: %s (tools/setup-system.sh sets both up)' % exc)
        pytest.skip(str(exc))
    with MtlsBackend(tmp_path_factory.mktemp('nginx')) as backend:
        yield backend


def test_mtls_gateway_target(playbook, nginx, tmp_path):
    import base64

    pfx_b64, password, subject = nginx.client_pfx('orders-gateway')
    (tmp_path / 'client.pfx').write_bytes(base64.b64decode(pfx_b64))
    (tmp_path / 'server-ca.pem').write_bytes(nginx.server_ca_pem)
    extra = {'nginx': {'port': nginx.port, 'url': nginx.url, 'access_log': os.path.join(nginx.prefix, 'access.log'),
                       'client_pfx': str(tmp_path / 'client.pfx'), 'client_password': password,
                       'client_subject': subject, 'server_ca': str(tmp_path / 'server-ca.pem')}}
    vars_file = tmp_path / 'nginx.json'
    vars_file.write_text(json.dumps(extra))
    result = playbook.run('mtls_gateway', args=['-e', '@' + str(vars_file)])
    assert 'failed=0' in result.stdout, result.stdout
    # nginx saw the client certificate the collection uploaded, by its subject.
    seen = [entry['client_s_dn'] for entry in nginx.access_log() if entry['status'] == 200]
    assert seen and all('CN=orders-gateway' in dn for dn in seen), seen
