"""Fixtures for the gateway tests: the sandbox, a real nginx demanding client certificates,
and a caller of ``https://<service>.azure-api.localhost:<port>``."""

import http.client
import json
import os
import socket
import ssl
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(TESTS)
for path in (REPO_ROOT, TESTS, os.path.join(TESTS, "sandbox")):
    if path not in sys.path:
        sys.path.insert(0, path)

from sandbox.testing import SandboxProcess  # noqa: E402
from sandbox_helpers import SERVICE, client_for, seed_default  # noqa: E402
from support.nginx import mtls_backend_fixture  # noqa: E402

nginx_backend = mtls_backend_fixture()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    try:
        socket.getaddrinfo(f"{SERVICE}.azure-api.localhost", 443)
    except socket.gaierror:
        pytest.skip("*.localhost does not resolve: run tools/setup-system.sh")
    with SandboxProcess(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


@pytest.fixture
def sb(sandbox, nginx_backend):
    """The module's sandbox reset and seeded (rg1/apim1/kv1); nginx's access log emptied."""
    sandbox.seeded = seed_default(sandbox)
    nginx_backend.clear_access_log()
    return sandbox


@pytest.fixture
def apim(sb):
    return client_for(sb.info)


class GatewayCaller:
    """Calls the sandbox's gateway as a client of the API would."""

    def __init__(self, sandbox, service=SERVICE):
        self.host = f"{service}.azure-api.localhost"
        self.port = int(sandbox.url.rsplit(":", 1)[1])
        self.context = ssl.create_default_context(cafile=sandbox.ca_bundle)

    def __call__(self, path, method="GET", body=None, headers=None):
        """(status, headers, parsed JSON or text) of one call."""
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                           timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
        finally:
            conn.close()


@pytest.fixture
def gateway(sb):
    return GatewayCaller(sb)


@pytest.fixture
def gateway_for(sb):
    """A caller for another service name: ``gateway_for("apim2")("/path")``."""
    return lambda service: GatewayCaller(sb, service)
