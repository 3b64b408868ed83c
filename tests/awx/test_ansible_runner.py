"""site.yml run through ansible-runner the way an AWX job template runs it.

AWX hands ansible-runner a private data directory per job:

    project/                  the project's SCM checkout (playbooks/site.yml, files/)
    requirements_collections/ collections the project sync installed (here: the built tarball)
    inventory/hosts           the inventory AWX imported from the project, written back as a script printing JSON
    env/extravars             the job template's extra vars and survey answers (YAML; launch-time answers !unsafe)
    env/envvars               the environment: what the Azure Resource Manager credential injects, plus
                              ANSIBLE_COLLECTIONS_PATH, which AWX itself sets for requirements_collections

Nothing else from this test process may reach the job: AZURE_* and ANSIBLE_* variables are removed from the
environment ansible-runner copies. The sandbox is a private cloud to the modules, so its CA goes in
AZURE_CA_BUNDLE; in AWX that comes from the execution environment or a custom credential type.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from awx_support import BIN, REPO, install, run, tool  # pylint: disable=import-error

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "roles"))

import environments  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.slow

HOSTS = {"apim-dev", "apim-test", "apim-prod"}
# The fields of AWX's "Microsoft Azure Resource Manager" credential, as its injector names them.
CREDENTIAL_VARIABLES = ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT",
                        "AZURE_CLOUD_ENVIRONMENT")
# Variables ansible-runner sets itself for every job (its callback plugin and defaults).
RUNNER_VARIABLES = {"ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_RETRY_FILES_ENABLED",
                    "ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION",
                    "ANSIBLE_CALLBACKS_ENABLED"}

INVENTORY_SCRIPT = """#!/usr/bin/env python3
# Inventory written by the job launcher from AWX's inventory (imported from the project's inventory/).
import sys

sys.stdout.write(%r)
"""


def awx_inventory():
    """The example inventory as AWX imports it (`ansible-inventory --list --export`): groups, hosts and their vars."""
    return run(tool("ansible-inventory"), "-i", REPO / "inventory", "--list", "--export").stdout


def write_extravars(path, job_template_vars, survey_answers):
    """env/extravars as AWX writes it: YAML; survey answers given at launch are tagged !unsafe (never templated)."""
    lines = ["---"]
    lines += ["%s: %s" % (key, json.dumps(value)) for key, value in job_template_vars.items()]
    lines += ["%s: !unsafe %s" % (key, json.dumps(value)) for key, value in survey_answers.items()]
    path.write_text("\n".join(lines) + "\n")


class AwxJob:
    """Lays out one job's private data directory and runs it with ansible_runner.run."""

    def __init__(self, root, collections, files, inventory, credential, extra_vars, survey):
        self.root, self.collections, self.files, self.inventory = root, collections, files, inventory
        self.credential, self.extra_vars, self.survey = credential, extra_vars, survey
        self.count = 0

    def private_data_dir(self):
        self.count += 1
        pdd = self.root / f"job-{self.count}"
        shutil.copytree(REPO / "playbooks", pdd / "project" / "playbooks")
        shutil.copytree(self.files, pdd / "project" / "files")
        shutil.copytree(self.collections, pdd / "requirements_collections")
        (pdd / "inventory").mkdir()
        hosts = pdd / "inventory" / "hosts"
        hosts.write_text(INVENTORY_SCRIPT % self.inventory)
        hosts.chmod(0o700)
        (pdd / "env").mkdir()
        envvars = dict(self.credential)
        envvars["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([
            str(pdd / "requirements_collections"), "~/.ansible/collections", "/usr/share/ansible/collections"])
        (pdd / "env" / "envvars").write_text(json.dumps(envvars))
        write_extravars(pdd / "env" / "extravars", dict(self.extra_vars, awx_job_id=self.count), self.survey)
        return pdd

    def run(self, home):
        import ansible_runner  # pylint: disable=import-outside-toplevel

        pdd = self.private_data_dir()
        with pytest.MonkeyPatch.context() as patch:
            # ansible-runner starts the job from a copy of os.environ; leave in it only what any process has.
            for key in list(os.environ):
                if key.startswith(("AZURE_", "ANSIBLE_", "MTLS_APIM_")) or key in ("PYTHONPATH", "VIRTUAL_ENV"):
                    patch.delenv(key)
            patch.setenv("HOME", str(home))
            patch.setenv("PATH", os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
            return ansible_runner.run(private_data_dir=str(pdd), playbook="playbooks/site.yml", ident="job",
                                      quiet=True, timeout=900)


@pytest.fixture(scope="module")
def jobs(tarball, tmp_path_factory):
    """Two launches of the job template on a freshly seeded sandbox: the first converges, the second checks."""
    from sandbox.testing import SandboxProcess  # pylint: disable=import-outside-toplevel

    # AWX's project sync: the collection installed from the built tarball into a collections directory.
    collections = install(tarball, tmp_path_factory.mktemp("project-sync") / "requirements_collections")
    files = tmp_path_factory.mktemp("project-files")
    home = tmp_path_factory.mktemp("runner-home")
    with SandboxProcess(str(tmp_path_factory.mktemp("sandbox"))) as process:
        info = process.info
        environments.prepare(info, str(files), str(collections))
        with open(environments.extra_vars_file(str(files)), encoding="utf-8") as handle:
            secrets = json.load(handle)
        os.remove(files / "secrets.json")  # a survey answer in AWX, not a file in the project
        credential = {key: info["env"][key] for key in CREDENTIAL_VARIABLES}
        credential["AZURE_CA_BUNDLE"] = info["env"]["AZURE_CA_BUNDLE"]
        job = AwxJob(
            tmp_path_factory.mktemp("awx"), collections, files, awx_inventory(), credential,
            extra_vars={
                # Job template extra vars: where this "cloud" keeps its vaults and the control node's address.
                "apim_key_vault_dns_suffix": "vault.localhost:%s" % info["url"].rsplit(":", 1)[-1],
                "apim_control_node_ip": "127.0.0.1",
                "apim_files": "{{ playbook_dir }}/../files",
                "awx_job_template_name": "APIM mutual TLS - site",
            },
            survey=secrets)
        first = job.run(home)
        second = job.run(home)
        resources = [entry["body"] for entry in process.admin("GET", "state")["resources"]]
        yield {"runs": (first, second), "secret": info["env"]["AZURE_SECRET"], "survey": secrets,
               "resources": resources}


def stats(result):
    events = [event for event in result.events if event["event"] == "playbook_on_stats"]
    assert len(events) == 1, [event["event"] for event in result.events]
    return events[0]["event_data"]


def failure_output(result):
    return "status %s rc %s:\n%s" % (result.status, result.rc, result.stdout.read()[-20000:])


def test_job_succeeds_and_converges_every_host(jobs):
    first, _second = jobs["runs"]
    assert (first.status, first.rc) == ("successful", 0), failure_output(first)
    counts = stats(first)
    assert set(counts["processed"]) == HOSTS
    assert not counts["failures"] and not counts["dark"], counts
    assert set(counts["changed"]) == HOSTS and all(counts["changed"][host] > 0 for host in HOSTS), counts
    changed_tasks = {event["event_data"]["host"] for event in first.events
                     if event["event"] == "runner_on_ok" and event["event_data"]["res"].get("changed")}
    assert changed_tasks == HOSTS


def test_services_hold_what_the_inventory_declares(jobs):
    """The job converged Azure, not just the recap: every service has its client certificate and backend."""
    for host in HOSTS:
        certificates = {body["name"] for body in jobs["resources"]
                        if body["id"].lower().endswith(("/service/%s/certificates/%s" % (host, body["name"])).lower())}
        backends = {body["name"] for body in jobs["resources"]
                    if body["id"].lower().endswith(("/service/%s/backends/%s" % (host, body["name"])).lower())}
        assert "orders-client" in certificates and "orders" in backends, (host, certificates, backends)


def test_second_job_changes_nothing(jobs):
    _first, second = jobs["runs"]
    assert (second.status, second.rc) == ("successful", 0), failure_output(second)
    counts = stats(second)
    assert set(counts["processed"]) == HOSTS and not counts["failures"], counts
    assert not any(counts["changed"].values()), counts
    assert not [event["event_data"]["task"] for event in second.events
                if event["event"] == "runner_on_ok" and event["event_data"]["res"].get("changed")]


def test_job_saw_only_the_credential_environment(jobs):
    """The environment the job ran with: Azure settings only from the credential, no ANSIBLE_* from the test process."""
    for result in jobs["runs"]:
        with open(os.path.join(result.config.artifact_dir, "command"), encoding="utf-8") as handle:
            env = json.load(handle)["env"]
        assert sorted(key for key in env if key.startswith("AZURE_")) == sorted(CREDENTIAL_VARIABLES + ("AZURE_CA_BUNDLE",))
        ansible = {key for key in env if key.startswith("ANSIBLE_")}
        assert ansible - RUNNER_VARIABLES == {"ANSIBLE_COLLECTIONS_PATH"}, ansible
        assert not [key for key in env if key.startswith("MTLS_APIM_")]


def test_secrets_stay_out_of_stdout_and_events(jobs):
    """Neither the client secret nor the PFX password (a survey answer) shows in what AWX stores and displays."""
    secrets = [jobs["secret"]] + list(jobs["survey"].values())
    for result in jobs["runs"]:
        artifacts = result.config.artifact_dir
        with open(os.path.join(artifacts, "stdout"), encoding="utf-8") as handle:
            stdout = handle.read()
        assert stdout.strip()
        events = json.dumps(list(result.events))
        for secret in secrets:
            assert secret not in stdout and secret not in events
        # Only the runner's `command` record holds the job's environment (and so the credential); AWX does not
        # ship it back from the execution node. Everything else in the artifacts is free of secrets.
        holding = set()
        for folder, _dirs, names in os.walk(artifacts):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                if any(secret in text for secret in secrets):
                    holding.add(os.path.relpath(path, artifacts))
        assert holding <= {"command"}, holding
