"""The collection builds into a clean artifact that installs and documents its modules."""

from __future__ import annotations

import json
import tarfile

import pytest
import yaml

pytestmark = pytest.mark.tooling

# Development-only trees that must never reach the artifact (galaxy.yml build_ignore).
FORBIDDEN_PREFIXES = ("sandbox/", ".venv/", "tests/output/", ".ansible/", "tests/conformance/", ".git/")
FORBIDDEN_PARTS = ("__pycache__",)


@pytest.fixture(scope="module")
def galaxy(toolbox):
    """The collection's galaxy.yml."""
    return yaml.safe_load((toolbox.repo / "galaxy.yml").read_text())


@pytest.fixture(scope="module")
def artifact(toolbox, galaxy, tmp_path_factory):
    """Build the collection from the repository work tree, as a maintainer would."""
    out = tmp_path_factory.mktemp("build")
    proc = toolbox.run(toolbox.tool("ansible-galaxy"), "collection", "build", "--output-path", out)
    toolbox.assert_ok(proc)
    path = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert path.is_file(), proc.stdout
    return path


@pytest.fixture(scope="module")
def installed(toolbox, artifact, tmp_path_factory):
    """Install the artifact into an empty collections path; return the environment that sees it."""
    dest = tmp_path_factory.mktemp("collections")
    env = toolbox.env(ANSIBLE_COLLECTIONS_PATH=str(dest))
    proc = toolbox.run(
        toolbox.tool("ansible-galaxy"), "collection", "install", "--offline", "-p", dest, artifact, env=env,
    )
    toolbox.assert_ok(proc)
    return env


def module_names(toolbox):
    """Module names as shipped: every plugins/modules/*.py but the package marker."""
    return sorted(p.stem for p in (toolbox.repo / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def test_artifact_leaves_out_development_trees(artifact):
    """Nothing under sandbox/, .venv/, tests/output/, .ansible/, tests/conformance/ or __pycache__."""
    with tarfile.open(artifact) as tar:
        names = [member.name.lstrip("./") for member in tar.getmembers()]
    assert "MANIFEST.json" in names and "galaxy.yml" not in names
    leaked = [
        name for name in names
        if any(f"{name}/".startswith(prefix) for prefix in FORBIDDEN_PREFIXES)
        or any(part in FORBIDDEN_PARTS for part in name.split("/"))
    ]
    assert not leaked, f"development files in {artifact.name}: {leaked}"


def test_installed_collection_is_listed(toolbox, galaxy, installed):
    """ansible-galaxy sees the installed collection at the built version."""
    fqcn = f"{galaxy['namespace']}.{galaxy['name']}"
    proc = toolbox.run(toolbox.tool("ansible-galaxy"), "collection", "list", fqcn, "--format", "json", env=installed)
    toolbox.assert_ok(proc)
    found = {name: info["version"] for path in json.loads(proc.stdout).values() for name, info in path.items()}
    assert found == {fqcn: galaxy["version"]}, proc.stdout


def test_installed_modules_have_docs(toolbox, galaxy, installed):
    """ansible-doc renders every module from the installed artifact, not from the work tree."""
    modules = module_names(toolbox)
    if not modules:
        pytest.skip("no modules in plugins/modules yet")
    fqcns = [f"{galaxy['namespace']}.{galaxy['name']}.{name}" for name in modules]
    proc = toolbox.run(toolbox.tool("ansible-doc"), "-t", "module", "--json", *fqcns, env=installed)
    toolbox.assert_ok(proc)
    docs = json.loads(proc.stdout)
    missing = [fqcn for fqcn in fqcns if not docs.get(fqcn, {}).get("doc")]
    assert not missing, f"ansible-doc gave no documentation for {missing}:\n{proc.stdout}"
