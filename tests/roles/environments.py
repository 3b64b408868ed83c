"""The example inventory's three environments, seeded into a sandbox; shared by make demo and the tests.

    prepare(sandbox_info, files_dir) -> dict of environment variables for ansible-playbook
    extra_vars_file(files_dir) -> path of the secrets file (-e @file), as Ansible Vault would hold them

The sandbox gets three resource groups, services and vaults (dev: access policies, no firewall;
test: RBAC behind a firewall; prod: access policies behind a firewall, with the orders-client
certificate already in it), and an `orders` API in each service for the API bindings. The files
the inventory names (PFX files, the internal root CA) are written to files_dir.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(REPO, 'inventory')
ENVIRONMENTS = ('dev', 'test', 'prod')
LOCATION = 'westeurope'
PROD_SUBNET = ('/subscriptions/%s/resourceGroups/rg-apim-prod/providers/Microsoft.Network/virtualNetworks/'
               'vnet-apim-prod/subnets/snet-apim')


def admin(info, method, path, body=None):
    context = ssl.create_default_context(cafile=info['ca_bundle'])
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(info['admin_url'] + '/' + path.lstrip('/'), data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read() or b'null')


def seed_document(subscription_id):
    vaults = {
        'dev': {},
        'test': {'enableRbacAuthorization': True,
                 'networkAcls': {'defaultAction': 'Deny', 'bypass': 'AzureServices',
                                 # Not declared in the inventory: site.yml removes it.
                                 'ipRules': [{'value': '192.0.2.99'}], 'virtualNetworkRules': []}},
        'prod': {'networkAcls': {'defaultAction': 'Deny', 'bypass': 'AzureServices',
                                 'ipRules': [], 'virtualNetworkRules': []}},
    }
    return {
        'resource_groups': [{'name': 'rg-apim-%s' % env, 'location': LOCATION} for env in ENVIRONMENTS],
        # No identity yet: the keyvault_access role enables it. prod is injected into a virtual network
        # whose subnet has no Key Vault endpoint yet and whose NSG has no rule for Key Vault yet.
        'services': [dict({'resource_group': 'rg-apim-%s' % env, 'name': 'apim-%s' % env, 'location': LOCATION,
                           'sku': {'name': 'Developer', 'capacity': 1}},
                          **({'virtual_network': {'subnet_resource_id': PROD_SUBNET % subscription_id,
                                                  'type': 'External'}} if env == 'prod' else {}))
                     for env in ENVIRONMENTS],
        'network_security_groups': [{'resource_group': 'rg-apim-prod', 'name': 'nsg-apim-prod', 'location': LOCATION,
                                     'security_rules': []}],
        'virtual_networks': [{'resource_group': 'rg-apim-prod', 'name': 'vnet-apim-prod', 'location': LOCATION,
                              'address_space': ['10.20.0.0/16'],
                              'subnets': [{'name': 'snet-apim', 'address_prefix': '10.20.1.0/24',
                                           'network_security_group': 'nsg-apim-prod'}]}],
        'vaults': [dict({'resource_group': 'rg-apim-%s' % env, 'name': 'kv-apim-%s' % env, 'location': LOCATION},
                        **vaults[env]) for env in ENVIRONMENTS],
    }


def write_files(files_dir):
    """PFX files and the internal root CA the inventory names; returns the PKI team's prod PFX (base64)."""
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    from support.certs import make_cert, pfx  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    os.makedirs(files_dir, exist_ok=True)
    root = make_cert('Internal Root CA', days=3650, ca=True)
    with open(os.path.join(files_dir, 'internal-root-ca.pem'), 'wb') as handle:
        handle.write(root[0].public_bytes(serialization.Encoding.PEM))
    for name in ('orders-client-dev', 'orders-client-test', 'partner-client-dev'):
        cert, key = make_cert('%s.example.com' % name, issuer=root)
        with open(os.path.join(files_dir, name + '.pfx'), 'wb') as handle:
            handle.write(pfx(cert, key))
    cert, key = make_cert('orders-client-prod.example.com', issuer=root)
    return base64.b64encode(pfx(cert, key, None)).decode()


def extra_vars_file(files_dir):
    """The secrets the inventory refers to (in real use: an Ansible Vault file in group_vars)."""
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    from support.certs import PASSWORD  # pylint: disable=import-outside-toplevel

    path = os.path.join(files_dir, 'secrets.json')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'vault_pfx_password': PASSWORD}, handle)
    return path


def create_apis(env):
    """An `orders` API in each service (no module manages APIs; the SDK creates them as a user would)."""
    for stage in ENVIRONMENTS:
        subprocess.run([sys.executable, os.path.join(REPO, 'tests', 'support', 'arm_fixture.py'), 'api',
                        'rg-apim-' + stage, 'apim-' + stage, 'orders', 'orders', 'https://orders.example.com/api'],
                       env=env, check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def prepare(info, files_dir, collections_root):
    """Reset and seed the sandbox; return the environment ansible-playbook needs for the inventory."""
    admin(info, 'POST', 'reset', {})
    admin(info, 'POST', 'seed', seed_document(info['subscription_id']))
    prod_pfx = write_files(files_dir)
    admin(info, 'PUT', 'vaults/kv-apim-prod/secrets/orders-client',
          {'value': prod_pfx, 'content_type': 'application/x-pkcs12'})
    port = info['url'].rsplit(':', 1)[-1]
    env = {key: value for key, value in os.environ.items() if not key.startswith(('AZURE_', 'ANSIBLE_'))}
    env.update(info['env'])
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_root,
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'MTLS_APIM_KEYVAULT_DNS_SUFFIX': 'vault.localhost:%s' % port,
        'MTLS_APIM_CONTROL_NODE_IP': '127.0.0.1',
        'MTLS_APIM_FILES': files_dir,
        'PYTHONPATH': os.pathsep.join([collections_root, REPO, os.path.join(REPO, 'tests')]),
    })
    create_apis(env)
    return env


def link_collection(root):
    """<root>/ansible_collections/mtls/apim -> this work tree; returns root."""
    link = os.path.join(root, 'ansible_collections', 'mtls', 'apim')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink(REPO, link)
    return root
