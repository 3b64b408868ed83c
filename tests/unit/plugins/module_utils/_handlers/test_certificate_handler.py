"""Key Vault identifiers and the comparisons that make the certificate module idempotent."""

from types import SimpleNamespace

import pytest

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.certificate import (
    KeyVaultCertificate, KeyVaultSecretId, PfxCertificate)
from ansible_collections.mtls.apim.plugins.module_utils._pfx import PfxInfo


def test_versionless_and_versioned_secret_ids():
    plain = KeyVaultSecretId('https://kv.vault.azure.net/secrets/client/')
    assert (plain.name, plain.version, plain.versionless) == ('client', None, 'https://kv.vault.azure.net/secrets/client')
    versioned = KeyVaultSecretId('https://kv.vault.azure.net/secrets/client/0123456789abcdef0123456789abcdef')
    assert versioned.version == '0123456789abcdef0123456789abcdef'


@pytest.mark.parametrize('value, message', [
    ('https://kv.vault.azure.net/certificates/client', 'Key Vault certificate'),
    ('https://kv.vault.azure.net/keys/client', 'Key Vault key'),
    ('http://kv.vault.azure.net/secrets/client', 'must be a Key Vault secret identifier'),
    ('https://kv.vault.azure.net/secrets/', 'must be a Key Vault secret identifier'),
    ('https://kv.vault.azure.net/secrets/a/b/c', 'must be a Key Vault secret identifier'),
    ('kv/secrets/client', 'must be a Key Vault secret identifier'),
])
def test_bad_secret_ids(value, message):
    with pytest.raises(ModuleError, match=message):
        KeyVaultSecretId(value)


def contract(thumbprint='AA', secret=None, identity=None):
    key_vault = SimpleNamespace(secret_identifier=secret, identity_client_id=identity) if secret else None
    return SimpleNamespace(thumbprint=thumbprint, key_vault=key_vault)


def test_key_vault_match_ignores_case_and_trailing_slash_but_not_identity():
    desired = KeyVaultCertificate(KeyVaultSecretId('https://KV.vault.azure.net/secrets/Client'), None)
    assert desired.matches(contract(secret='https://kv.vault.azure.net/secrets/client/'))
    assert not desired.matches(contract(secret='https://kv.vault.azure.net/secrets/client', identity='abc'))
    assert not desired.matches(contract(secret='https://kv.vault.azure.net/secrets/other'))
    assert not desired.matches(contract())


def test_pfx_match_by_thumbprint_only_for_uploaded_certificates():
    desired = PfxCertificate(PfxInfo('ABCD', 'CN=x', None), b'', None)
    assert desired.matches(contract(thumbprint='abcd'))
    assert not desired.matches(contract(thumbprint='ABCE'))
    assert not desired.matches(contract(thumbprint='ABCD', secret='https://kv.vault.azure.net/secrets/x'))
