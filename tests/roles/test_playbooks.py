"""The example inventory (dev, test, prod) against the sandbox: site, audit, rotate and remove playbooks."""

from __future__ import annotations

import json
import os
import re

import pytest

import environments
from role_helpers import BIN, REPO, run

pytestmark = pytest.mark.slow

APIM = 'Microsoft.ApiManagement/service'


@pytest.fixture(scope='module')
def converged(sandbox_process, collections_root, tmp_path_factory):
    """The sandbox seeded with three environments, and site.yml run twice over them."""
    files = str(tmp_path_factory.mktemp('files'))
    env = environments.prepare(sandbox_process.info, files, collections_root)
    env['HOME'] = str(tmp_path_factory.mktemp('home'))
    secrets = environments.extra_vars_file(files)
    sandbox_process.admin('DELETE', 'requests')
    first = playbook(env, secrets, 'site.yml')
    log = sandbox_process.admin('GET', 'requests')
    sandbox_process.admin('DELETE', 'requests')
    second = playbook(env, secrets, 'site.yml')
    second_log = sandbox_process.admin('GET', 'requests')
    return {'env': env, 'secrets': secrets, 'files': files, 'runs': (first, second), 'first_log': log,
            'second_log': second_log}


def playbook(env, secrets, name, *args):
    return run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'inventory'), '-e', '@' + secrets,
                os.path.join(REPO, 'playbooks', name), *args], env)


def recap(output):
    return {host: dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts))
            for host, counts in re.findall(r'^(apim-\w+)\s+:\s+(.*)$', output.split('PLAY RECAP')[-1], re.M)}


def state(sandbox_process):
    return [entry['body'] for entry in sandbox_process.admin('GET', 'state')['resources']]


def children(resources, service, kind):
    return sorted(body['name'] for body in resources
                  if body.get('type', '').lower() == '%s/%s' % (APIM.lower(), kind) and '/service/%s/' % service in body['id'])


def test_site_converges_then_changes_nothing(converged):
    first, second = converged['runs']
    assert first.returncode == 0, first.stdout[-20000:]
    assert second.returncode == 0, second.stdout[-20000:]
    assert set(recap(first.stdout)) == {'apim-dev', 'apim-test', 'apim-prod'}
    assert all(counts['changed'] > 0 and counts['failed'] == 0 for counts in recap(first.stdout).values())
    assert all(counts['changed'] == 0 for counts in recap(second.stdout).values()), second.stdout[-20000:]
    # Converged means no write at all, the vault firewalls included: nothing was imported, so none was opened.
    assert converged['second_log']['writes'] == 0, [e for e in converged['second_log']['requests'] if e['write']]
    assert 'Pfx-Pass-w0rd!' not in first.stdout + second.stdout


def test_instances_run_in_parallel(converged):
    """Forks interleave the instances: their requests alternate instead of one service after the other."""
    services = [match.group(1) for entry in converged['first_log']['requests'] if entry['kind'] == 'arm'
                for match in [re.search(r'/service/(apim-\w+)', entry['path'])] if match]
    switches = sum(1 for before, after in zip(services, services[1:]) if before != after)
    assert set(services) == {'apim-dev', 'apim-test', 'apim-prod'}
    assert switches > 10, services


def test_states_do_not_bleed(converged, sandbox_process):
    resources = state(sandbox_process)
    assert children(resources, 'apim-dev', 'certificates') == ['orders-client', 'partner-client']
    assert children(resources, 'apim-test', 'certificates') == ['orders-client']
    assert children(resources, 'apim-prod', 'certificates') == ['orders-client']
    assert children(resources, 'apim-dev', 'backends') == ['orders', 'partner']
    assert children(resources, 'apim-prod', 'backends') == ['orders']
    port = sandbox_process.url.rsplit(':', 1)[-1]
    services = {body['name']: body for body in resources if body.get('type') == APIM}
    vaults = {body['name']: body for body in resources if body.get('type') == 'Microsoft.KeyVault/vaults'}
    for stage in environments.ENVIRONMENTS:
        certificate = next(body for body in resources if body['id'].endswith('/service/apim-%s/certificates/orders-client' % stage))
        # Each service references its own environment's vault, and only its own identity reads it.
        assert certificate['properties']['keyVault']['secretIdentifier'] == \
            'https://kv-apim-%s.vault.localhost:%s/secrets/orders-client' % (stage, port)
        principals = {services['apim-%s' % other]['identity']['principalId'] for other in environments.ENVIRONMENTS}
        mine = services['apim-%s' % stage]['identity']['principalId']
        readers = set(json.dumps(vaults['kv-apim-%s' % stage]).split('"')) & principals
        assignments = {body['properties']['principalId'] for body in resources
                       if body.get('type') == 'Microsoft.Authorization/roleAssignments'
                       and '/vaults/kv-apim-%s' % stage in body['properties']['scope']} & principals
        assert readers | assignments == {mine}, stage
    # Declared IP rules only: the undeclared rule is purged, the control node's address is gone.
    assert [rule['value'] for rule in vaults['kv-apim-test']['properties']['networkAcls']['ipRules']] == ['198.51.100.10']
    assert [rule['value'] for rule in vaults['kv-apim-prod']['properties']['networkAcls']['ipRules']] == ['203.0.113.0/24']


def test_control_node_let_in_only_while_importing(converged):
    """test's vault denies by default: its firewall is opened for the import and closed again."""
    writes = [entry for entry in converged['first_log']['requests']
              if entry['write'] and '/vaults/kv-apim-test' in entry['path'] and 'roleAssignments' not in entry['path']]
    # The declared rules, then the control node's address added and removed around the import.
    assert len(writes) == 3, writes


def test_audit_clean_then_drift_and_expiry(converged, sandbox_process):
    env, secrets = converged['env'], converged['secrets']
    clean = playbook(env, secrets, 'audit.yml')
    assert clean.returncode == 0, clean.stdout[-20000:]
    from support.certs import make_cert, pfx  # pylint: disable=import-outside-toplevel

    soon = os.path.join(converged['files'], 'soon.pfx')
    with open(soon, 'wb') as handle:
        handle.write(pfx(*make_cert('expiring-soon.example.com', days=5)))
    tamper = run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'inventory'), '-e', '@' + secrets,
                  '-e', 'soon_pfx=' + soon, os.path.join(os.path.dirname(__file__), 'files', 'tamper.yml')], env)
    sandbox_process.admin('DELETE', 'requests')
    assert tamper.returncode == 0, tamper.stdout[-20000:]
    audit = playbook(env, secrets, 'audit.yml')
    assert audit.returncode != 0, audit.stdout[-20000:]
    counts = recap(audit.stdout)
    assert counts['apim-test']['failed'] == 0 and counts['apim-dev']['failed'] == 1 and counts['apim-prod']['failed'] == 1
    assert 'drift: backend orders' in audit.stdout
    assert re.search(r'expiring within 30 days: expiring-soon expires \S+', audit.stdout), audit.stdout[-20000:]
    # The audit wrote nothing: check mode, and no import was due, so no vault firewall was opened.
    writes = [entry['path'] for entry in sandbox_process.admin('GET', 'requests')['requests']
              if entry['write'] and entry['kind'] == 'arm']
    assert writes == [], writes


def test_rotate_reports_thumbprint_change(converged, sandbox_process):
    import base64  # pylint: disable=import-outside-toplevel
    from support.certs import make_cert, pfx, thumbprint  # pylint: disable=import-outside-toplevel

    cert, key = make_cert('orders-client-prod-2.example.com')
    sandbox_process.admin('PUT', 'vaults/kv-apim-prod/secrets/orders-client',
                          {'value': base64.b64encode(pfx(cert, key, None)).decode(), 'content_type': 'application/x-pkcs12'})
    proc = playbook(converged['env'], converged['secrets'], 'rotate.yml')
    assert proc.returncode == 0, proc.stdout[-20000:]
    assert re.search(r'1 of 1 Key Vault certificate\(s\) of apim-prod changed: orders-client: [0-9A-F]{40} -> %s'
                     % thumbprint(cert), proc.stdout), proc.stdout[-20000:]
    assert '0 of 1 Key Vault certificate(s) of apim-dev changed' in proc.stdout
    assert recap(proc.stdout)['apim-dev']['changed'] == 0


def test_remove_refuses_declared_then_removes_in_order(converged, sandbox_process):
    env, secrets = converged['env'], converged['secrets']
    # expiring-soon (from the audit test) is used nowhere; partner-client by the partner backend only.
    retire = ['-e', json.dumps({'remove_certificates': ['partner-client', 'expiring-soon'], 'remove_backends': ['partner']}),
              '--limit', 'apim-dev']
    refused = playbook(env, secrets, 'remove.yml', *retire)
    assert refused.returncode != 0, refused.stdout[-20000:]
    assert 'The inventory of apim-dev still declares partner-client, partner' in refused.stdout, refused.stdout[-20000:]
    # As the inventory reads once the partner is gone from it.
    orders = {'name': 'orders', 'url': 'https://orders.dev.internal.example.com/api',
              'client_certificates': ['orders-client']}
    kept = ['-e', json.dumps({'apim_backends': [orders], 'apim_certificates': []})]
    # The orders API still routes its calls to the orders backend: retiring that backend is refused.
    routed = playbook(env, secrets, 'remove.yml', '-e', json.dumps({'remove_backends': ['orders']}),
                      '-e', json.dumps({'apim_backends': []}), '--limit', 'apim-dev')
    assert routed.returncode != 0, routed.stdout[-20000:]
    assert 'apim-dev: API orders routes to orders' in routed.stdout, routed.stdout[-20000:]
    sandbox_process.admin('DELETE', 'requests')
    removed = playbook(env, secrets, 'remove.yml', *retire, *kept)
    assert removed.returncode == 0, removed.stdout[-20000:]
    deletes = [entry['path'].rsplit('/', 2)[-2:] for entry in sandbox_process.admin('GET', 'requests')['requests']
               if entry['method'] == 'DELETE' and entry['kind'] == 'arm']
    assert deletes == [['backends', 'partner'], ['certificates', 'partner-client'], ['certificates', 'expiring-soon']]
    resources = state(sandbox_process)
    assert children(resources, 'apim-dev', 'certificates') == ['orders-client']
    assert children(resources, 'apim-dev', 'backends') == ['orders']
    assert children(resources, 'apim-prod', 'backends') == ['orders']
