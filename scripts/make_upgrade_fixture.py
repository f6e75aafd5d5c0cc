#!/usr/bin/env python3
"""Writes the upgrade fixture: a SQLite database as the build in hand leaves it, with a
record of every kind (environments, flags with history, an archived and a deleted flag,
segments, tokens of every kind, users, a login session, a cancelled schedule, an open
change request, SDK usage, the audit log), and `expected.json`: what the API answered
for it. `crates/flagpole/tests/upgrade.rs` opens a copy with the build under test and
must get the same answers, so a migration that loses or changes anything fails.

    cargo build --release -p flagpole
    python3 scripts/make_upgrade_fixture.py target/release/flagpole \
        crates/flagpole/tests/fixtures/upgrade

Write a new fixture only on purpose: the committed one is the database an earlier build
wrote, which is the point. Standard library only.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN = "fixture-admin-token"
CLIENT = "fixture-client-token"
ALICE_PASSWORD = "alice-password-123"
# The answers compared, and the fields that change with every use (not data).
PATHS = [
    "/api/v1/environments",
    "/api/v1/flags?archived=true",
    "/api/v1/flags/checkout/versions",
    "/api/v1/flags/gone/versions",
    "/api/v1/segments",
    "/api/v1/tokens",
    "/api/v1/users",
    "/api/v1/schedules",
    "/api/v1/change-requests?status=open",
    "/api/v1/audit?limit=1000",
    "/api/v1/usage?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
]
VOLATILE = ["last_used_at", "last_seen_at"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=ADMIN, cookie=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if cookie:
            headers["Cookie"] = cookie
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(req) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text else None), r.headers
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")


def populate(api):
    api.call("POST", "/api/v1/environments", {"name": "staging"})
    api.call("POST", "/api/v1/segments", {
        "name": "beta-testers",
        "description": "People who asked for early features",
        "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]}],
    })
    checkout = {
        "key": "checkout",
        "description": "The new checkout",
        "type": "string",
        "variants": [{"name": "old", "value": "v1"}, {"name": "new", "value": "v2"}],
        "tags": ["payments"],
        "environments": {
            "production": {
                "enabled": True,
                "rules": [{"segments": ["beta-testers"], "serve": {"variant": "new"}},
                          {"rollout": 25, "serve": {"variant": "new"}}],
                "default": {"variant": "old"},
            },
            "development": {"enabled": True, "default": {"variant": "new"}},
        },
    }
    api.call("POST", "/api/v1/flags", checkout)
    api.call("POST", "/api/v1/flags/checkout/environments/staging/enable")
    api.call("PUT", "/api/v1/environments/staging/approval", {"required": True})
    api.call("PUT", "/api/v1/flags/checkout/environments/development/rollout", {"rollout": 50})
    api.call("POST", "/api/v1/flags", {"key": "old-banner", "environments": {"production": {"enabled": True}}})
    api.call("POST", "/api/v1/flags/old-banner/archive")
    api.call("POST", "/api/v1/flags", {"key": "gone"})
    api.call("DELETE", "/api/v1/flags/gone")
    api.call("POST", "/flags/new_ui?enabled=true&rollout_percentage=30")
    api.call("POST", "/api/v1/tokens", {"name": "checkout-service", "kind": "client",
                                        "environment": "production", "secret": CLIENT})
    api.call("POST", "/api/v1/tokens", {"name": "web", "kind": "frontend", "environment": "production",
                                        "origins": ["https://shop.example.com"]})
    api.call("POST", "/api/v1/tokens", {"name": "ci", "kind": "admin", "role": "editor",
                                        "grants": ["production"]})
    api.call("POST", "/api/v1/users", {"name": "alice", "password": ALICE_PASSWORD, "role": "editor",
                                       "grants": ["production"]})
    api.call("POST", "/api/v1/users", {"name": "bob", "password": "bob-password-1234", "role": "viewer"})
    # Cancelled, so that it never falls due when the fixture is opened later.
    _, schedule, _ = api.call("POST", "/api/v1/flags/checkout/schedules", {
        "due_at": "2027-12-01T00:00:00Z", "environment": "development", "enabled": False})
    api.call("DELETE", f"/api/v1/schedules/{schedule['id']}")
    api.call("POST", "/api/v1/change-requests", {
        "key": "checkout", "environment": "staging", "enabled": False,
        "description": "Turn it off in staging"})
    api.call("POST", "/api/client/metrics", {
        "appName": "checkout-service", "instanceId": "i-1",
        "bucket": {"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z",
                   "toggles": {"checkout": {"yes": 7, "no": 3, "variants": {"new": 7}}}},
    }, token=CLIENT)
    api.call("POST", "/api/v1/auth/login", {"name": "alice", "password": ALICE_PASSWORD}, token=None)


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def main():
    binary, out = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp()
    db = os.path.join(work, "flagpole.db")
    port = free_port()
    env = dict(os.environ, FLAGPOLE_BOOTSTRAP_TOKEN=ADMIN, FLAGPOLE_LOG="warn")
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", db],
                              env=env, stdout=subprocess.DEVNULL)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        populate(api)
        time.sleep(1.5)  # usage is written in batches
        answers = {path: strip(api.call("GET", path)[1]) for path in PATHS}
        # What SDKs see: the seed API for twenty users of a 30% rollout.
        seed = {f"/flags/new_ui?user_id={u}": api.call("GET", f"/flags/new_ui?user_id={u}", token=CLIENT)[1]
                for u in range(20)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    # Sessions have no API that lists them, and expire: kept as the table holds them.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        sessions = [dict(zip(("id_hash", "user", "created_at", "expires_at"), row)) for row in
                    conn.execute("SELECT id_hash, user_name, created_at, expires_at FROM sessions")]
    os.makedirs(out, exist_ok=True)
    shutil.copy(db, os.path.join(out, "flagpole.sqlite"))
    assert [s["user"] for s in sessions] == ["alice"], sessions
    expected = {"admin_token": ADMIN, "client_token": CLIENT, "sessions": sessions,
                "volatile": VOLATILE, "answers": answers, "seed": seed}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(work)
    print(f"wrote {out}/flagpole.sqlite and expected.json ({len(answers)} answers)")


if __name__ == "__main__":
    main()
