"""Helpers shared by the Python benchmark drivers (scripts/bench_*.py): ports, requests on
one keep-alive connection, readiness, resident memory and percentiles."""

import http.client
import json
import socket
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
