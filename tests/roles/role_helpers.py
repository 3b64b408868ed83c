"""Helpers the role and playbook tests share (a module of its own: a test importing `conftest` by name
would get whichever conftest.py pytest loaded first)."""

from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run(command, env, cwd=REPO, timeout=900):
    """Run a command; stdout and stderr merged so that a failure shows them in order."""
    return subprocess.run([str(part) for part in command], env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
