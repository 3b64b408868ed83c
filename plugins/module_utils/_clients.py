# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lazy client factories, one per SDK: a module imports only the SDKs it uses."""

from __future__ import annotations

import importlib

# kind -> (importable package, pip name)
SDKS = {
    'identity': 'azure.identity',
    'apim': 'azure.mgmt.apimanagement',
    'keyvault': 'azure.mgmt.keyvault',
    'authorization': 'azure.mgmt.authorization',
    'network': 'azure.mgmt.network',
    'vault_certificates': 'azure.keyvault.certificates',
    'cryptography': 'cryptography',
}
PIP_NAMES = {
    'identity': 'azure-identity',
    'apim': 'azure-mgmt-apimanagement',
    'keyvault': 'azure-mgmt-keyvault',
    'authorization': 'azure-mgmt-authorization',
    'network': 'azure-mgmt-network',
    'vault_certificates': 'azure-keyvault-certificates',
    'cryptography': 'cryptography',
}


def with_etag(pipeline_response, deserialized, headers):
    """`cls` callback for an SDK get: the model and its ETag, for If-Match on the write that follows."""
    return deserialized, (headers or {}).get('ETag')


def import_error(kind):
    """The traceback text if the SDK of `kind` cannot be found, else None (the import itself waits)."""
    import importlib.util

    name = SDKS[kind]
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    return 'No module named %r' % name


def _management(package, client_class, auth):
    cloud = auth.cloud
    module = importlib.import_module(package)
    return getattr(module, client_class)(auth.credential(), auth.subscription_id, base_url=cloud.resource_manager,
                                         credential_scopes=[cloud.arm_scope], **auth.transport_kwargs())


def apim(auth):
    return _management('azure.mgmt.apimanagement', 'ApiManagementClient', auth)


def keyvault(auth):
    return _management('azure.mgmt.keyvault', 'KeyVaultManagementClient', auth)


def authorization(auth):
    return _management('azure.mgmt.authorization', 'AuthorizationManagementClient', auth)


def network(auth):
    return _management('azure.mgmt.network', 'NetworkManagementClient', auth)


def vault_certificates(auth, vault_url):
    """A Key Vault certificates client for one vault (data plane; its scope comes from the vault's challenge)."""
    module = importlib.import_module('azure.keyvault.certificates')
    return module.CertificateClient(vault_url, auth.credential(), **auth.transport_kwargs())


FACTORIES = {
    'apim': apim,
    'keyvault': keyvault,
    'authorization': authorization,
    'network': network,
}
