"""The demo: build and install the collection, start the sandbox, converge dev, test and prod twice."""

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


def recap(output):
    """{host: changed} from the PLAY RECAP of an ansible-playbook run."""
    return {host: int(changed) for host, changed in
            re.findall(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', output.split('PLAY RECAP')[-1], re.M)}


def main():
    from sandbox.testing import SandboxProcess
    sys.path.insert(0, os.path.join(REPO, 'tests', 'roles'))
    import environments

    collections = os.path.join(STATE, 'collections')
    print('== Building and installing the collection into %s' % collections)
    install_collection(collections)
    os.makedirs(STATE, exist_ok=True)
    with SandboxProcess(os.path.join(STATE, 'azure')) as process:
        info = process.info
        print('== Sandbox at %s (metadata %s)' % (info['url'], info['metadata_url']))
        files = os.path.join(STATE, 'demo-files')
        print('== Seeding dev, test and prod: a service, a vault and an orders API each (files in %s)' % files)
        env = environments.prepare(info, files, collections)
        env.update(ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        env.pop('ANSIBLE_NOCOLOR', None)
        secrets = environments.extra_vars_file(files)
        command = [os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'inventory'), '-e', '@' + secrets,
                   os.path.join(REPO, 'playbooks', 'site.yml')]
        recaps, writes = [], []
        admin(info, 'DELETE', '/requests')
        for attempt in ('first run: converge', 'second run: nothing left to change'):
            print('\n== ansible-playbook -i inventory playbooks/site.yml (%s)' % attempt, flush=True)
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            print(result.stdout, result.stderr, sep='')
            if result.returncode:
                sys.exit('demo failed: ansible-playbook exited %d' % result.returncode)
            recaps.append(recap(result.stdout))
            log = admin(info, 'GET', '/requests')
            writes.append(log['writes'] - sum(writes))
    print('== Summary: first run changed=%d (%s), second run changed=%d; the sandbox saw %d writes, %d of them '
          'in the second run.'
          % (sum(recaps[0].values()), ', '.join('%s %d' % item for item in sorted(recaps[0].items())),
             sum(recaps[1].values()), writes[0] + writes[1], writes[1]))
    if sum(recaps[1].values()) or writes[1]:
        sys.exit('demo failed: the second run changed or wrote something')
    print('''
To run the same against Azure, install the collection and its requirements
(ansible-galaxy collection install mtls-apim-*.tar.gz; pip install -r requirements.txt), put your
instances into an inventory like inventory/ (one host per API Management service, environments as
groups, passwords in Ansible Vault), give credentials as AWX's Azure credential does
(AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT) and run
    ansible-playbook -i inventory playbooks/site.yml
    ansible-playbook -i inventory playbooks/audit.yml
The sandbox state stays in .sandbox/azure; start it again with
    .venv/bin/python -m sandbox run --state-dir .sandbox/azure''')


if __name__ == '__main__':
    main()
