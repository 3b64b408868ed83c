"""Integration tests: real ansible-playbook runs against the local Azure sandbox.

The sandbox runs for the whole session; each test resets it through the admin API (inside its
playbook) so the targets do not depend on each other's state.
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(REPO, 'tests', 'integration', 'targets')
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'tests'))


@pytest.fixture(scope='session')
def collections_root(tmp_path_factory):
    """ansible_collections/mtls/apim pointing at this work tree (ansible-playbook follows the symlink)."""
    root = tmp_path_factory.mktemp('collections')
    link = root / 'ansible_collections' / 'mtls' / 'apim'
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO)
    return str(root)


@pytest.fixture(scope='session')
def sandbox(tmp_path_factory):
    from sandbox.testing import SandboxProcess

    with SandboxProcess(str(tmp_path_factory.mktemp('sandbox'))) as process:
        yield process.info


@pytest.fixture(scope='session')
def certs(tmp_path_factory):
    from support.certs import write_set

    return write_set(str(tmp_path_factory.mktemp('certs')))


class Playbook:
    """Runs one playbook of a target with the sandbox's credentials in AWX's environment variables."""

    def __init__(self, collections_root, sandbox, certs, home):
        self.collections_root = collections_root
        self.sandbox = sandbox
        self.certs = certs
        self.home = home

    def env(self, azure_env=True, **extra):
        env = {key: value for key, value in os.environ.items() if not key.startswith(('AZURE_', 'ANSIBLE_'))}
        env.update({
            'HOME': self.home,
            'ANSIBLE_COLLECTIONS_PATH': self.collections_root,
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'PYTHONPATH': os.pathsep.join([self.collections_root, REPO]),
        })
        if azure_env:
            env.update(self.sandbox['env'])
        env.update(extra)
        return env

    def run(self, target, playbook='playbook.yml', args=(), azure_env=True, env=None, check=True):
        extra_vars = {'sandbox': {k: v for k, v in self.sandbox.items() if k != 'env'}, 'certs': self.certs,
                      'python': sys.executable, 'support_dir': os.path.join(REPO, 'tests', 'support')}
        # Through a file, as a user passes secrets: ansible-playbook -vvvv echoes -e values given inline.
        vars_file = os.path.join(self.home, 'extra-vars.json')
        with open(vars_file, 'w', encoding='utf-8') as handle:
            json.dump(extra_vars, handle)
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                   '-c', 'local', '-e', '@' + vars_file, os.path.join(TARGETS, target, playbook)]
        command.extend(args)
        result = subprocess.run(command, env=self.env(azure_env, **(env or {})), cwd=os.path.join(TARGETS, target),
                                capture_output=True, text=True, timeout=900, check=False)
        if check and result.returncode != 0:
            pytest.fail('%s/%s failed (rc %s):\n%s\n%s' % (
                target, playbook, result.returncode, result.stdout[-20000:], result.stderr[-5000:]))
        return result


@pytest.fixture
def playbook(collections_root, sandbox, certs, tmp_path):
    (tmp_path / 'home').mkdir()
    return Playbook(collections_root, sandbox, certs, str(tmp_path / 'home'))
