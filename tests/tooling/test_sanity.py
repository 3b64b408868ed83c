"""ansible-test sanity over the collection, run from a copy laid out as ansible-test requires."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tooling, pytest.mark.slow]

# ansible-test downloads a get-pip script to bootstrap pip in each venv it builds, from a host
# this project's machines cannot reach. It uses a cached copy when one exists, so a stand-in is
# put there that gets pip from ensurepip and then installs what was asked from the usual index.
STAND_IN_MARKER = "mtls.apim get-pip stand-in"
GET_PIP_STAND_IN = f'''"""{STAND_IN_MARKER}: pip from ensurepip, then the requested packages."""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
'''


def bootstrap_pip_version():
    """The pip version ansible-test bootstraps; it names the cached get-pip script after it."""
    import ansible_test  # pylint: disable=import-outside-toplevel

    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"default_packages = dict\(\s*pip='([^']+)'", source.read_text())
    assert match, f"cannot find the bootstrap pip version in {source}; has ansible-test changed?"
    return match.group(1)


def ensure_get_pip_stand_in():
    """Place the stand-in unless a script (a real one, or ours as it is now) is already there."""
    version = bootstrap_pip_version()
    path = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if path.exists() and (STAND_IN_MARKER not in path.read_text() or path.read_text() == GET_PIP_STAND_IN):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GET_PIP_STAND_IN)
    return path


# Developer tools that galaxy.yml's build_ignore keeps out of the collection: the sandbox and its
# tests are checked by their own suites (pytest, the spec conformance suite), not held to the
# rules ansible-test sets for plugins.
NOT_COLLECTION = ("sandbox/", "tests/sandbox/", "tests/gateway/", "tests/conformance/", "tools/")


def collection_copy(toolbox, base):
    """Copy the project's files to <base>/ansible_collections/mtls/apim as a git work tree.

    ansible-test resolves the working directory, so a symlink to the repository does not do.
    """
    dest = base / "ansible_collections" / "mtls" / "apim"
    for name in toolbox.project_files():
        if name.startswith(NOT_COLLECTION):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(toolbox.repo / name, target, follow_symlinks=False)
    subprocess.run(["git", "init", "-q", dest], check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def test_ansible_test_sanity(toolbox, tmp_path):
    """Every sanity test ansible-test has passes for the collection."""
    ensure_get_pip_stand_in()
    dest = collection_copy(toolbox, tmp_path)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    proc = toolbox.run(
        toolbox.tool("ansible-test"), "sanity", "--venv", "--python", python, "--color", "no",
        cwd=dest, timeout=1800,
    )
    # The findings first: the full output is long with the pip logs of the per-test venvs.
    findings = "\n".join(line for line in proc.stdout.splitlines() if line.startswith(("ERROR:", "FATAL:")))
    assert proc.returncode == 0, f"ansible-test sanity exited {proc.returncode}:\n{findings}\n\nFull output:\n{proc.stdout}"
