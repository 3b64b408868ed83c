"""mtls.apim.ca_certificate's run() against a fake service: refusals before writes, the full list, waiting."""

import datetime
from types import SimpleNamespace

import pytest
from azure.mgmt.apimanagement.models import CertificateConfiguration, CertificateInformation
from cryptography.hazmat.primitives import serialization

from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError
from ansible_collections.mtls.apim.plugins.modules import ca_certificate

from ansible_collections.mtls.apim.tests.unit.plugins.module_utils._handlers.test_ca_certificate_handler import (
    make_ca, thumbprint)


class Poller:
    def __init__(self, service, finishes=True):
        self.service = service
        self.finishes = finishes
        self.timeout = None

    def result(self, timeout=None):
        self.timeout = timeout
        return self.service if self.finishes else None

    def done(self):
        return self.finishes


class FakeServices:
    def __init__(self, sku='Developer', certificates=(), finishes=True):
        self.service = SimpleNamespace(name='apim', sku=SimpleNamespace(name=sku), certificates=list(certificates))
        self.updates = []
        self.finishes = finishes

    def get(self, rg, svc):
        return self.service

    def begin_update(self, rg, svc, parameters, polling_interval=None):
        self.updates.append((parameters, polling_interval))
        stored = [CertificateConfiguration(store_name=e.store_name, certificate=e.certificate or CertificateInformation(
            thumbprint='NEW', subject='CN=new', expiry=datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)))
            for e in parameters.certificates]
        return Poller(SimpleNamespace(certificates=stored), self.finishes)


class FakeAzure:
    def __init__(self, services, check_mode=False, diff_mode=False, **params):
        self.params = dict(resource_group='rg', service_name='apim', state='present', store=None,
                           certificate_path=None, certificate_content=None, certificate_password=None,
                           thumbprint=None, wait=True, wait_timeout=3600, polling_interval=15)
        self.params.update(params)
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.warnings = []
        self._client = SimpleNamespace(api_management_service=services)

    def client(self, kind):
        assert kind == 'apim'
        return self._client

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture(scope='module')
def ca_pem():
    cert, _key = make_ca('Unit Root CA')
    return cert.public_bytes(serialization.Encoding.PEM).decode(), thumbprint(cert)


def existing(thumb, store='Root'):
    return CertificateConfiguration(store_name=store, certificate=CertificateInformation(
        thumbprint=thumb, subject='CN=other', expiry=datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)))


def test_consumption_tier_fails_before_any_write(ca_pem):
    services = FakeServices(sku='Consumption')
    with pytest.raises(ModuleError, match='not supported in the Consumption tier.*validate_certificate_chain: false'):
        ca_certificate.run(FakeAzure(services, certificate_content=ca_pem[0]))
    assert services.updates == []


def test_install_sends_the_full_list_and_waits(ca_pem):
    other = existing('AA', 'CertificateAuthority')
    services = FakeServices(certificates=[other])
    result = ca_certificate.run(FakeAzure(services, diff_mode=True, certificate_content=ca_pem[0], polling_interval=5))
    parameters, interval = services.updates[0]
    assert interval == 5
    assert parameters.certificates[0] is other
    assert parameters.certificates[1].store_name == 'Root' and parameters.certificates[1].encoded_certificate
    assert parameters.certificates[1].certificate_password is None
    assert result['changed'] and result['certificate']['thumbprint'] == ca_pem[1]
    assert result['diff']['before'] == dict(ca_certificates=[dict(store='CertificateAuthority', thumbprint='AA',
                                                                  subject='CN=other',
                                                                  expiration_date='2035-01-01T00:00:00Z')])
    assert len(result['diff']['after']['ca_certificates']) == 2


def test_installed_certificate_changes_nothing(ca_pem):
    services = FakeServices(certificates=[existing(ca_pem[1])])
    result = ca_certificate.run(FakeAzure(services, certificate_content=ca_pem[0]))
    assert not result['changed'] and services.updates == []
    assert result['certificate']['store'] == 'Root' and 'diff' not in result


def test_check_mode_and_no_wait(ca_pem):
    services = FakeServices()
    result = ca_certificate.run(FakeAzure(services, check_mode=True, certificate_content=ca_pem[0]))
    assert result['changed'] and services.updates == []
    assert result['ca_certificates'][0]['thumbprint'] == ca_pem[1]
    result = ca_certificate.run(FakeAzure(services, wait=False, certificate_content=ca_pem[0]))
    assert result['changed'] and len(services.updates) == 1
    assert result['ca_certificates'][0]['thumbprint'] == ca_pem[1]


def test_a_slow_update_reports_the_timeout(ca_pem):
    services = FakeServices(finishes=False)
    with pytest.raises(ModuleError, match='did not finish within 60 seconds'):
        ca_certificate.run(FakeAzure(services, certificate_content=ca_pem[0], wait_timeout=60))


def test_remove_by_thumbprint_keeps_the_others():
    services = FakeServices(certificates=[existing('AA'), existing('BB')])
    result = ca_certificate.run(FakeAzure(services, state='absent', thumbprint='aa:'))
    assert [e.certificate.thumbprint for e in services.updates[0][0].certificates] == ['BB']
    assert result['changed']
    again = ca_certificate.run(FakeAzure(FakeServices(certificates=[existing('BB')]), state='absent', thumbprint='AA'))
    assert not again['changed']


def test_warnings_for_leaf_and_intermediate_certificates():
    root = make_ca('Root')
    leaf = make_ca('leaf', ca=False)[0]
    intermediate = make_ca('Intermediate', issuer=root)[0]
    azure = FakeAzure(FakeServices(), check_mode=True,
                      certificate_content=leaf.public_bytes(serialization.Encoding.PEM).decode())
    ca_certificate.run(azure)
    assert 'not a CA certificate' in azure.warnings[0]
    azure = FakeAzure(FakeServices(), check_mode=True,
                      certificate_content=intermediate.public_bytes(serialization.Encoding.PEM).decode())
    ca_certificate.run(azure)
    assert 'store CertificateAuthority' in azure.warnings[0]
