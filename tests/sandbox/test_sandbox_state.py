"""Persistence across restarts, two processes on one state dir, request log, faults."""

import json
import threading
import time

from azure.mgmt.apimanagement import models as am

from sandbox_helpers import RG, SERVICE, client_for, etag_of, seed_default
from sandbox.testing import SandboxProcess


def _backend(url="https://backend.example"):
    return am.BackendContract(url=url, protocol="http")


def test_state_survives_restart(tmp_path):
    with SandboxProcess(tmp_path) as first:
        seed_default(first)
        client_for(first.info).backend.create_or_update(RG, SERVICE, "kept", _backend())
        info1 = first.info
        ca1 = open(info1["ca_bundle"]).read()
    with SandboxProcess(tmp_path) as second:
        assert second.info == info1  # same port (it was free), credentials, CA path
        assert open(second.info["ca_bundle"]).read() == ca1
        assert client_for(second.info).backend.get(RG, SERVICE, "kept").url == \
            "https://backend.example"


def test_two_processes_share_state_consistently(tmp_path):
    with SandboxProcess(tmp_path) as one, SandboxProcess(tmp_path) as two:
        assert one.url != two.url  # the second picked another port ...
        with open(tmp_path / "sandbox.json") as fh:
            assert json.load(fh) == two.info  # ... and rewrote sandbox.json
        assert one.info["secret"] == two.info["secret"]
        seed_default(one)
        clients = [client_for(one.info), client_for(two.info)]
        errors = []

        def create(client, prefix):
            try:
                for i in range(10):
                    client.backend.create_or_update(RG, SERVICE, f"{prefix}{i}", _backend())
            except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(c, p))
                   for c, p in ((clients[0], "a"), (clients[1], "b"),
                                (clients[0], "c"), (clients[1], "d"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        names = [b.name for b in clients[1].backend.list_by_service(RG, SERVICE)]
        assert len(names) == 40 and len(set(names)) == 40

        # Optimistic concurrency across processes: with the same ETag, exactly one wins.
        etag = etag_of(clients[0].backend.get_entity_tag, RG, SERVICE, "a0")
        results = []

        def update(client, text):
            try:
                client.backend.update(RG, SERVICE, "a0", etag,
                                      am.BackendUpdateParameters(description=text))
                results.append(200)
            except Exception as exc:  # noqa: BLE001
                results.append(getattr(exc, "status_code", repr(exc)))

        racers = [threading.Thread(target=update, args=(c, f"by {i}"))
                  for i, c in enumerate(clients)]
        for t in racers:
            t.start()
        for t in racers:
            t.join()
        assert sorted(results) == [200, 412]


def test_request_log_counts_and_hides_secrets(sb, apim, pfx_factory):
    apim.api_management_service.get(RG, SERVICE)  # token fetched before clearing
    sb.admin("DELETE", "requests")
    pfx, _t, _e = pfx_factory("hunter2")
    apim.certificate.create_or_update(RG, SERVICE, "c", am.CertificateCreateOrUpdateParameters(
        data=pfx, password="hunter2"))
    apim.certificate.get(RG, SERVICE, "c")
    apim.certificate.get(RG, SERVICE, "c")
    apim.backend.create_or_update(RG, SERVICE, "b", _backend())
    log = sb.admin("GET", "requests")
    assert log["counts"] == {"PUT Certificate_CreateOrUpdate": 1, "GET Certificate_Get": 2,
                             "PUT Backend_CreateOrUpdate": 1}
    assert log["writes"] == 2
    arm = [r for r in log["requests"] if r["kind"] == "arm"]
    assert [r["status"] for r in arm] == [201, 200, 200, 201]
    assert arm[0]["route"].endswith("/certificates/{certificateId}")
    text = json.dumps(log)
    assert "hunter2" not in text and pfx[:40] not in text and "Bearer" not in text
    assert {r["kind"] for r in log["requests"]} <= {"arm", "admin", "login", "metadata"}


def test_login_requests_are_logged_not_counted(sb):
    sb.admin("DELETE", "requests")
    client = client_for(sb.info)
    client.api_management_service.get(RG, SERVICE)
    log = sb.admin("GET", "requests")
    assert log["counts"] == {"GET ApiManagementService_Get": 1}
    assert log["writes"] == 0
    assert any(r["kind"] == "login" and r["method"] == "POST" for r in log["requests"])


def test_throttling_fault_is_retried_by_the_sdk(sb, apim):
    apim.backend.create_or_update(RG, SERVICE, "b", _backend())
    sb.admin("DELETE", "requests")
    sb.admin("POST", "faults", {"method": "GET", "path_regex": "/backends/b$", "status": 429,
                                "retry_after": 0, "count": 2})
    assert apim.backend.get(RG, SERVICE, "b").name == "b"
    statuses = [r["status"] for r in sb.admin("GET", "requests")["requests"]
                if r["kind"] == "arm"]
    assert statuses == [429, 429, 200]


def test_fault_answer_shape_and_latency(sb):
    sb.admin("POST", "faults", {"method": None, "path_regex": "/metadata/", "status": 503,
                                "retry_after": 7, "count": 1})
    status, headers, body = sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")
    assert status == 503 and headers["Retry-After"] == "7"
    assert body["error"]["code"] == "ServiceUnavailable"
    assert sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")[0] == 200
    sb.admin("POST", "faults", {"path_regex": "/metadata/", "latency_ms": 400, "count": 1})
    started = time.monotonic()
    assert sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")[0] == 200
    assert time.monotonic() - started >= 0.4
    sb.admin("POST", "faults", {"path_regex": ".", "status": 500, "count": 5})
    sb.admin("DELETE", "faults")
    assert sb.request("GET", "/metadata/endpoints?api-version=2022-09-01")[0] == 200


def test_reset_keeps_credentials_and_clears_resources(sb, apim):
    apim.backend.create_or_update(RG, SERVICE, "b", _backend())
    sb.admin("POST", "reset")
    state = sb.admin("GET", "state")
    assert state["resources"] == [] and state["clock_offset_seconds"] == 0
    seed_default(sb)
    assert list(client_for(sb.info).backend.list_by_service(RG, SERVICE)) == []


def test_sandbox_of_a_killed_test_process_stops(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    script = ("import sys, time; sys.path.insert(0, sys.argv[1]);"
              "from sandbox.testing import SandboxProcess;"
              "sb = SandboxProcess(sys.argv[2]).start(); print(sb.proc.pid, flush=True);"
              "time.sleep(60)")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parent = subprocess.Popen([sys.executable, "-c", script, repo, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGTERM)
    raise AssertionError("the orphaned sandbox kept running")
