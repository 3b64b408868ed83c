"""Role and playbook tests: molecule scenarios and the example inventory against the local Azure sandbox."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import environments  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='session')
def collections_root(tmp_path_factory):
    """ansible_collections/mtls/apim pointing at this work tree."""
    return environments.link_collection(str(tmp_path_factory.mktemp('collections')))


@pytest.fixture(scope='session')
def sandbox_process(tmp_path_factory):
    from sandbox.testing import SandboxProcess  # pylint: disable=import-outside-toplevel

    with SandboxProcess(str(tmp_path_factory.mktemp('sandbox'))) as process:
        yield process
