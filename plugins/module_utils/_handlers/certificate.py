# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""APIM certificates: read, compare with the desired state, apply."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._clients import with_etag
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._pfx import days_left, format_date
from ansible_collections.mtls.apim.plugins.module_utils._handlers.service import ServiceHandler

_SECRET_NAME = re.compile(r'^[0-9A-Za-z-]{1,127}$')
_VERSION = re.compile(r'^[0-9A-Za-z]{32}$|^[0-9A-Za-z-]{1,64}$')


class KeyVaultSecretId:
    """A Key Vault secret identifier, versioned or not."""

    def __init__(self, value):
        parts = urlsplit(value or '')
        segments = [s for s in parts.path.split('/') if s]
        hint = ('key_vault_secret_id must be a Key Vault secret identifier such as '
                'https://<vault>.vault.azure.net/secrets/<name> (versionless, so that APIM follows rotation); '
                'got %r.' % value)
        if parts.scheme != 'https' or not parts.hostname or parts.query or parts.fragment:
            raise ModuleError(hint)
        if segments and segments[0].lower() in ('certificates', 'keys'):
            raise ModuleError('key_vault_secret_id points at a Key Vault %s (%s); APIM reads certificates '
                              'through their secret: use the same URL with /secrets/ instead of /%s/.'
                              % (segments[0][:-1], value, segments[0]))
        if len(segments) not in (2, 3) or segments[0].lower() != 'secrets' or not _SECRET_NAME.match(segments[1]):
            raise ModuleError(hint)
        if len(segments) == 3 and not _VERSION.match(segments[2]):
            raise ModuleError(hint)
        self.value = value.rstrip('/')
        self.vault_url = '%s://%s' % (parts.scheme, parts.netloc)
        self.name = segments[1]
        self.version = segments[2] if len(segments) == 3 else None

    @property
    def versionless(self):
        return '%s/secrets/%s' % (self.vault_url, self.name)


def same_secret_id(left, right):
    """Key Vault host and object names are case-insensitive; a trailing slash means nothing."""
    return (left or '').rstrip('/').lower() == (right or '').rstrip('/').lower()


class CertificateHandler:
    """One APIM service's certificates through azure-mgmt-apimanagement."""

    def __init__(self, client, resource_group, service_name):
        self.client = client
        self.resource_group = resource_group
        self.service_name = service_name

    # -- reads ----------------------------------------------------------------------------------
    @_errors.read('Reading the certificate')
    def get(self, name):
        """(certificate, etag) or None."""
        return self.client.certificate.get(self.resource_group, self.service_name, name, cls=with_etag)

    @_errors.write('Listing the certificates')
    def list(self):
        return list(self.client.certificate.list_by_service(self.resource_group, self.service_name))

    def require_service(self):
        """Name what is missing when a certificate is not found: the resource group or the service."""
        ServiceHandler(self.client, self.resource_group, self.service_name).get()

    # -- writes ---------------------------------------------------------------------------------
    @_errors.write('Writing the certificate')
    def put(self, name, desired, etag=None):
        kwargs = {'if_match': etag} if etag else {}
        return self.client.certificate.create_or_update(self.resource_group, self.service_name, name,
                                                        desired.parameters(), **kwargs)

    @_errors.delete('Deleting the certificate')
    def delete(self, name, etag):
        self.client.certificate.delete(self.resource_group, self.service_name, name, if_match=etag or '*')
        return True

    @_errors.write('Refreshing the certificate from Key Vault')
    def refresh(self, name):
        return self.client.certificate.refresh_secret(self.resource_group, self.service_name, name)


class PfxCertificate:
    """Desired state: a certificate uploaded as a PFX. Compared by thumbprint."""

    source = 'pfx'

    def __init__(self, info, data, password):
        self.info = info
        self._data = data
        self._password = password

    def matches(self, current):
        return current.key_vault is None and (current.thumbprint or '').upper() == self.info.thumbprint

    def parameters(self):
        import base64

        from azure.mgmt.apimanagement.models import CertificateCreateOrUpdateParameters

        return CertificateCreateOrUpdateParameters(data=base64.b64encode(self._data).decode('ascii'),
                                                   password=self._password or None)

    def view(self, name):
        return dict(name=name, source='pfx', thumbprint=self.info.thumbprint, subject=self.info.subject,
                    expiration_date=format_date(self.info.not_after))


class KeyVaultCertificate:
    """Desired state: a certificate referenced from Key Vault. Compared by identifier and identity."""

    source = 'key_vault'

    def __init__(self, secret_id, identity_client_id):
        self.secret_id = secret_id
        self.identity_client_id = identity_client_id or None

    def matches(self, current):
        vault = current.key_vault
        return (vault is not None and same_secret_id(vault.secret_identifier, self.secret_id.value)
                and (vault.identity_client_id or None) == self.identity_client_id)

    def parameters(self):
        from azure.mgmt.apimanagement.models import CertificateCreateOrUpdateParameters, KeyVaultContractCreateProperties

        return CertificateCreateOrUpdateParameters(key_vault=KeyVaultContractCreateProperties(
            secret_identifier=self.secret_id.value, identity_client_id=self.identity_client_id))

    def view(self, name):
        return dict(name=name, source='key_vault', key_vault_secret_id=self.secret_id.value,
                    identity_client_id=self.identity_client_id)


def certificate_view(contract):
    """The diff/return view of a certificate the service holds: no key material exists in it."""
    if contract is None:
        return None
    view = dict(name=contract.name, source='key_vault' if contract.key_vault else 'pfx',
                thumbprint=contract.thumbprint, subject=contract.subject,
                expiration_date=format_date(contract.expiration_date) if contract.expiration_date else None)
    if contract.key_vault:
        view['key_vault_secret_id'] = contract.key_vault.secret_identifier
        view['identity_client_id'] = contract.key_vault.identity_client_id or None
    return view


def certificate_result(contract, references=None):
    """The documented return value for one certificate."""
    result = dict(id=contract.id, name=contract.name, thumbprint=contract.thumbprint, subject=contract.subject,
                  expiration_date=format_date(contract.expiration_date) if contract.expiration_date else None,
                  days_to_expiry=days_left(contract.expiration_date), key_vault=None)
    vault = contract.key_vault
    if vault is not None:
        status = vault.last_status
        result['key_vault'] = dict(
            secret_id=vault.secret_identifier, identity_client_id=vault.identity_client_id or None,
            versionless=_is_versionless(vault.secret_identifier),
            last_status=None if status is None else dict(
                code=status.code, message=status.message,
                time_stamp_utc=format_date(status.time_stamp_utc) if status.time_stamp_utc else None))
    if references is not None:
        result['references'] = references
    return result


def _is_versionless(value):
    try:
        return KeyVaultSecretId(value).version is None
    except ModuleError:
        return None
