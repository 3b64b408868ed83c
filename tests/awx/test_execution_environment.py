"""The execution environment definition: ansible-builder turns it into a build context with this collection and
its Python and system requirements; the collection's own EE metadata lets any EE find them by introspection.

`ansible-builder build` needs a container engine, so the image itself is not built here.
"""

from __future__ import annotations

import importlib.metadata
import shutil

import pytest
import yaml
from packaging.requirements import Requirement

from awx_support import REPO, install, run, tool  # pylint: disable=import-error

# Runtime packages the modules need in the image; build-only ones carry the compile profile.
RUNTIME_SYSTEM = {"ca-certificates"}
COMPILE_RPM = {"gcc", "libffi-devel", "openssl-devel"}
COMPILE_DPKG = {"gcc", "libffi-dev", "libssl-dev"}


def requirement_names(lines):
    """Distribution names of pip requirement lines (comments and `-r` includes left out)."""
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(Requirement(line).name.lower())
    return names


def collection_requirements():
    return requirement_names((REPO / "requirements.txt").read_text().splitlines())


def bindep_names(lines):
    return {line.split("#", 1)[0].split()[0] for line in lines if line.split("#", 1)[0].strip()}


def ee_definition():
    return yaml.safe_load((REPO / "execution-environment.yml").read_text())


def checkout(tmp_path, tarball, definition=None):
    """What `ansible-builder build` sees in a clone: the definition, its requirement files, build/<tarball>."""
    shutil.copy2(REPO / "requirements.txt", tmp_path)
    shutil.copy2(REPO / "bindep.txt", tmp_path)
    (tmp_path / "build").mkdir(exist_ok=True)
    shutil.copy2(tarball, tmp_path / "build")
    path = tmp_path / "execution-environment.yml"
    if definition is None:
        shutil.copy2(REPO / "execution-environment.yml", path)
    else:
        path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return path


def create(definition_path, context, check=True):
    return run(tool("ansible-builder"), "create", "-f", definition_path, "-c", context,
               "--output-filename", "Containerfile", cwd=definition_path.parent, check=check)


@pytest.fixture(scope="module")
def context(tarball, tmp_path_factory):
    """`ansible-builder create` run on the definition in a clone with the built collection in build/."""
    source = tmp_path_factory.mktemp("ee-source")
    ctx = tmp_path_factory.mktemp("ee-context")
    proc = create(checkout(source, tarball), ctx)
    # A tarball missing from build/ is only a warning at create time; the image build would fail later.
    assert "No matches" not in proc.stdout and "does not exist" not in proc.stdout, proc.stdout
    return ctx


def test_collection_metadata_points_at_its_requirement_files():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["version"] == 1
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in meta["dependencies"].values():
        assert (REPO / name).is_file(), name


def test_bindep_separates_runtime_from_build_packages():
    """bindep resolves the file per platform: the image gets the trust store; compilers only in the builder stage."""
    from bindep.depends import Depends  # pylint: disable=import-outside-toplevel

    rules = Depends((REPO / "bindep.txt").read_text())

    def active(*profiles):
        return {rule[0] for rule in rules.active_rules(list(profiles))}

    assert active("platform:rpm", "platform:centos") == RUNTIME_SYSTEM
    assert active("platform:dpkg", "platform:debian") == RUNTIME_SYSTEM
    assert COMPILE_RPM | RUNTIME_SYSTEM <= active("compile", "platform:rpm", "platform:centos")
    assert COMPILE_DPKG | RUNTIME_SYSTEM <= active("compile", "platform:dpkg", "platform:debian")
    assert not active("compile", "platform:rpm") & COMPILE_DPKG - COMPILE_RPM


def test_definition_installs_the_tested_ansible(galaxy):
    """ansible-core and ansible-runner in the image: the ranges this collection is tested with."""
    deps = ee_definition()["dependencies"]
    dev = {Requirement(line).name: Requirement(line) for line in (REPO / "requirements-dev.txt").read_text().splitlines()
           if line.strip() and not line.startswith(("#", "-"))}
    core = Requirement(deps["ansible_core"]["package_pip"])
    runner = Requirement(deps["ansible_runner"]["package_pip"])
    assert core.name == "ansible-core" and core.specifier == dev["ansible-core"].specifier
    assert importlib.metadata.version("ansible-core") in core.specifier
    assert runner.name == "ansible-runner" and importlib.metadata.version("ansible-runner") in runner.specifier
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    minimum = runtime["requires_ansible"].lstrip(">=")
    assert minimum in core.specifier, "requires_ansible and the EE's ansible-core disagree"
    # The galaxy requirement names the tarball of the version galaxy.yml builds.
    name = f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert deps["galaxy"]["collections"] == [{"name": f"collections/{name}", "type": "file"}], \
        "execution-environment.yml installs another version than galaxy.yml builds: update both tarball names"
    assert ee_definition()["additional_build_files"] == [{"src": f"build/{name}", "dest": "collections"}]


def test_context_holds_collection_and_requirements(context, tarball):
    build = context / "_build"
    assert (build / "collections" / tarball.name).read_bytes() == tarball.read_bytes()
    galaxy_requirements = yaml.safe_load((build / "requirements.yml").read_text())
    assert galaxy_requirements["collections"] == [{"name": f"collections/{tarball.name}", "type": "file"}]
    python = requirement_names((build / "requirements.txt").read_text().splitlines())
    assert {"azure-identity", "azure-mgmt-apimanagement", "azure-mgmt-keyvault", "azure-keyvault-certificates",
            "cryptography"} <= set(python)
    assert python == collection_requirements()
    system = bindep_names((build / "bindep.txt").read_text().splitlines())
    assert RUNTIME_SYSTEM | COMPILE_RPM | COMPILE_DPKG <= system


def test_containerfile_installs_ansible_collection_and_requirements(context):
    text = (context / "Containerfile").read_text()
    definition = ee_definition()
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in text
    assert f'ARG PYCMD="{definition["dependencies"]["python_interpreter"]["python_path"]}"' in text
    refs = f'{definition["dependencies"]["ansible_core"]["package_pip"]} ' \
           f'{definition["dependencies"]["ansible_runner"]["package_pip"]}'
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in text
    # The galaxy stage installs the tarball; the builder stage merges the user's and the collections' requirements.
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in text
    assert "COPY _build/requirements.txt requirements.txt" in text
    assert "COPY _build/bindep.txt bindep.txt" in text
    assert "introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in text
    assert "RUN /output/scripts/install-from-bindep" in text


def test_built_collection_carries_its_ee_metadata(tarball, tmp_path):
    """Installed as an EE's galaxy stage installs it, introspection finds the collection's requirements."""
    collections = install(tarball, tmp_path / "collections")
    proc = run(tool("ansible-builder"), "introspect", "--sanitize", collections)
    found = yaml.safe_load(proc.stdout.split("---", 1)[1])
    python = found["python"]
    assert all(line.endswith("# from collection mtls.apim") for line in python), python
    assert requirement_names(python) == collection_requirements()
    system = found["system"]
    assert all(line.endswith("# from collection mtls.apim") for line in system), system
    assert bindep_names(system) == bindep_names((REPO / "bindep.txt").read_text().splitlines())


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d["dependencies"].update(pythn=d["dependencies"].pop("python")), "'pythn' was unexpected"),
    (lambda d: d["dependencies"].update(python="requirements-missing.txt"), "requirements-missing.txt does not exist"),
    (lambda d: d["dependencies"].update(ansible_core="ansible-core>=2.19,<2.20"), "is not of type 'object'"),
    (lambda d: d.update(version=4), "Unsupported schema version"),
], ids=["misspelt-key", "missing-requirements-file", "ansible-core-not-a-mapping", "unknown-version"])
def test_broken_definition_fails(tarball, tmp_path, breakage, message):
    definition = ee_definition()
    breakage(definition)
    source = tmp_path / "source"
    source.mkdir()
    proc = create(checkout(source, tarball, definition), tmp_path / "context", check=False)
    assert proc.returncode != 0, proc.stdout
    assert message in proc.stdout, proc.stdout
    assert not (tmp_path / "context" / "Containerfile").exists()
