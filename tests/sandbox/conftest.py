"""Fixtures for the sandbox's own tests: one sandbox process per module, reset per test."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (REPO_ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from sandbox.testing import SandboxProcess  # noqa: E402
from sandbox_helpers import client_for, make_pfx, seed_default  # noqa: E402


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with SandboxProcess(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


@pytest.fixture
def sb(sandbox):
    """The module's sandbox, reset and seeded with rg1/apim1/kv1."""
    sandbox.seeded = seed_default(sandbox)
    return sandbox


@pytest.fixture
def apim(sb):
    return client_for(sb.info)


@pytest.fixture
def pfx_factory():
    return make_pfx
