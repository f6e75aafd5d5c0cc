"""Helpers shared by the Python benchmark drivers (scripts/bench_*.py): ports, requests on
one keep-alive connection, readiness, resident memory and percentiles."""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(conn, method, path, token, body=None):
    """One request; returns (status, body bytes, seconds taken)."""
    headers = {"authorization": f"Bearer {token}"}
    if body is not None:
        headers["content-type"] = "application/json"
        body = json.dumps(body)
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    return reply.status, data, time.perf_counter() - start


def wait_ready(port, proc):
    """Waits (bounded) until the server on `port` is ready; exits if `proc` died."""
    for _ in range(1200):
        if proc.poll() is not None:
            sys.exit(f"flagpole exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("flagpole did not become ready")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


@contextlib.contextmanager
def serve_imported(binary, doc, db, admin):
    """Imports the document `doc` offline into a fresh database `db`, starts a `flagpole
    serve` on it with `admin` as its admin token, waits until it is ready, and yields
    (process, port); stops the server on leaving."""
    env = dict(os.environ, FLAGPOLE_LOG="warn", FLAGPOLE_BOOTSTRAP_TOKEN=admin,
               FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD="bench-password-1")
    subprocess.run([binary, "import", doc, "--database", db], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", db],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
