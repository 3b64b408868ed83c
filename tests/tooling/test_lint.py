"""ansible-lint, production profile, over the collection's content (roles, playbooks, metadata)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.tooling

# Short of the production profile on purpose: no FQCN, no task name, a bare shell command.
BAD_PLAYBOOK = """\
- hosts: localhost
  tasks:
    - shell: echo hello
"""


def lint(toolbox, *args, cwd=None):
    """Run ansible-lint with the repository's configuration."""
    return toolbox.run(
        toolbox.tool("ansible-lint"), "--nocolor", "-c", toolbox.repo / ".ansible-lint", *args,
        cwd=cwd, timeout=300,
    )


def test_collection_passes_production_profile(toolbox):
    """The repository's roles, playbooks and metadata meet the production profile."""
    proc = lint(toolbox)
    toolbox.assert_ok(proc)
    assert "Profile 'production' was required, and it passed" in proc.stdout, proc.stdout


def test_bad_playbook_fails(toolbox, tmp_path):
    """The same configuration rejects a playbook that breaks the production profile."""
    playbook = tmp_path / "playbooks" / "bad.yml"
    playbook.parent.mkdir()
    playbook.write_text(BAD_PLAYBOOK)
    proc = lint(toolbox, playbook, cwd=tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "fqcn" in proc.stdout, proc.stdout
