# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""APIM backends: their URL, client certificates and TLS checks; read, compare, apply.

Only what the task sets is compared and written. An update is a PATCH that carries the changed
fields; when the client certificates change, the credentials object is sent whole as it was read
(headers, query, authorization kept), so the result does not depend on whether the service merges
nested objects of a PATCH.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._clients import with_etag
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._pfx import days_left, format_date

# Option name -> attribute of BackendContract, for the scalar settings.
SCALARS = (('url', 'url'), ('protocol', 'protocol'), ('title', 'title'), ('description', 'description'))
TLS = (('validate_certificate_chain', 'validate_certificate_chain'),
       ('validate_certificate_name', 'validate_certificate_name'))


def certificate_name(certificate_id):
    """'/certificates/x' or a full ARM id ending in /certificates/x -> 'x' (case kept)."""
    value = (certificate_id or '').rstrip('/')
    index = value.lower().rfind('/certificates/')
    return value[index + len('/certificates/'):] if index >= 0 else value


def certificate_id(name):
    return '/certificates/%s' % name


def other_settings(contract):
    """Names of what the backend sets beyond this module's options (kept unless replace=true)."""
    found = []
    credentials = contract.credentials
    if credentials is not None:
        for key, label in (('header', 'credentials.header'), ('query', 'credentials.query'),
                           ('authorization', 'credentials.authorization')):
            if getattr(credentials, key, None):
                found.append(label)
        if credentials.certificate and not credentials.certificate_ids:
            found.append('credentials.certificate (thumbprints)')
    for key, label in (('proxy', 'proxy'), ('circuit_breaker', 'circuitBreaker'), ('pool', 'pool'),
                       ('resource_id', 'resourceId'), ('properties', 'properties')):
        value = getattr(contract, key, None)
        if value is not None and (not hasattr(value, 'as_dict') or value.as_dict()):
            found.append(label)
    return found


def backend_state(contract):
    """The settings this module manages, as a plain dict (the diff view; no credential values)."""
    if contract is None:
        return None
    credentials = contract.credentials
    tls = contract.tls
    return dict(
        name=contract.name, url=contract.url, protocol=contract.protocol, title=contract.title,
        description=contract.description,
        client_certificates=[certificate_name(c) for c in (credentials.certificate_ids or [])] if credentials else [],
        validate_certificate_chain=True if tls is None or tls.validate_certificate_chain is None
        else tls.validate_certificate_chain,
        validate_certificate_name=True if tls is None or tls.validate_certificate_name is None
        else tls.validate_certificate_name,
        other_settings=other_settings(contract))


def certificate_details(names, certificates, thumbprints=()):
    """[{name, thumbprint, subject, expiration_date, days_to_expiry}] for certificate names (or thumbprints)."""
    by_name = {c.name.lower(): c for c in certificates}
    details = []
    for name in names:
        cert = by_name.get(name.lower())
        details.append(_certificate_detail(name, cert))
    if not names:
        by_thumbprint = {(c.thumbprint or '').upper(): c for c in certificates}
        for thumbprint in thumbprints:
            cert = by_thumbprint.get(thumbprint.upper())
            detail = _certificate_detail(cert.name if cert else None, cert)
            detail['thumbprint'] = thumbprint.upper()
            details.append(detail)
    return details


def _certificate_detail(name, cert):
    if cert is None:
        return dict(name=name, thumbprint=None, subject=None, expiration_date=None, days_to_expiry=None)
    return dict(name=name, thumbprint=cert.thumbprint, subject=cert.subject,
                expiration_date=format_date(cert.expiration_date) if cert.expiration_date else None,
                days_to_expiry=days_left(cert.expiration_date))


def backend_result(state, certificates, backend_id=None, thumbprints=()):
    """The documented return value for one backend, from its state dict."""
    return dict(
        id=backend_id, name=state['name'], url=state['url'], protocol=state['protocol'], title=state['title'],
        description=state['description'],
        client_certificates=certificate_details(state['client_certificates'], certificates, thumbprints),
        tls=dict(validate_certificate_chain=state['validate_certificate_chain'],
                 validate_certificate_name=state['validate_certificate_name']),
        other_settings=state['other_settings'])


def check_url(url):
    if url is None:
        return
    parts = urlsplit(url)
    if not parts.scheme or not (parts.netloc or parts.scheme == 'fabric'):
        raise ModuleError('url must be an absolute URL such as https://backend.example.com/api; got %r.' % url)


class DesiredBackend:
    """What the task asks for: only the options it sets, plus replace and purge switches."""

    def __init__(self, params):
        self.name = params['name']
        self.settings = {key: params[key] for key, _attr in SCALARS if params.get(key) is not None}
        self.tls = {key: params[key] for key, _attr in TLS if params.get(key) is not None}
        self.certificates = params.get('client_certificates')
        self.purge = bool(params.get('purge_client_certificates'))
        self.replace = bool(params.get('replace'))
        check_url(self.settings.get('url'))
        if self.certificates is not None:
            empty = [c for c in self.certificates if not (c or '').strip()]
            if empty:
                raise ModuleError('client_certificates holds an empty name.')
            if any('/' in c for c in self.certificates):
                raise ModuleError('client_certificates takes certificate names (as given to mtls.apim.certificate), '
                                  'not ids or paths: %s.' % ', '.join(c for c in self.certificates if '/' in c))

    def planned(self, current):
        """The state dict after the task, from the current state dict (None when the backend is new)."""
        if current is None or self.replace:
            state = dict(name=self.name, url=None, protocol='http', title=None, description=None,
                         client_certificates=[], validate_certificate_chain=True, validate_certificate_name=True,
                         other_settings=[])
        else:
            state = dict(current)
        state.update(self.settings)
        state.update(self.tls)
        if self.certificates is not None:
            if self.purge or self.replace:
                names = _unique(self.certificates)
            else:
                names = _unique(list(state['client_certificates']) + list(self.certificates))
            state['client_certificates'] = names
            # Writing certificate ids clears a binding by thumbprints (see BackendHandler.update).
            state['other_settings'] = [s for s in state['other_settings'] if not s.startswith('credentials.certificate')]
        if current is not None:
            state['name'] = current['name']
        return state

    def changes(self, current, planned):
        """Keys of the state that differ; certificate names compare without case and order."""
        if current is None:
            return sorted(k for k in planned if k != 'other_settings')
        changed = []
        for key, value in planned.items():
            if key == 'client_certificates':
                if sorted(n.lower() for n in value) != sorted(n.lower() for n in current[key]):
                    changed.append(key)
            elif value != current[key]:
                changed.append(key)
        return changed


def _unique(names):
    seen, result = set(), []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            result.append(name)
    return result


class BackendHandler:
    """One APIM service's backends through azure-mgmt-apimanagement."""

    def __init__(self, client, resource_group, service_name):
        self.client = client
        self.resource_group = resource_group
        self.service_name = service_name

    @_errors.read('Reading the backend')
    def get(self, name):
        """(backend, etag) or None."""
        return self.client.backend.get(self.resource_group, self.service_name, name, cls=with_etag)

    @_errors.write('Listing the backends')
    def list(self):
        return list(self.client.backend.list_by_service(self.resource_group, self.service_name))

    @_errors.write('Creating the backend')
    def create(self, name, planned):
        return self.client.backend.create_or_update(self.resource_group, self.service_name, name,
                                                    self._contract(planned))

    @_errors.write('Replacing the backend')
    def replace(self, name, planned, etag):
        return self.client.backend.create_or_update(self.resource_group, self.service_name, name,
                                                    self._contract(planned), if_match=etag or '*')

    @_errors.write('Updating the backend')
    def update(self, name, current, planned, changes, etag):
        from azure.mgmt.apimanagement.models import BackendCredentialsContract, BackendTlsProperties, \
            BackendUpdateParameters

        fields = {attr: planned[key] for key, attr in SCALARS if key in changes}
        if 'client_certificates' in changes:
            credentials = current.credentials
            fields['credentials'] = BackendCredentialsContract(
                certificate_ids=[certificate_id(n) for n in planned['client_certificates']],
                # Thumbprints are ignored beside certificate ids (spec); with no ids left they would
                # still bind a certificate, so they go with the ids.
                certificate=[],
                query=credentials.query if credentials else None,
                header=credentials.header if credentials else None,
                authorization=credentials.authorization if credentials else None)
        if any(key in changes for key, _attr in TLS):
            fields['tls'] = BackendTlsProperties(validate_certificate_chain=planned['validate_certificate_chain'],
                                                 validate_certificate_name=planned['validate_certificate_name'])
        return self.client.backend.update(self.resource_group, self.service_name, name, etag or '*',
                                          BackendUpdateParameters(**fields))

    @_errors.delete('Deleting the backend')
    def delete(self, name, etag):
        self.client.backend.delete(self.resource_group, self.service_name, name, if_match=etag or '*')
        return True

    @staticmethod
    def _contract(planned):
        from azure.mgmt.apimanagement.models import BackendContract, BackendCredentialsContract, BackendTlsProperties

        credentials = None
        if planned['client_certificates']:
            credentials = BackendCredentialsContract(
                certificate_ids=[certificate_id(n) for n in planned['client_certificates']])
        return BackendContract(
            url=planned['url'], protocol=planned['protocol'], title=planned['title'],
            description=planned['description'], credentials=credentials,
            tls=BackendTlsProperties(validate_certificate_chain=planned['validate_certificate_chain'],
                                     validate_certificate_name=planned['validate_certificate_name']))
