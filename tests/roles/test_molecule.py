"""`molecule test -s <role>` for each role's scenario: converge, idempotence, verify against the sandbox."""

from __future__ import annotations

import os

import pytest

from role_helpers import BIN, REPO, run

pytestmark = pytest.mark.slow

SCENARIOS = sorted(name for name in os.listdir(os.path.join(REPO, 'extensions', 'molecule'))
                   if os.path.isfile(os.path.join(REPO, 'extensions', 'molecule', name, 'molecule.yml')))


def test_every_role_has_a_scenario():
    roles = sorted(os.listdir(os.path.join(REPO, 'roles')))
    assert SCENARIOS == roles


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_molecule_scenario(scenario, sandbox_process, collections_root, tmp_path):
    from support.certs import PASSWORD  # pylint: disable=import-outside-toplevel

    env = {key: value for key, value in os.environ.items() if not key.startswith(('AZURE_', 'ANSIBLE_', 'MOLECULE_'))}
    env.update(sandbox_process.info['env'])
    env.update({
        'PATH': os.pathsep.join([BIN, env.get('PATH', '')]),
        # Molecule keeps its ephemeral state under HOME; a test's own keeps runs apart.
        'HOME': str(tmp_path),
        'ANSIBLE_COLLECTIONS_PATH': collections_root,
        'MTLS_APIM_SANDBOX_JSON': os.path.join(sandbox_process.state_dir, 'sandbox.json'),
        'ANSIBLE_NOCOLOR': '1', 'NO_COLOR': '1', 'PY_COLORS': '0', 'ANSIBLE_FORCE_COLOR': '0',
        'PYTHONPATH': os.pathsep.join([REPO, os.path.join(REPO, 'tests')]),
    })
    proc = run([os.path.join(BIN, 'molecule'), 'test', '-s', scenario], env)
    assert proc.returncode == 0, proc.stdout[-30000:]
    for action in ('converge', 'idempotence', 'verify'):
        assert '%s > %s: Executed: Successful' % (scenario, action) in proc.stdout, proc.stdout[-30000:]
    assert PASSWORD not in proc.stdout
