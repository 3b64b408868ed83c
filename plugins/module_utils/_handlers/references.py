# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an APIM service uses its certificates: backend credentials and authentication-certificate policies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError


def _certificate_name(value):
    """'/certificates/x', a full ARM id ending in /certificates/x, or 'x' -> 'x' (lower case)."""
    value = (value or '').rstrip('/')
    return value.rsplit('/certificates/', 1)[-1].lower() if '/certificates/' in value.lower() else value.lower()


# element -> attributes that name what a policy uses
POLICY_USES = (('authentication-certificate', ('certificate-id', 'thumbprint')),
               ('set-backend-service', ('backend-id',)))


def policy_uses(xml_text):
    """[(attribute, value)] of every authentication-certificate and set-backend-service element in a policy.

    The policy is read in the 'xml' format, which the service returns as well-formed XML; an
    unparsable document yields nothing rather than a guess.
    """
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return []
    uses = []
    for tag, attributes in POLICY_USES:
        for element in root.iter(tag):
            uses.extend((attribute, element.get(attribute)) for attribute in attributes if element.get(attribute))
    return uses


def policy_certificate_uses(xml_text):
    """[(attribute, value)] of every authentication-certificate element in a policy document."""
    return [use for use in policy_uses(xml_text) if use[0] != 'backend-id']


class References:
    """All certificate references of one service, read once."""

    def __init__(self, entries):
        self.entries = entries

    def of(self, name, thumbprint=None):
        """References to the certificate `name` (by id) or `thumbprint`, as documented dicts."""
        name = (name or '').lower()
        thumbprint = (thumbprint or '').upper()
        found = {}
        for entry in self.entries:
            by_id = entry['by'] == 'certificate-id' and _certificate_name(entry['value']) == name
            by_thumbprint = entry['by'] == 'thumbprint' and thumbprint and entry['value'].upper() == thumbprint
            if not (by_id or by_thumbprint):
                continue
            # One place counts once: the service lists a backend's thumbprints beside its certificate ids.
            where = tuple(entry.get(key) for key in ('kind', 'backend', 'api', 'operation'))
            if where not in found or by_id:
                found[where] = {k: v for k, v in entry.items() if k != 'value'}
        return list(found.values())

    def routes_to(self, backend):
        """Policies that route calls to `backend` (set-backend-service backend-id), as documented dicts."""
        backend = (backend or '').lower()
        return [{k: v for k, v in e.items() if k != 'value'} for e in self.entries
                if e['by'] == 'backend-id' and e['value'].lower() == backend]


def describe(reference):
    where = {'backend': 'backend %(backend)s', 'service_policy': 'the service-wide policy',
             'api_policy': 'the policy of API %(api)s',
             'operation_policy': 'the policy of operation %(operation)s of API %(api)s'}[reference['kind']]
    return '%s (by %s)' % (where % reference, reference['by'])


def refuse_deletion(subject, relation, references, remedy):
    """Refuse, before any write, to delete what `references` still depend on; name each of them."""
    if references:
        raise ModuleError('%s is still %s %s. %s' % (
            subject, relation, ', '.join(describe(r) for r in references), remedy), references=references)


class ReferenceFinder:
    """Reads backends and service, API and operation policies of a service."""

    def __init__(self, client, resource_group, service_name):
        self.client = client
        self.resource_group = resource_group
        self.service_name = service_name

    @_errors.write('Reading where certificates and backends are used')
    def find(self):
        client, rg, svc = self.client, self.resource_group, self.service_name
        entries = []
        for backend in client.backend.list_by_service(rg, svc):
            credentials = backend.credentials
            if credentials is None:
                continue
            for cert_id in credentials.certificate_ids or []:
                entries.append(dict(kind='backend', backend=backend.name, by='certificate-id', value=cert_id))
            for thumbprint in credentials.certificate or []:
                entries.append(dict(kind='backend', backend=backend.name, by='thumbprint', value=thumbprint))
        self._policy_entries(entries, self._service_policy(), dict(kind='service_policy'))
        for api in client.api.list_by_service(rg, svc):
            self._policy_entries(entries, self._api_policy(api.name), dict(kind='api_policy', api=api.name))
            for operation in client.api_operation.list_by_api(rg, svc, api.name):
                self._policy_entries(entries, self._operation_policy(api.name, operation.name),
                                     dict(kind='operation_policy', api=api.name, operation=operation.name))
        return References(entries)

    @staticmethod
    def _policy_entries(entries, policy, where):
        if policy is None or not policy.value:
            return
        for attribute, value in policy_uses(policy.value):
            entries.append(dict(where, by=attribute, value=value))

    @_errors.read('Reading the service policy')
    def _service_policy(self):
        return self.client.policy.get(self.resource_group, self.service_name, 'policy', format='xml')

    @_errors.read('Reading an API policy')
    def _api_policy(self, api):
        return self.client.api_policy.get(self.resource_group, self.service_name, api, 'policy', format='xml')

    @_errors.read('Reading an operation policy')
    def _operation_policy(self, api, operation):
        return self.client.api_operation_policy.get(self.resource_group, self.service_name, api, operation,
                                                    'policy', format='xml')
