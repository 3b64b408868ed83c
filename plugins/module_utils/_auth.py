# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential sources and cloud endpoints, with azure.azcollection's option names and precedence.

Private to this collection: no API promise to other collections.
"""

from __future__ import annotations

import configparser
import json
import os

AUTH_SOURCES = ('auto', 'cli', 'credential_file', 'env', 'msi')

# option name -> environment variable, exactly as azure.azcollection (and AWX's
# "Microsoft Azure Resource Manager" credential) names them.
ENV_MAPPING = {
    'profile': 'AZURE_PROFILE',
    'subscription_id': 'AZURE_SUBSCRIPTION_ID',
    'client_id': 'AZURE_CLIENT_ID',
    'secret': 'AZURE_SECRET',
    'tenant': 'AZURE_TENANT',
    'ad_user': 'AZURE_AD_USER',
    'password': 'AZURE_PASSWORD',
    'cloud_environment': 'AZURE_CLOUD_ENVIRONMENT',
}
CA_BUNDLE_ENV = 'AZURE_CA_BUNDLE'
AUTH_SOURCE_ENV = 'ANSIBLE_AZURE_AUTH_SOURCE'
CREDENTIAL_FILE = os.path.join('~', '.azure', 'credentials')
CLI_PROFILE_FILE = os.path.join('~', '.azure', 'azureProfile.json')

# Azure CLI's public client id: azure.azcollection signs in users (ad_user/password) with it too.
CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'

AUTH_ARGSPEC = dict(
    auth_source=dict(type='str', choices=list(AUTH_SOURCES), no_log=False),
    profile=dict(type='str'),
    subscription_id=dict(type='str'),
    client_id=dict(type='str'),
    secret=dict(type='str', no_log=True),
    tenant=dict(type='str'),
    ad_user=dict(type='str'),
    password=dict(type='str', no_log=True),
    cloud_environment=dict(type='str'),
    ca_bundle=dict(type='path'),
)


class AuthError(Exception):
    """A problem with the credentials or the cloud, found before or while signing in."""


class Cloud:
    """The endpoints of one Azure cloud."""

    def __init__(self, name, resource_manager, login, audience, key_vault_dns, custom=False):
        self.name = name
        self.resource_manager = resource_manager.rstrip('/')
        self.login = login.rstrip('/')
        self.audience = audience
        self.key_vault_dns = key_vault_dns
        # Clouds read from a metadata endpoint (Azure Stack Hub, private clouds) have an
        # authority that Azure AD's instance discovery does not know.
        self.custom = custom

    @property
    def arm_scope(self):
        return self.audience.rstrip('/') + '/.default'


KNOWN_CLOUDS = {
    'AzureCloud': Cloud('AzureCloud', 'https://management.azure.com', 'https://login.microsoftonline.com',
                        'https://management.core.windows.net/', 'vault.azure.net'),
    'AzureChinaCloud': Cloud('AzureChinaCloud', 'https://management.chinacloudapi.cn', 'https://login.chinacloudapi.cn',
                             'https://management.core.chinacloudapi.cn/', 'vault.azure.cn'),
    'AzureUSGovernment': Cloud('AzureUSGovernment', 'https://management.usgovcloudapi.net',
                               'https://login.microsoftonline.us', 'https://management.core.usgovcloudapi.net/',
                               'vault.usgovcloudapi.net'),
}

METADATA_API_VERSION = '2022-09-01'


def metadata_url(value):
    """The metadata URL for a cloud_environment given as a URL.

    Accepts the full metadata URL, or a resource manager URL (as Azure Stack Hub users give it),
    to which the metadata path is appended.
    """
    if '/metadata/endpoints' in value:
        return value
    return '%s/metadata/endpoints?api-version=%s' % (value.rstrip('/'), METADATA_API_VERSION)


def cloud_from_metadata(document, url):
    """Build a Cloud from an ARM metadata document: the array form (current) or the single-object form."""
    if isinstance(document, list):
        if not document:
            raise AuthError('The metadata endpoint %s returned no cloud.' % url)
        document = document[0]
    if not isinstance(document, dict) or 'authentication' not in document:
        raise AuthError('The metadata endpoint %s did not return ARM cloud metadata '
                        '(no "authentication" section).' % url)
    auth = document['authentication']
    # The older Azure Stack form has no resourceManager: the metadata lives on the ARM host itself.
    resource_manager = document.get('resourceManager') or url.split('/metadata/endpoints')[0]
    audiences = auth.get('audiences') or [resource_manager]
    key_vault_dns = (document.get('suffixes') or {}).get('keyVaultDns')
    if not key_vault_dns:
        # Not in the older form; Azure Stack Hub names its vaults vault.<region>.<fqdn>, the ARM
        # host being management.<region>.<fqdn>.
        host = resource_manager.split('://', 1)[-1].split('/')[0]
        key_vault_dns = 'vault.' + host.split('.', 1)[-1]
    return Cloud(document.get('name') or 'custom', resource_manager, auth['loginEndpoint'],
                 audiences[0], key_vault_dns, custom=True)


def resolve_cloud(value, ca_bundle=None, fetch=None):
    """A Cloud for cloud_environment: a known cloud name or a metadata URL."""
    value = value or 'AzureCloud'
    if value in KNOWN_CLOUDS:
        return KNOWN_CLOUDS[value]
    if not value.lower().startswith('https://'):
        raise AuthError('cloud_environment %r is neither one of %s nor an https:// metadata endpoint URL.'
                        % (value, ', '.join(sorted(KNOWN_CLOUDS))))
    url = metadata_url(value)
    fetch = fetch or _fetch_json
    return cloud_from_metadata(fetch(url, ca_bundle), url)


def _fetch_json(url, ca_bundle):
    from ansible.module_utils.urls import open_url

    try:
        response = open_url(url, method='GET', validate_certs=True, ca_path=ca_bundle, timeout=30,
                            headers={'Accept': 'application/json'})
        return json.loads(response.read())
    except Exception as exc:  # open_url raises many types (URLError, SSLError, HTTPError, ValueError)
        raise AuthError('Could not read cloud metadata from %s: %s' % (url, exc)) from exc


class Credentials:
    """What one credential source yielded."""

    def __init__(self, source, values):
        self.source = source
        self.values = values

    def get(self, key):
        return self.values.get(key)


def _env_values(environ):
    return {key: environ.get(var) for key, var in ENV_MAPPING.items() if environ.get(var)}


def _profile_values(profile, path):
    parser = configparser.ConfigParser()
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return None
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise AuthError('Cannot parse the credential file %s: %s' % (path, exc)) from exc
    if not parser.has_section(profile):
        return None
    return {key: parser.get(profile, key) for key in ENV_MAPPING if parser.has_option(profile, key)}


def select_credentials(params, environ=None, credential_file=CREDENTIAL_FILE):
    """Pick the credential source as azure.azcollection does.

    auto: module parameters -> environment -> the default profile of the credential file -> Azure CLI.
    """
    environ = os.environ if environ is None else environ
    source = params.get('auth_source') or environ.get(AUTH_SOURCE_ENV) or 'auto'
    if source not in AUTH_SOURCES:
        raise AuthError('auth_source must be one of %s, got %r.' % (', '.join(AUTH_SOURCES), source))
    param_values = {key: params.get(key) for key in ENV_MAPPING if params.get(key)}

    def profile(name, origin):
        values = _profile_values(name, credential_file)
        if values is None:
            raise AuthError('Profile %r (from %s) was not found in %s.' % (name, origin, credential_file))
        return Credentials('credential_file', values)

    if source == 'env':
        return Credentials('env', _env_values(environ))
    if source == 'credential_file':
        name = params.get('profile') or environ.get('AZURE_PROFILE') or 'default'
        return profile(name, 'profile' if params.get('profile') else 'the default')
    if source in ('cli', 'msi'):
        return Credentials(source, param_values)

    if params.get('profile'):
        return profile(params['profile'], 'the profile option')
    if params.get('client_id') or params.get('ad_user'):
        return Credentials('params', param_values)
    env = _env_values(environ)
    if env.get('profile'):
        return profile(env['profile'], 'AZURE_PROFILE')
    if env.get('client_id') or env.get('ad_user'):
        return Credentials('env', env)
    default = _profile_values('default', credential_file)
    if default:
        return Credentials('credential_file', default)
    return Credentials('cli', param_values)


def cli_default_subscription(path=CLI_PROFILE_FILE):
    """The Azure CLI's default subscription id, read from its profile file (no azure-cli-core)."""
    path = os.path.expanduser(path)
    try:
        with open(path, encoding='utf-8-sig') as handle:
            subscriptions = json.load(handle).get('subscriptions', [])
    except (OSError, ValueError):
        return None
    for subscription in subscriptions:
        if subscription.get('isDefault'):
            return subscription.get('id')
    return None


class AzureAuth:
    """Resolved authentication: a cloud, a subscription and an azure-identity credential (built lazily)."""

    def __init__(self, params, environ=None, credential_file=CREDENTIAL_FILE, fetch=None):
        environ = os.environ if environ is None else environ
        self.credentials = select_credentials(params, environ, credential_file)
        creds = self.credentials
        self.ca_bundle = params.get('ca_bundle') or environ.get(CA_BUNDLE_ENV) or creds.get('ca_bundle')
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise AuthError('ca_bundle %s does not exist or is not a file.' % self.ca_bundle)
        self._cloud_value = params.get('cloud_environment') or creds.get('cloud_environment') or 'AzureCloud'
        self._fetch = fetch
        self._cloud = None
        self.subscription_id = params.get('subscription_id') or creds.get('subscription_id')
        if not self.subscription_id and creds.source == 'cli':
            self.subscription_id = cli_default_subscription()
        if not self.subscription_id:
            raise AuthError('No subscription_id: set the subscription_id option or AZURE_SUBSCRIPTION_ID '
                            '(credential source: %s).' % creds.source)
        if creds.source in ('params', 'env', 'credential_file'):
            has_sp = creds.get('client_id') and creds.get('secret') and creds.get('tenant')
            has_user = creds.get('ad_user') and creds.get('password')
            if not (has_sp or has_user):
                raise AuthError('Incomplete credentials from %s: a service principal needs client_id, secret '
                                'and tenant (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT); a user needs ad_user '
                                'and password.' % creds.source)
        self._credential = None

    @property
    def cloud(self):
        if self._cloud is None:
            self._cloud = resolve_cloud(self._cloud_value, self.ca_bundle, self._fetch)
        return self._cloud

    def transport_kwargs(self):
        """Keyword arguments every azure-core pipeline here gets: CA bundle and one retry policy.

        azure-core's RetryPolicy retries 429 and 5xx honouring Retry-After; this is the only place
        its settings are chosen.
        """
        kwargs = dict(retry_total=4, retry_backoff_factor=0.8, retry_backoff_max=60)
        if self.ca_bundle:
            kwargs['connection_verify'] = self.ca_bundle
        return kwargs

    def credential(self):
        if self._credential is None:
            self._credential = self._build_credential()
        return self._credential

    def _build_credential(self):
        from azure import identity

        creds = self.credentials
        kwargs = dict(self.transport_kwargs())
        source = creds.source
        if source == 'msi':
            return identity.ManagedIdentityCredential(client_id=creds.get('client_id'), **kwargs)
        if source == 'cli':
            return identity.AzureCliCredential(tenant_id=creds.get('tenant'))
        kwargs['authority'] = self.cloud.login
        if self.cloud.custom:
            kwargs['disable_instance_discovery'] = True
        if creds.get('client_id') and creds.get('secret'):
            return identity.ClientSecretCredential(creds.get('tenant'), creds.get('client_id'),
                                                   creds.get('secret'), **kwargs)
        return identity.UsernamePasswordCredential(creds.get('client_id') or CLI_CLIENT_ID, creds.get('ad_user'),
                                                   creds.get('password'), tenant_id=creds.get('tenant'), **kwargs)
