# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key Vault certificates (data plane): read the current version, import a new one."""

from __future__ import annotations

import functools

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._pfx import format_date

FIREWALL_HINT = ('The vault firewall refuses this machine\'s address. Allow it for the time of the import with '
                 'mtls.apim.vault_network (ip_rules, state: present) and remove it afterwards (state: absent), '
                 'ideally in a block/always.')


def _explain_firewall(func):
    """Add what to do to the vault firewall's refusal of this machine."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _errors.AzureError as exc:
            if 'ForbiddenByFirewall' in exc.msg or 'Client address is not authorized' in exc.msg:
                raise ModuleError('%s %s' % (exc.msg, FIREWALL_HINT), **exc.details) from None
            raise

    return wrapper


class VaultCertificateHandler:
    """One certificate in one vault through azure-keyvault-certificates."""

    def __init__(self, client, vault_url, name):
        self.client = client
        self.vault_url = vault_url.rstrip('/')
        self.name = name

    @_explain_firewall
    @_errors.read('Reading the Key Vault certificate')
    def get(self):
        return self.client.get_certificate(self.name)

    @_explain_firewall
    @_errors.write('Importing the certificate into Key Vault')
    def import_pfx(self, data, password):
        return self.client.import_certificate(self.name, data, password=password or None)

    @property
    def versionless_secret_id(self):
        return '%s/secrets/%s' % (self.vault_url, self.name)


def thumbprint_of(certificate):
    raw = certificate.properties.x509_thumbprint if certificate is not None else None
    return raw.hex().upper() if raw else None


def vault_certificate_result(handler, certificate, subject=None):
    expires = certificate.properties.expires_on
    return dict(name=handler.name, vault_url=handler.vault_url,
                secret_id=handler.versionless_secret_id, versioned_secret_id=certificate.secret_id,
                id=certificate.id, version=certificate.properties.version, thumbprint=thumbprint_of(certificate),
                subject=subject, expires_on=format_date(expires) if expires else None)


def vault_url_from(params, vault_lookup):
    """vault_url as given, or the vault's URI read through management."""
    if params['vault_url']:
        url = params['vault_url'].rstrip('/')
        if not url.lower().startswith('https://'):
            raise ModuleError('vault_url must be the https URL of the vault, for example '
                              'https://<name>.vault.azure.net, got %r.' % params['vault_url'])
        return url
    return vault_lookup().properties.vault_uri.rstrip('/')
