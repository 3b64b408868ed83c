"""SQLite state: one connection per request, WAL, so processes and threads agree.

Resources live in one generic table keyed by the lowercased ARM id; the JSON body keeps the
casing of the request that created it. ``private`` holds what the API never returns (PFX
bytes, the resolved Key Vault version, ...).
"""

import base64
import contextlib
import json
import os
import secrets
import sqlite3
import struct
import time
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY,           -- lowercased ARM id
    parent TEXT NOT NULL,          -- lowercased ARM id of the parent ('' for none)
    type TEXT NOT NULL,            -- lowercased resource type
    body TEXT NOT NULL,            -- JSON as returned by the API
    private TEXT NOT NULL DEFAULT '{}',
    etag TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (parent, type);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, route TEXT,
    operation TEXT, kind TEXT NOT NULL, status INTEGER NOT NULL, write INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT, path_regex TEXT NOT NULL, status INTEGER, retry_after INTEGER,
    latency_ms INTEGER NOT NULL DEFAULT 0, remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_secrets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vault TEXT NOT NULL,           -- lowercased vault name
    name TEXT NOT NULL,            -- secret name as given
    version TEXT NOT NULL,
    value TEXT NOT NULL,
    content_type TEXT,
    created REAL NOT NULL          -- sandbox clock
);
CREATE INDEX IF NOT EXISTS vault_secrets_name ON vault_secrets (vault, name);
CREATE TABLE IF NOT EXISTS vault_certificates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vault TEXT NOT NULL,           -- lowercased vault name
    name TEXT NOT NULL,            -- certificate name as given
    version TEXT NOT NULL,         -- shared with its secret (and key) version
    cer TEXT NOT NULL,             -- base64 DER of the leaf certificate
    policy TEXT NOT NULL,          -- JSON CertificatePolicy (without id)
    tags TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL          -- sandbox clock
);
CREATE INDEX IF NOT EXISTS vault_certificates_name ON vault_certificates (vault, name);
"""

# Kept by reset: identity of the sandbox itself.
PERSISTENT_SETTINGS = ("tenant", "client_id", "client_object_id", "secret", "subscription_id",
                       "token_key")


def connect(db_path):
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def initialise(db_path):
    """Create the schema and the persisted credentials; return the settings dict."""
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        store = Store(conn)
        with store.transaction():
            defaults = {
                "tenant": str(uuid.uuid4()),
                "client_id": str(uuid.uuid4()),
                "client_object_id": str(uuid.uuid4()),
                "secret": secrets.token_urlsafe(30),
                "subscription_id": str(uuid.uuid4()),
                "token_key": secrets.token_hex(32),
                "clock_offset": "0",
                "etag_counter": "0",
            }
            for key, value in defaults.items():
                conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                             (key, value))
        return store.settings()
    finally:
        conn.close()


def lower_id(resource_id):
    return resource_id.rstrip("/").lower()


class Store:
    def __init__(self, conn):
        self.conn = conn

    @classmethod
    def open(cls, db_path):
        return cls(connect(db_path))

    def close(self):
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE: take the write lock up front so read-check-write is atomic."""
        if self.conn.in_transaction:
            yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # settings / clock -------------------------------------------------------------------
    def settings(self):
        return {r["key"]: r["value"] for r in self.conn.execute("SELECT key, value FROM settings")}

    def get_setting(self, key, default=None):
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_setting(self, key, value):
        self.conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          (key, str(value)))

    def now(self):
        """The sandbox clock: real time plus the offset moved by POST /_sandbox/clock."""
        return time.time() + float(self.get_setting("clock_offset", "0"))

    def advance_clock(self, seconds):
        with self.transaction():
            offset = float(self.get_setting("clock_offset", "0")) + float(seconds)
            self.set_setting("clock_offset", offset)
        return offset

    def new_etag(self):
        """APIM-style entity tag: base64 of an 8-byte row version, e.g. AAAAAAAAAAE=."""
        with self.transaction():
            counter = int(self.get_setting("etag_counter", "0")) + 1
            self.set_setting("etag_counter", counter)
        return base64.b64encode(struct.pack(">Q", counter)).decode("ascii")

    # resources ------------------------------------------------------------------------
    def get(self, resource_id):
        row = self.conn.execute("SELECT * FROM resources WHERE id = ?",
                                (lower_id(resource_id),)).fetchone()
        return _entity(row) if row else None

    def list(self, parent_id, rtype):
        rows = self.conn.execute(
            "SELECT * FROM resources WHERE parent = ? AND type = ? ORDER BY rowid",
            (lower_id(parent_id), rtype.lower()))
        return [_entity(r) for r in rows]

    def put(self, resource_id, parent_id, rtype, body, private=None, keep_etag=False):
        """Insert or replace; a fresh etag every write (unless keep_etag). Returns the entity."""
        current = self.get(resource_id) if keep_etag else None
        etag = current["etag"] if current else self.new_etag()
        self.conn.execute(
            "INSERT INTO resources (id, parent, type, body, private, etag) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "body = excluded.body, private = excluded.private, etag = excluded.etag",
            (lower_id(resource_id), lower_id(parent_id), rtype.lower(), json.dumps(body),
             json.dumps(private or {}), etag))
        return self.get(resource_id)

    def delete(self, resource_id):
        """Delete the resource and everything below it; True if it existed."""
        rid = lower_id(resource_id)
        cur = self.conn.execute("DELETE FROM resources WHERE id = ?", (rid,))
        like = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        self.conn.execute("DELETE FROM resources WHERE id LIKE ? ESCAPE '\\'", (like,))
        return cur.rowcount > 0

    def all_resources(self):
        rows = self.conn.execute("SELECT * FROM resources ORDER BY rowid")
        return [_entity(r) for r in rows]

    def reset(self):
        with self.transaction():
            for table in ("resources", "requests", "faults", "vault_secrets",
                          "vault_certificates"):
                self.conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            keep = ",".join("?" * len(PERSISTENT_SETTINGS))
            self.conn.execute(f"DELETE FROM settings WHERE key NOT IN ({keep})",
                              PERSISTENT_SETTINGS)
            self.set_setting("clock_offset", 0)
            self.set_setting("etag_counter", 0)

    # vault secrets --------------------------------------------------------------------
    def add_secret(self, vault, name, value, content_type, version=None):
        version = version or uuid.uuid4().hex
        with self.transaction():
            self.conn.execute(
                "INSERT INTO vault_secrets (vault, name, version, value, content_type, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (vault.lower(), name, version, value, content_type, self.now()))
        return version

    def secret_versions(self, vault, name):
        """All versions of a secret, newest first (Key Vault names are case-insensitive)."""
        rows = self.conn.execute(
            "SELECT * FROM vault_secrets WHERE vault = ? AND lower(name) = lower(?) "
            "ORDER BY seq DESC", (vault.lower(), name))
        return [dict(r) for r in rows]

    def all_secret_names(self, vault):
        rows = self.conn.execute(
            "SELECT name FROM vault_secrets WHERE vault = ? GROUP BY lower(name) ORDER BY "
            "min(seq)", (vault.lower(),))
        return [r["name"] for r in rows]

    def add_certificate(self, vault, name, version, cer, policy, tags):
        with self.transaction():
            self.conn.execute(
                "INSERT INTO vault_certificates (vault, name, version, cer, policy, tags, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (vault.lower(), name, version, cer, json.dumps(policy), json.dumps(tags or {}),
                 self.now()))

    def certificate_versions(self, vault, name):
        """All versions of a certificate, newest first."""
        rows = self.conn.execute(
            "SELECT * FROM vault_certificates WHERE vault = ? AND lower(name) = lower(?) "
            "ORDER BY seq DESC", (vault.lower(), name))
        return [dict(r, policy=json.loads(r["policy"]), tags=json.loads(r["tags"])) for r in rows]

    def all_certificate_names(self, vault):
        rows = self.conn.execute(
            "SELECT name FROM vault_certificates WHERE vault = ? GROUP BY lower(name) ORDER BY "
            "min(seq)", (vault.lower(),))
        return [r["name"] for r in rows]

    def all_secrets(self):
        rows = self.conn.execute(
            "SELECT vault, name, version, content_type, created FROM vault_secrets ORDER BY seq")
        return [dict(r) for r in rows]

    # request log ----------------------------------------------------------------------
    def log_request(self, method, path, route, operation, kind, status, write):
        with self.transaction():
            self.conn.execute(
                "INSERT INTO requests (ts, method, path, route, operation, kind, status, write)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), method, path, route, operation, kind, status, int(write)))

    def requests(self):
        return [dict(r) for r in self.conn.execute("SELECT * FROM requests ORDER BY seq")]

    def clear_requests(self):
        with self.transaction():
            self.conn.execute("DELETE FROM requests")

    # faults ---------------------------------------------------------------------------
    def add_fault(self, method, path_regex, status, retry_after, latency_ms, count):
        with self.transaction():
            self.conn.execute(
                "INSERT INTO faults (method, path_regex, status, retry_after, latency_ms,"
                " remaining) VALUES (?, ?, ?, ?, ?, ?)",
                (method.upper() if method else None, path_regex, status, retry_after,
                 latency_ms or 0, count))

    def take_fault(self, method, path, matcher):
        """Consume one use of the first fault matching this request, atomically."""
        with self.transaction():
            rows = self.conn.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY seq")
            for row in rows.fetchall():
                if row["method"] and row["method"] != method.upper():
                    continue
                if not matcher(row["path_regex"], path):
                    continue
                self.conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?",
                                  (row["seq"],))
                return dict(row)
        return None

    def clear_faults(self):
        with self.transaction():
            self.conn.execute("DELETE FROM faults")

    def faults(self):
        return [dict(r) for r in self.conn.execute("SELECT * FROM faults ORDER BY seq")]


def _entity(row):
    return {
        "id": row["id"],
        "type": row["type"],
        "body": json.loads(row["body"]),
        "private": json.loads(row["private"]),
        "etag": row["etag"],
    }


def state_dir_paths(state_dir):
    state_dir = os.path.abspath(state_dir)
    return {
        "dir": state_dir,
        "db": os.path.join(state_dir, "state.db"),
        "info": os.path.join(state_dir, "sandbox.json"),
    }
