"""Shared helpers for the repository tooling checks (sanity, lint, build, changelog)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


class Toolbox:
    """Runs the project's tools from the virtual environment pytest itself runs in."""

    repo = Path(__file__).resolve().parents[2]
    # Not resolved: a venv's python is usually a symlink to the base interpreter.
    bin_dir = Path(sys.executable).parent

    def tool(self, name):
        """Return the path of a console script from the running virtual environment."""
        path = self.bin_dir / name
        if not path.exists():
            pytest.fail(f"{name} not found next to {sys.executable}; run `make venv` first")
        return str(path)

    def env(self, **extra):
        """Return an environment for the tools: venv first on PATH, no colour codes in output."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", "")])
        env.pop("ANSIBLE_FORCE_COLOR", None)
        env.update(NO_COLOR="1", ANSIBLE_NOCOLOR="1", PY_COLORS="0")
        env.update(extra)
        return env

    def run(self, *cmd, cwd=None, env=None, timeout=600):
        """Run a command; stdout and stderr are merged so a failure shows them in order."""
        return subprocess.run(
            [str(part) for part in cmd],
            cwd=cwd or self.repo,
            env=env or self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    @staticmethod
    def assert_ok(proc):
        """Fail with the command and its whole output unless it exited 0."""
        assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{proc.stdout}"

    def project_files(self):
        """Files a clone of the repository would have, plus new files not yet committed."""
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=self.repo,
            stdout=subprocess.PIPE,
            check=True,
        ).stdout.decode()
        # A tracked file deleted from the work tree is still listed; it is not part of the tree.
        return sorted({name for name in out.split("\0") if name and os.path.lexists(self.repo / name)})


@pytest.fixture(scope="session")
def toolbox():
    """The project's tools, run from the current virtual environment."""
    return Toolbox()
