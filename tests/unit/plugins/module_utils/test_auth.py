"""Credential selection and cloud endpoints, with azure.azcollection's names and precedence."""

import json

import pytest

from ansible_collections.mtls.apim.plugins.module_utils import _auth
from ansible_collections.mtls.apim.plugins.module_utils._auth import AuthError, AzureAuth, select_credentials

SP_ENV = {'AZURE_CLIENT_ID': 'env-app', 'AZURE_SECRET': 'env-secret', 'AZURE_TENANT': 'env-tenant',
          'AZURE_SUBSCRIPTION_ID': 'env-sub'}


@pytest.fixture
def credential_file(tmp_path):
    path = tmp_path / 'credentials'
    path.write_text('[default]\nsubscription_id=file-sub\nclient_id=file-app\nsecret=file-secret\ntenant=file-t\n'
                    '[prod]\nsubscription_id=prod-sub\nclient_id=prod-app\nsecret=prod-secret\ntenant=prod-t\n'
                    'cloud_environment=AzureChinaCloud\n')
    return str(path)


def params(**values):
    base = {key: None for key in _auth.AUTH_ARGSPEC}
    base.update(values)
    return base


def test_auto_prefers_module_options_over_environment(credential_file):
    creds = select_credentials(params(client_id='opt-app', secret='s', tenant='t'), SP_ENV, credential_file)
    assert creds.source == 'params' and creds.get('client_id') == 'opt-app'


def test_auto_uses_environment_before_credential_file(credential_file):
    creds = select_credentials(params(), SP_ENV, credential_file)
    assert creds.source == 'env' and creds.get('secret') == 'env-secret'


def test_auto_uses_default_profile_then_cli(credential_file, tmp_path):
    assert select_credentials(params(), {}, credential_file).get('client_id') == 'file-app'
    assert select_credentials(params(), {}, str(tmp_path / 'missing')).source == 'cli'


def test_profile_from_option_and_from_azure_profile(credential_file):
    assert select_credentials(params(profile='prod'), SP_ENV, credential_file).get('client_id') == 'prod-app'
    env = dict(SP_ENV, AZURE_PROFILE='prod')
    assert select_credentials(params(), env, credential_file).get('tenant') == 'prod-t'
    with pytest.raises(AuthError, match="Profile 'nope'"):
        select_credentials(params(profile='nope'), {}, credential_file)


def test_explicit_sources(credential_file):
    assert select_credentials(params(auth_source='env', client_id='x'), SP_ENV, credential_file).source == 'env'
    env = {'ANSIBLE_AZURE_AUTH_SOURCE': 'credential_file'}
    assert select_credentials(params(), env, credential_file).get('subscription_id') == 'file-sub'
    assert select_credentials(params(auth_source='msi', client_id='uami'), {}, credential_file).source == 'msi'


def test_subscription_option_overrides_and_missing_pieces_are_named(credential_file):
    auth = AzureAuth(params(subscription_id='opt-sub'), SP_ENV, credential_file)
    assert auth.subscription_id == 'opt-sub'
    with pytest.raises(AuthError, match='AZURE_SECRET'):
        AzureAuth(params(), {'AZURE_CLIENT_ID': 'a', 'AZURE_SUBSCRIPTION_ID': 's'}, credential_file)
    with pytest.raises(AuthError, match='subscription_id'):
        AzureAuth(params(client_id='a', secret='b', tenant='c'), {}, credential_file)


def test_known_clouds_and_cloud_from_profile(credential_file):
    assert AzureAuth(params(), SP_ENV, credential_file).cloud.resource_manager == 'https://management.azure.com'
    china = AzureAuth(params(profile='prod'), {}, credential_file).cloud
    assert china.login == 'https://login.chinacloudapi.cn' and china.key_vault_dns == 'vault.azure.cn'
    assert not china.custom


def test_metadata_url_array_form():
    seen = []
    document = [{'name': 'Stack', 'resourceManager': 'https://arm.local:8443/',
                 'authentication': {'loginEndpoint': 'https://login.local/', 'audiences': ['https://arm.local/']},
                 'suffixes': {'keyVaultDns': 'vault.local'}}]

    def fetch(url, ca):
        seen.append((url, ca))
        return document

    cloud = _auth.resolve_cloud('https://arm.local:8443', '/ca.pem', fetch)
    assert seen == [('https://arm.local:8443/metadata/endpoints?api-version=2022-09-01', '/ca.pem')]
    assert (cloud.resource_manager, cloud.login, cloud.arm_scope, cloud.key_vault_dns, cloud.custom) == (
        'https://arm.local:8443', 'https://login.local', 'https://arm.local/.default', 'vault.local', True)


def test_metadata_legacy_azure_stack_form():
    document = {'galleryEndpoint': 'https://gallery', 'graphEndpoint': 'https://graph',
                'authentication': {'loginEndpoint': 'https://adfs.local/adfs', 'audiences': ['https://aud']}}
    url = 'https://management.region.stack.example/metadata/endpoints?api-version=2015-01-01'
    cloud = _auth.resolve_cloud(url, None, lambda u, c: document)
    assert cloud.resource_manager == 'https://management.region.stack.example'
    assert cloud.key_vault_dns == 'vault.region.stack.example'


def test_bad_cloud_environment_is_named():
    with pytest.raises(AuthError, match='cloud_environment'):
        _auth.resolve_cloud('Mars', None)
    with pytest.raises(AuthError, match='authentication'):
        _auth.resolve_cloud('https://x', None, lambda u, c: {'nope': 1})


def test_ca_bundle_must_exist(tmp_path):
    with pytest.raises(AuthError, match='ca_bundle'):
        AzureAuth(params(ca_bundle=str(tmp_path / 'none.pem')), SP_ENV, str(tmp_path / 'c'))
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    auth = AzureAuth(params(), dict(SP_ENV, AZURE_CA_BUNDLE=str(ca)), str(tmp_path / 'c'))
    assert auth.transport_kwargs()['connection_verify'] == str(ca)


def test_cli_default_subscription(tmp_path):
    path = tmp_path / 'azureProfile.json'
    profile = {'subscriptions': [{'id': 'a', 'isDefault': False}, {'id': 'b', 'isDefault': True}]}
    path.write_text('\ufeff' + json.dumps(profile), encoding='utf-8')
    assert _auth.cli_default_subscription(str(path)) == 'b'
    assert _auth.cli_default_subscription(str(tmp_path / 'none')) is None
