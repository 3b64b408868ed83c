"""Fixtures for the AWX / execution-environment tests: the collection built from the work tree."""

from __future__ import annotations

import pytest
import yaml

from awx_support import REPO, run, tool  # pylint: disable=import-error


@pytest.fixture(scope="session")
def galaxy():
    return yaml.safe_load((REPO / "galaxy.yml").read_text())


@pytest.fixture(scope="session")
def tarball(galaxy, tmp_path_factory):
    """The collection tarball, as a release, an EE build or AWX's project sync takes it."""
    out = tmp_path_factory.mktemp("awx-build")
    run(tool("ansible-galaxy"), "collection", "build", "--output-path", out)
    path = out / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    assert path.is_file()
    return path
