"""The demo: build and install the collection, start the sandbox, converge certificates twice."""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
import ssl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'tests'))

# MTLS_APIM_DEMO_STATE lets the test suite run the demo without touching the developer's .sandbox.
STATE = os.environ.get('MTLS_APIM_DEMO_STATE') or os.path.join(REPO, '.sandbox')
BIN = os.path.dirname(sys.executable)


def admin(info, method, path, body=None):
    context = ssl.create_default_context(cafile=info['ca_bundle'])
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(info['admin_url'] + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, context=context) as response:
        return json.loads(response.read() or b'null')


def install_collection(target):
    build = tempfile.mkdtemp()
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', build],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    tarball = [os.path.join(build, name) for name in os.listdir(build) if name.endswith('.tar.gz')][0]
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force', '-p', target, tarball],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=target))


def main():
    from sandbox.testing import SandboxProcess
    from support.certs import make_cert, pfx, PASSWORD
    import base64

    collections = os.path.join(STATE, 'collections')
    print('== Building and installing the collection into %s' % collections)
    install_collection(collections)
    os.makedirs(STATE, exist_ok=True)
    with SandboxProcess(os.path.join(STATE, 'azure')) as process:
        info = process.info
        print('== Sandbox at %s (metadata %s)' % (info['url'], info['metadata_url']))
        admin(info, 'POST', '/reset', {})
        admin(info, 'POST', '/seed', {
            'resource_groups': [{'name': 'rg-demo', 'location': 'westeurope'}],
            'services': [{'resource_group': 'rg-demo', 'name': 'apim-demo', 'location': 'westeurope',
                          'sku': {'name': 'Developer', 'capacity': 1}, 'identity': {'type': 'SystemAssigned'}}],
            'vaults': [{'resource_group': 'rg-demo', 'name': 'kv-demo', 'location': 'westeurope'}]})
        files = os.path.join(STATE, 'demo-files')
        os.makedirs(files, exist_ok=True)
        cert, key = make_cert('orders-client.demo.test')
        pfx_path = os.path.join(files, 'orders-client.pfx')
        with open(pfx_path, 'wb') as handle:
            handle.write(pfx(cert, key))
        cert, key = make_cert('payments-client.demo.test')
        admin(info, 'PUT', '/vaults/kv-demo/secrets/payments-client',
              {'value': base64.b64encode(pfx(cert, key, None)).decode(), 'content_type': 'application/x-pkcs12'})
        port = info['url'].rsplit(':', 1)[-1]
        variables = {
            'apim_resource_group': 'rg-demo', 'apim_service_name': 'apim-demo',
            'apim_pfx_certificates': [{'name': 'orders-client', 'pfx_path': pfx_path, 'pfx_password': PASSWORD}],
            'apim_key_vault_certificates': [{'name': 'payments-client',
                                             'secret_id': 'https://kv-demo.vault.localhost:%s/secrets/payments-client'
                                             % port}],
        }
        vars_file = os.path.join(files, 'vars.json')
        with open(vars_file, 'w') as handle:
            json.dump(variables, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false', **info['env'])
        command = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-e', '@' + vars_file,
                   os.path.join(REPO, 'playbooks', 'certificates.yml')]
        recaps = []
        for attempt in ('first run: converge', 'second run: nothing left to change'):
            print('\n== ansible-playbook playbooks/certificates.yml (%s)' % attempt, flush=True)
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            print(result.stdout, result.stderr, sep='')
            if result.returncode:
                sys.exit('demo failed: ansible-playbook exited %d' % result.returncode)
            recaps.append(re.search(r'changed=(\d+)', result.stdout.split('PLAY RECAP')[-1]).group(1))
        log = admin(info, 'GET', '/requests')
    print('== Summary: first run changed=%s, second run changed=%s; the sandbox saw %d writes in all.'
          % (recaps[0], recaps[1], log['writes']))
    if recaps[1] != '0':
        sys.exit('demo failed: the second run changed something')
    print('''
To run the same playbook against Azure, install the collection and its requirements
(ansible-galaxy collection install mtls-apim-*.tar.gz; pip install -r requirements.txt),
give credentials as AWX's Azure credential does (AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID,
AZURE_SECRET, AZURE_TENANT) and leave AZURE_CLOUD_ENVIRONMENT and AZURE_CA_BUNDLE unset:
    ansible-playbook -i localhost, -e @my-vars.yml playbooks/certificates.yml
The sandbox state stays in .sandbox/azure; start it again with
    .venv/bin/python -m sandbox run --state-dir .sandbox/azure''')


if __name__ == '__main__':
    main()
