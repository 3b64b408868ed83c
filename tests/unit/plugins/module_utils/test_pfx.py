"""PFX reading: thumbprint as APIM computes it, and a clear error per kind of bad input."""

import base64
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..'))

from support.certs import make_cert, pfx, thumbprint, write_set  # noqa: E402

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError  # noqa: E402
from ansible_collections.mtls.apim.plugins.module_utils._pfx import inspect_pfx, read_pfx_bytes  # noqa: E402


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return write_set(str(tmp_path_factory.mktemp('certs')))


def test_thumbprint_subject_and_expiry(certs):
    data, field = read_pfx_bytes(certs['client1']['path'])
    info = inspect_pfx(data, certs['password'], field)
    assert field == 'pfx_path'
    assert info.thumbprint == certs['client1']['thumbprint']
    assert info.subject == certs['client1']['subject']


def test_base64_content_with_line_breaks(certs):
    b64 = certs['client2']['b64']
    data, field = read_pfx_bytes(content='\n'.join(b64[i:i + 64] for i in range(0, len(b64), 64)))
    assert inspect_pfx(data, certs['password'], field).thumbprint == certs['client2']['thumbprint']


def test_pfx_without_password():
    cert, key = make_cert('nopass')
    assert inspect_pfx(pfx(cert, key, None), None, 'pfx_content').thumbprint == thumbprint(cert)


@pytest.mark.parametrize('case, password, message', [
    ('corrupt', 'x', 'pfx_path is not a readable PFX'),
    ('client1', 'wrong', 'password does not open the PFX given in pfx_path'),
    ('nokey', None, 'holds no private key'),
    ('expired', None, 'expired on'),
    ('pem', None, 'holds PEM text'),
])
def test_bad_pfx_is_named(certs, case, password, message):
    data, field = read_pfx_bytes(certs[case]['path'])
    with pytest.raises(ModuleError, match=message):
        inspect_pfx(data, certs['password'] if password is None else password, field)


def test_unreadable_sources_are_named(tmp_path):
    with pytest.raises(ModuleError, match='pfx_path .* cannot be read'):
        read_pfx_bytes(str(tmp_path / 'missing.pfx'))
    with pytest.raises(ModuleError, match='pfx_content is not valid base64'):
        read_pfx_bytes(content='not base64!!')
    with pytest.raises(ModuleError, match='pfx_content is empty'):
        read_pfx_bytes(content=base64.b64encode(b'').decode())
