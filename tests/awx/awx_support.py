"""Helpers for the AWX / execution-environment tests (imported by name: pytest puts this directory on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tool(name):
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}; run `make venv` first")
    return str(path)


def clean_env(**extra):
    """The test process's environment without any AZURE_* / ANSIBLE_* setting, venv first on PATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AZURE_", "ANSIBLE_"))}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.update(NO_COLOR="1", ANSIBLE_NOCOLOR="1")
    env.update(extra)
    return env


def run(*cmd, cwd=None, env=None, timeout=300, check=True):
    """Run a command, stdout and stderr merged; unless check=False, fail the test with its output on rc != 0."""
    proc = subprocess.run([str(part) for part in cmd], cwd=cwd or REPO, env=env or clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, f"{' '.join(proc.args)} exited {proc.returncode}:\n{proc.stdout[-20000:]}"
    return proc


def install(tarball, dest):
    """ansible-galaxy collection install -p DEST TARBALL, as AWX's project sync and an EE's galaxy stage do."""
    run(tool("ansible-galaxy"), "collection", "install", "--offline", "-p", dest, tarball,
        env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(dest)))
    return dest
