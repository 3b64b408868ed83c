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
    'cryptography': 'cryptography',
}
PIP_NAMES = {
    'identity': 'azure-identity',
    'apim': 'azure-mgmt-apimanagement',
    'cryptography': 'cryptography',
}


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


def apim(auth):
    module = importlib.import_module('azure.mgmt.apimanagement')
    cloud = auth.cloud
    return module.ApiManagementClient(auth.credential(), auth.subscription_id, base_url=cloud.resource_manager,
                                      credential_scopes=[cloud.arm_scope], **auth.transport_kwargs())


FACTORIES = {
    'apim': apim,
}
