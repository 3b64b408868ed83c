"""Start-up: state dir, TLS, port choice, the JSON line, serving until SIGTERM/SIGINT."""

import json
import os
import signal
import socket
import ssl
import sys
import threading

from werkzeug.serving import make_server

from sandbox import store as store_mod
from sandbox.app import create_app
from sandbox.gateway_tls import serve_gateway_names
from sandbox.tls import ensure_tls


def _port_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _ipv6_available():
    return socket.has_ipv6 and _port_free("::1", 0)


def _choose_port(requested, previous, want_v6):
    def free(port):
        return _port_free("127.0.0.1", port) and (not want_v6 or _port_free("::1", port))

    if requested:
        return requested
    if previous and free(previous):
        return previous
    for _ in range(50):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        if free(port):
            return port
    raise RuntimeError("no free port for both 127.0.0.1 and ::1")


def _previous_port(info_path):
    try:
        with open(info_path, encoding="utf-8") as fh:
            return int(json.load(fh)["url"].rsplit(":", 1)[1])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def build_info(state_dir, port, settings, ca_pem):
    url = f"https://127.0.0.1:{port}"
    metadata_url = f"{url}/metadata/endpoints?api-version=2022-09-01"
    return {
        "url": url,
        "metadata_url": metadata_url,
        "admin_url": f"{url}/_sandbox",
        "ca_bundle": ca_pem,
        "tenant": settings["tenant"],
        "client_id": settings["client_id"],
        "secret": settings["secret"],
        "subscription_id": settings["subscription_id"],
        "env": {
            "AZURE_CLOUD_ENVIRONMENT": metadata_url,
            "AZURE_CA_BUNDLE": ca_pem,
            "AZURE_TENANT": settings["tenant"],
            "AZURE_CLIENT_ID": settings["client_id"],
            "AZURE_SECRET": settings["secret"],
            "AZURE_SUBSCRIPTION_ID": settings["subscription_id"],
        },
    }


def run(state_dir, port=0, verbose=False, exit_with_parent=False):
    paths = store_mod.state_dir_paths(state_dir)
    os.makedirs(paths["dir"], mode=0o700, exist_ok=True)
    ca_pem, srv_pem, srv_key = ensure_tls(paths["dir"])
    settings = store_mod.initialise(paths["db"])

    want_v6 = _ipv6_available()
    port = _choose_port(port, _previous_port(paths["info"]), want_v6)
    config = dict(settings, url=f"https://127.0.0.1:{port}", port=port, db_path=paths["db"],
                  vault_resource=f"https://vault.localhost:{port}", verbose=verbose)
    app = create_app(config)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(srv_pem, srv_key)
    serve_gateway_names(ctx, paths["dir"])  # SNI: the gateway's own certificate
    # *.vault.localhost resolves to ::1 as well as 127.0.0.1: listen on both.
    hosts = ["127.0.0.1"] + (["::1"] if want_v6 else [])
    servers = [make_server(h, port, app, threaded=True, ssl_context=ctx) for h in hosts]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()

    info = build_info(paths["dir"], port, settings, ca_pem)
    tmp = paths["info"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, paths["info"])
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.is_set():
        stop.wait(0.2)
        # A test run killed hard must not leave its sandbox behind (re-parented when orphaned).
        if exit_with_parent and os.getppid() != parent:
            stop.set()
    for server in servers:
        server.shutdown()
    for server in servers:
        server.server_close()
    return 0
