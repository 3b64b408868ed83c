"""Start and stop the sandbox from tests: ``with SandboxProcess(tmp_path) as sb: sb.info``."""

import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SandboxError(RuntimeError):
    pass


def stop_process(proc, timeout=10):
    """Terminate a child process (SIGTERM), killing it when it does not end within `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class SandboxProcess:
    """A sandbox subprocess bound to ``state_dir``; ``.info`` is its JSON line."""

    def __init__(self, state_dir, port=0, python=None, startup_timeout=30):
        self.state_dir = os.path.abspath(str(state_dir))
        self.port = port
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.proc = None
        self.info = None
        self._ssl = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self):
        cmd = [self.python, "-m", "sandbox", "run", "--state-dir", self.state_dir,
               "--port", str(self.port), "--exit-with-parent"]
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._readline_with_timeout()
        if not line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise SandboxError(f"sandbox did not start: {err.strip()[-2000:]}")
        self.info = json.loads(line)
        self._ssl = ssl.create_default_context(cafile=self.info["ca_bundle"])
        # Drain stderr so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stdout,), daemon=True).start()
        return self

    def _readline_with_timeout(self):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        return result[0] if result else ""

    @staticmethod
    def _drain(stream):
        for _line in stream:
            pass

    def stop(self, timeout=10):
        stop_process(self.proc, timeout)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- conveniences ---------------------------------------------------------------------
    @property
    def url(self):
        return self.info["url"]

    @property
    def ca_bundle(self):
        return self.info["ca_bundle"]

    def admin(self, method, path, body=None):
        """Call the admin API: ``sb.admin("POST", "seed", {...})`` -> parsed JSON."""
        url = f"{self.info['admin_url']}/{path.lstrip('/')}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise SandboxError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None

    def request(self, method, path, body=None, headers=None):
        """A raw HTTPS call to the sandbox: (status, headers, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=30) as resp:
                raw = resp.read()
                return resp.status, dict(resp.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return exc.code, dict(exc.headers), parsed
