"""antsibull-changelog accepts the changelog configuration, history and fragments."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.tooling


def changelog(toolbox, *args, cwd=None):
    """Run antsibull-changelog in the collection root (or a copy of it)."""
    return toolbox.run(toolbox.tool("antsibull-changelog"), *args, cwd=cwd, timeout=120)


def test_fragments_lint(toolbox):
    """Every fragment in changelogs/fragments/ is well formed."""
    toolbox.assert_ok(changelog(toolbox, "lint"))


def test_changelog_yaml_lint(toolbox):
    """The release history changelogs/changelog.yaml is well formed."""
    toolbox.assert_ok(changelog(toolbox, "lint-changelog-yaml", toolbox.repo / "changelogs" / "changelog.yaml"))


def test_bad_fragment_fails(toolbox, tmp_path):
    """The lint catches a fragment with an unknown section, so a pass above means something."""
    shutil.copy2(toolbox.repo / "galaxy.yml", tmp_path)
    shutil.copytree(toolbox.repo / "changelogs", tmp_path / "changelogs")
    fragments = tmp_path / "changelogs" / "fragments"
    fragments.mkdir(exist_ok=True)
    (fragments / "bad.yml").write_text("not_a_section:\n  - something changed.\n")
    proc = changelog(toolbox, "lint", cwd=tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "not_a_section" in proc.stdout, proc.stdout
