"""A real nginx on loopback that demands client certificates, for tests of mutual TLS.

    with MtlsBackend(tmp_dir) as backend:
        backend.url                     # https://backend.localhost:PORT
        backend.server_ca_pem           # PEM of the private CA that issued nginx's certificate
        backend.client_pfx("client1")   # (base64 PFX, password, subject) issued by the client CA
        backend.access_log()            # [{"request", "status", "client_verify", "client_s_dn"}]

nginx's server certificate is issued by a private CA made for the run (names
``backend.localhost`` and ``127.0.0.1``); ``ssl_verify_client on`` trusts a second private CA
that issues client certificates. Without a client certificate nginx answers 400 ("No required
SSL certificate was sent"). Its own prefix, config, pid file and logs live in the given
directory: the system's nginx is never touched. Missing nginx is installed from Debian's
packages (nginx-light) when running as root; otherwise NginxUnavailable is raised.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import time

SERVER_NAMES = ("backend.localhost", "127.0.0.1")
PFX_PASSWORD = "nginx-client-pw"
_NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")

CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format mtls escape=json
        '{{"request":"$request","status":$status,"client_verify":"$ssl_client_verify",'
        '"client_s_dn":"$ssl_client_s_dn","server_name":"$ssl_server_name",'
        '"forwarded_for":"$http_x_forwarded_for"}}';
    access_log {prefix}/access.log mtls;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {server_names};
        ssl_certificate {prefix}/server.pem;
        ssl_certificate_key {prefix}/server-key.pem;
        ssl_client_certificate {prefix}/client-ca.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / {{
            default_type application/json;
            return 200 '{{"uri":"$request_uri","client_s_dn":"$ssl_client_s_dn"}}';
        }}
    }}
}}
"""


class NginxUnavailable(RuntimeError):
    """nginx is not installed and cannot be installed here."""


def find_nginx(install=True):
    """Path of the nginx binary; installs nginx-light through apt-get when root."""
    found = shutil.which("nginx") or next((p for p in _NGINX_PATHS if os.path.exists(p)), None)
    if found or not install:
        if not found:
            raise NginxUnavailable("nginx is not installed")
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise NginxUnavailable("nginx is not installed; run tools/setup-system.sh as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise NginxUnavailable(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    return find_nginx(install=False)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pfx_of(leaf, password=PFX_PASSWORD):
    """A trustme LeafCert as (base64 PFX, password, APIM-style subject)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    blob = pkcs12.serialize_key_and_certificates(
        b"client", key, cert, None,
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    return base64.b64encode(blob).decode(), password, cert.subject.rfc4514_string()


class MtlsBackend:
    """nginx with a private-CA server certificate and a required client certificate."""

    def __init__(self, directory, server_names=SERVER_NAMES, startup_timeout=15):
        import trustme

        self.prefix = os.path.abspath(str(directory))
        self.server_names = tuple(server_names)
        self.startup_timeout = startup_timeout
        self.server_ca = trustme.CA(organization_name="mtls.apim backend server CA")
        self.client_ca = trustme.CA(organization_name="mtls.apim backend client CA")
        self.port = None
        self.proc = None

    # --- certificates ----------------------------------------------------------------------
    @property
    def server_ca_pem(self):
        return self.server_ca.cert_pem.bytes()

    @property
    def server_ca_der_b64(self):
        """The server CA as APIM's properties.certificates wants it (base64 DER)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificate(self.server_ca_pem)
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    def client_pfx(self, common_name, password=PFX_PASSWORD):
        """A client certificate nginx accepts: (base64 PFX, password, subject RFC 4514)."""
        leaf = self.client_ca.issue_cert(f"{common_name}.client.test", common_name=common_name,
                                         organization_name="mtls.apim tests")
        return pfx_of(leaf, password)

    def stranger_pfx(self, common_name, password=PFX_PASSWORD):
        """A client certificate from a CA nginx does not trust."""
        import trustme

        leaf = trustme.CA().issue_cert(f"{common_name}.client.test", common_name=common_name)
        return pfx_of(leaf, password)

    # --- process ---------------------------------------------------------------------------
    @property
    def url(self):
        return f"https://{self.server_names[0]}:{self.port}"

    def url_for(self, host):
        return f"https://{host}:{self.port}"

    def start(self):
        binary = find_nginx()
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        leaf = self.server_ca.issue_cert(*self.server_names)
        leaf.cert_chain_pems[0].write_to_path(os.path.join(self.prefix, "server.pem"))
        leaf.private_key_pem.write_to_path(os.path.join(self.prefix, "server-key.pem"))
        self.client_ca.cert_pem.write_to_path(os.path.join(self.prefix, "client-ca.pem"))
        self.port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as fh:
            # As root the workers would drop to "nobody", which cannot read a private tmp dir.
            fh.write(CONF.format(prefix=self.prefix, port=self.port,
                                 server_names=" ".join(self.server_names),
                                 user="user root;" if os.geteuid() == 0 else ""))
        check = subprocess.run([binary, "-t", "-q", "-c", conf, "-p", self.prefix],
                               capture_output=True, text=True, check=False)
        if check.returncode:
            raise RuntimeError(f"nginx config rejected: {check.stderr.strip()[-1000:]}")
        self.proc = subprocess.Popen([binary, "-c", conf, "-p", self.prefix],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()[-1000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening in time")

    def stop(self, timeout=10):
        from sandbox.testing import stop_process

        stop_process(self.proc, timeout)  # SIGTERM: fast shutdown of master and workers
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- logs ------------------------------------------------------------------------------
    def _read(self, name):
        try:
            with open(os.path.join(self.prefix, name), encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def error_log(self):
        return self._read("error.log")

    def access_log(self):
        """Entries written so far, oldest first (nginx writes each when the request ends)."""
        return [json.loads(line) for line in self._read("access.log").splitlines() if line]

    def clear_access_log(self):
        open(os.path.join(self.prefix, "access.log"), "w", encoding="utf-8").close()


def mtls_backend_fixture(scope="module", name="nginx_backend"):
    """A pytest fixture yielding a started MtlsBackend; skips the test when nginx cannot be
    had. In a conftest.py: ``nginx_backend = mtls_backend_fixture()``."""
    import pytest

    @pytest.fixture(scope=scope, name=name)
    def _fixture(tmp_path_factory):
        try:
            find_nginx()
        except NginxUnavailable as exc:
            # On CI nginx is part of the setup (tools/setup-system.sh): its absence is a failure there.
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        with MtlsBackend(tmp_path_factory.mktemp("nginx")) as backend:
            yield backend

    return _fixture
