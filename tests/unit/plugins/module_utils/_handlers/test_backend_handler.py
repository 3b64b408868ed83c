"""Backends: what is compared, what a PATCH carries, and what is kept."""

from types import SimpleNamespace

import pytest
from azure.mgmt.apimanagement.models import (
    BackendContract, BackendCredentialsContract, BackendTlsProperties, BackendUpdateParameters)

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.module_utils._handlers.backend import (
    BackendHandler, DesiredBackend, backend_result, backend_state, certificate_name)

SERVICE = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim'


def params(**overrides):
    base = dict(name='orders', url=None, protocol=None, title=None, description=None, client_certificates=None,
                purge_client_certificates=False, validate_certificate_chain=None, validate_certificate_name=None,
                replace=False)
    base.update(overrides)
    return base


def contract(**overrides):
    fields = dict(url='https://orders.test/api', protocol='http', title='Orders',
                  credentials=BackendCredentialsContract(certificate_ids=['/certificates/client-a'],
                                                         certificate=['AA'], header={'x-api-key': ['{{key}}']}),
                  tls=BackendTlsProperties(validate_certificate_chain=True, validate_certificate_name=False))
    fields.update(overrides)
    backend = BackendContract(**fields)
    backend.name = 'orders'
    backend.id = SERVICE + '/backends/orders'
    return backend


def test_certificate_names_from_ids():
    assert certificate_name('/certificates/Client-A') == 'Client-A'
    assert certificate_name(SERVICE + '/certificates/client-a/') == 'client-a'
    assert certificate_name('plain') == 'plain'


def test_state_lists_other_settings_by_name_only():
    state = backend_state(contract())
    assert state['client_certificates'] == ['client-a']
    assert (state['validate_certificate_chain'], state['validate_certificate_name']) == (True, False)
    assert state['other_settings'] == ['credentials.header']
    assert '{{key}}' not in repr(state)
    assert backend_state(contract(tls=None, credentials=None))['validate_certificate_chain'] is True


def test_unset_options_are_not_compared():
    current = backend_state(contract())
    desired = DesiredBackend(params(client_certificates=['CLIENT-A']))
    planned = desired.planned(current)
    assert desired.changes(current, planned) == []


def test_certificates_are_added_unless_purged():
    current = backend_state(contract())
    added = DesiredBackend(params(client_certificates=['client-b'])).planned(current)
    assert added['client_certificates'] == ['client-a', 'client-b']
    purged = DesiredBackend(params(client_certificates=['client-b'], purge_client_certificates=True)).planned(current)
    assert purged['client_certificates'] == ['client-b']
    assert purged['other_settings'] == ['credentials.header']


def test_replace_resets_what_the_task_does_not_set():
    current = backend_state(contract())
    desired = DesiredBackend(params(url='https://orders.test/api', replace=True))
    planned = desired.planned(current)
    assert sorted(desired.changes(current, planned)) == ['client_certificates', 'other_settings', 'title',
                                                         'validate_certificate_name']


def test_bad_options():
    with pytest.raises(ModuleError, match='url must be an absolute URL'):
        DesiredBackend(params(url='orders/api'))
    with pytest.raises(ModuleError, match='certificate names'):
        DesiredBackend(params(client_certificates=['/certificates/x']))
    with pytest.raises(ModuleError, match='empty name'):
        DesiredBackend(params(client_certificates=['']))


class FakeBackends:
    def __init__(self):
        self.calls = []

    def update(self, rg, svc, name, if_match, parameters):
        self.calls.append(('update', if_match, parameters))
        return contract()


def test_patch_keeps_credentials_and_sends_only_changes():
    backends = FakeBackends()
    handler = BackendHandler(SimpleNamespace(backend=backends), 'rg', 'apim')
    current_contract = contract()
    current = backend_state(current_contract)
    desired = DesiredBackend(params(client_certificates=['client-b'], purge_client_certificates=True,
                                    validate_certificate_name=True))
    planned = desired.planned(current)
    changes = desired.changes(current, planned)
    handler.update('orders', current_contract, planned, changes, '"etag-1"')
    _kind, if_match, sent = backends.calls[0]
    assert if_match == '"etag-1"'
    assert isinstance(sent, BackendUpdateParameters)
    body = sent.serialize()
    assert body['properties']['credentials'] == {'certificateIds': ['/certificates/client-b'], 'certificate': [],
                                                 'header': {'x-api-key': ['{{key}}']}}
    assert body['properties']['tls'] == {'validateCertificateChain': True, 'validateCertificateName': True}
    assert 'url' not in body['properties'] and 'title' not in body['properties']


def test_result_resolves_certificates_and_thumbprint_only_bindings():
    certs = [SimpleNamespace(name='client-a', thumbprint='AA', subject='CN=a', expiration_date=None)]
    result = backend_result(backend_state(contract()), certs, 'id')
    assert result['client_certificates'] == [dict(name='client-a', thumbprint='AA', subject='CN=a',
                                                  expiration_date=None, days_to_expiry=None)]
    legacy = contract(credentials=BackendCredentialsContract(certificate=['aa']))
    result = backend_result(backend_state(legacy), certs, 'id', ['aa'])
    assert [(c['name'], c['thumbprint']) for c in result['client_certificates']] == [('client-a', 'AA')]
