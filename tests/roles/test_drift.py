"""Drift: after a converge, out-of-band changes in the sandbox are each reported by audit.yml (which exits
non-zero), put back by site.yml, and the run after that changes and writes nothing."""

from __future__ import annotations

import base64
import os
import re

import pytest

import environments
from role_helpers import BIN, REPO, run

pytestmark = pytest.mark.slow

SUB_PATH = '/subscriptions/%s/resourceGroups/%s'


def playbook(env, secrets, name):
    return run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'inventory'), '-e', '@' + secrets,
                os.path.join(REPO, 'playbooks', name)], env)


class OutOfBand:
    """Changes made the way someone in the portal or with a script would: through Azure's APIs."""

    def __init__(self, info):
        from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel

        self.info = info
        url, ca = info['url'], info['ca_bundle']
        self.kwargs = dict(base_url=url, credential_scopes=[url + '/.default'], connection_verify=ca)
        self.credential = ClientSecretCredential(info['tenant'], info['client_id'], info['secret'], authority=url,
                                                 disable_instance_discovery=True, connection_verify=ca)

    def client(self, module, name):
        import importlib  # pylint: disable=import-outside-toplevel

        return getattr(importlib.import_module(module), name)(self.credential, self.info['subscription_id'],
                                                              **self.kwargs)

    def flip_chain_validation(self, rg, service, backend):
        from azure.mgmt.apimanagement import models  # pylint: disable=import-outside-toplevel

        apim = self.client('azure.mgmt.apimanagement', 'ApiManagementClient')
        apim.backend.update(rg, service, backend, '*', models.BackendUpdateParameters(
            tls=models.BackendTlsProperties(validate_certificate_chain=False, validate_certificate_name=True)))

    def remove_api_binding(self, rg, service, api):
        apim = self.client('azure.mgmt.apimanagement', 'ApiManagementClient')
        apim.api_policy.delete(rg, service, api, 'policy', '*')

    def replace_certificate(self, rg, service, name, pfx_bytes, password):
        from azure.mgmt.apimanagement import models  # pylint: disable=import-outside-toplevel

        apim = self.client('azure.mgmt.apimanagement', 'ApiManagementClient')
        apim.certificate.create_or_update(rg, service, name, models.CertificateCreateOrUpdateParameters(
            data=base64.b64encode(pfx_bytes).decode(), password=password), if_match='*')

    def remove_vault_access(self, rg, vault_name, service_rg, service):
        from azure.mgmt.keyvault import models  # pylint: disable=import-outside-toplevel

        apim = self.client('azure.mgmt.apimanagement', 'ApiManagementClient')
        principal = apim.api_management_service.get(service_rg, service).identity.principal_id
        keyvault = self.client('azure.mgmt.keyvault', 'KeyVaultManagementClient')
        tenant = keyvault.vaults.get(rg, vault_name).properties.tenant_id
        keyvault.vaults.update_access_policy(rg, vault_name, 'remove', models.VaultAccessPolicyParameters(
            properties=models.VaultAccessPolicyProperties(access_policies=[models.AccessPolicyEntry(
                tenant_id=tenant, object_id=principal, permissions=models.Permissions(secrets=['get', 'list']))])))

    def add_ip_rule(self, rg, vault_name, value):
        from azure.mgmt.keyvault import models  # pylint: disable=import-outside-toplevel

        keyvault = self.client('azure.mgmt.keyvault', 'KeyVaultManagementClient')
        acls = keyvault.vaults.get(rg, vault_name).properties.network_acls
        acls.ip_rules = list(acls.ip_rules or []) + [models.IPRule(value=value)]
        keyvault.vaults.update(rg, vault_name, models.VaultPatchParameters(
            properties=models.VaultPatchProperties(network_acls=acls)))

    def remove_service_endpoint(self, rg, network, subnet_name, service):
        net = self.client('azure.mgmt.network', 'NetworkManagementClient')
        subnet = net.subnets.get(rg, network, subnet_name)
        subnet.service_endpoints = [e for e in subnet.service_endpoints or [] if e.service != service]
        net.subnets.begin_create_or_update(rg, network, subnet_name, subnet).result()


@pytest.fixture(scope='module')
def drifted(sandbox_process, collections_root, tmp_path_factory):
    """Converged, then changed out of band in six ways across the three instances."""
    sandbox_process.admin('POST', 'reset', {})
    files = str(tmp_path_factory.mktemp('files'))
    env = environments.prepare(sandbox_process.info, files, collections_root)
    env['HOME'] = str(tmp_path_factory.mktemp('home'))
    secrets = environments.extra_vars_file(files)
    converge = playbook(env, secrets, 'site.yml')
    assert converge.returncode == 0, converge.stdout[-20000:]

    from support.certs import PASSWORD, make_cert, pfx  # pylint: disable=import-outside-toplevel

    oob = OutOfBand(sandbox_process.info)
    oob.flip_chain_validation('rg-apim-dev', 'apim-dev', 'orders')
    oob.remove_api_binding('rg-apim-prod', 'apim-prod', 'orders')
    oob.remove_vault_access('rg-apim-dev', 'kv-apim-dev', 'rg-apim-dev', 'apim-dev')
    # The prod inventory declares the vault's IP rules authoritatively.
    oob.add_ip_rule('rg-apim-prod', 'kv-apim-prod', '192.0.2.50')
    oob.replace_certificate('rg-apim-dev', 'apim-dev', 'partner-client', pfx(*make_cert('intruder.example.com')),
                            PASSWORD)
    oob.remove_service_endpoint('rg-apim-prod', 'vnet-apim-prod', 'snet-apim', 'Microsoft.KeyVault')

    sandbox_process.admin('DELETE', 'requests')
    audit = playbook(env, secrets, 'audit.yml')
    audit_log = sandbox_process.admin('GET', 'requests')
    repair = playbook(env, secrets, 'site.yml')
    sandbox_process.admin('DELETE', 'requests')
    settled = playbook(env, secrets, 'site.yml')
    settled_log = sandbox_process.admin('GET', 'requests')
    return dict(audit=audit, audit_log=audit_log, repair=repair, settled=settled, settled_log=settled_log,
                state=sandbox_process.admin('GET', 'state'))


def instance_report(output, service):
    """The audit's report lines for one instance."""
    match = re.search(r'"%s: needs attention",(.*?)\]' % service, output, re.S)
    return match.group(1) if match else ''


def test_audit_reports_each_drift_and_fails(drifted):
    audit = drifted['audit']
    assert audit.returncode != 0, audit.stdout[-20000:]
    dev, prod = instance_report(audit.stdout, 'apim-dev'), instance_report(audit.stdout, 'apim-prod')
    assert re.search(r'drift: .*backend orders', dev), audit.stdout[-20000:]
    assert re.search(r'drift: .*certificate partner-client', dev), dev
    assert re.search(r'drift: .*secret access in vault kv-apim-dev', dev), dev
    assert re.search(r'drift: .*client certificate binding of API orders', prod), prod
    assert re.search(r'drift: .*firewall of vault kv-apim-prod', prod), prod
    assert re.search(r'drift: .*service endpoint on subnet snet-apim', prod), prod
    assert '"apim-test: OK"' in audit.stdout
    # Check mode: the audit wrote nothing.
    assert drifted['audit_log']['writes'] == 0, [e for e in drifted['audit_log']['requests'] if e['write']]


def test_site_puts_everything_back(drifted):
    repair, settled = drifted['repair'], drifted['settled']
    assert repair.returncode == 0, repair.stdout[-20000:]
    assert settled.returncode == 0, settled.stdout[-20000:]
    recap = dict(re.findall(r'^(apim-\w+)\s+:\s+ok=\d+\s+changed=(\d+)', settled.stdout.split('PLAY RECAP')[-1], re.M))
    assert recap == {'apim-dev': '0', 'apim-test': '0', 'apim-prod': '0'}, settled.stdout[-5000:]
    assert drifted['settled_log']['writes'] == 0, [e for e in drifted['settled_log']['requests'] if e['write']]


def test_repaired_state_in_the_sandbox(drifted):
    bodies = [entry['body'] for entry in drifted['state']['resources']]

    def one(suffix):
        return next(body for body in bodies if body['id'].lower().endswith(suffix.lower()))

    assert one('/service/apim-dev/backends/orders')['properties']['tls']['validateCertificateChain'] is True
    assert 'authentication-certificate' in one('/service/apim-prod/apis/orders/policies/policy')['properties']['value']
    assert 'intruder' not in one('/service/apim-dev/certificates/partner-client')['properties']['subject']
    vault = one('/vaults/kv-apim-prod')['properties']['networkAcls']
    assert [rule['value'] for rule in vault['ipRules']] == ['203.0.113.0/24']
    subnet = one('/virtualNetworks/vnet-apim-prod')['properties']['subnets'][0]['properties']
    assert 'Microsoft.KeyVault' in [e['service'] for e in subnet['serviceEndpoints']]
    dev_principal = one('/service/apim-dev')['identity']['principalId']
    policies = one('/vaults/kv-apim-dev')['properties']['accessPolicies']
    mine = [p for p in policies if p['objectId'] == dev_principal]
    assert mine and sorted(mine[0]['permissions']['secrets']) == ['get', 'list']
