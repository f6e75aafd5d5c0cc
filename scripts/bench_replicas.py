#!/usr/bin/env python3
"""Propagation between two replicas on one PostgreSQL (run by scripts/bench-replicas.sh).

Starts replica A and replica B (release `flagpole serve`) on a fresh database, then makes
WRITES seed POSTs on A, each flipping one flag on or off, and after each one asks B (seed
GET, one keep-alive connection, as fast as it answers) until B serves the new state.
Reports p50, p99 and max of: the write's own latency on A, and the time from sending the
write to A until B serves it. With `--flags N`, first imports N more flags so the
numbers show whether propagation depends on the size of the flag set.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import call, free_port, percentile as pct, wait_ready

ADMIN = "bench-admin-token"
CLIENT = "bench-client-token"


def start(binary, database, env, log):
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", database],
                            env=env, stdout=log, stderr=log)
    wait_ready(port, proc)
    return proc, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/flagpole")
    parser.add_argument("--database", required=True, help="a postgres:// URL of an empty database")
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--flags", type=int, default=0, help="flags to import first")
    args = parser.parse_args()
    env = dict(os.environ, FLAGPOLE_LOG="warn", FLAGPOLE_BOOTSTRAP_TOKEN=ADMIN,
               FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD="bench-password-1")
    with tempfile.TemporaryDirectory() as work:
        if args.flags:
            doc = os.path.join(work, "flags.json")
            flags = {f"f{i:06d}": {"environments": {"production": {"enabled": True, "rules": [
                {"conditions": [{"attribute": "country", "operator": "IN", "values": ["de", "us"]}],
                 "rollout": i % 101}]}}} for i in range(args.flags)}
            with open(doc, "w") as f:
                json.dump({"version": 1, "flags": flags}, f)
            subprocess.run([args.binary, "import", doc, "--database", args.database], check=True,
                           env=env, stdout=subprocess.DEVNULL)
        log_a = open(os.path.join(work, "a.log"), "w")
        log_b = open(os.path.join(work, "b.log"), "w")
        a, port_a = start(args.binary, args.database, env, log_a)
        b, port_b = start(args.binary, args.database, env, log_b)
        try:
            ca = http.client.HTTPConnection("127.0.0.1", port_a, timeout=30)
            cb = http.client.HTTPConnection("127.0.0.1", port_b, timeout=30)
            status, body, _ = call(ca, "POST", "/api/v1/tokens", ADMIN,
                                {"name": "bench", "kind": "client", "environment": "production",
                                 "secret": CLIENT})
            assert status == 201, (status, body)
            call(ca, "POST", "/flags/propagation?enabled=false&rollout_percentage=100", ADMIN)
            time.sleep(1.0)  # B hears of the token and the flag
            writes, propagation = [], []
            for n in range(args.writes):
                enabled = n % 2 == 0
                want = json.dumps({"flag": "propagation", "enabled": enabled}, separators=(",", ":"))
                sent = time.perf_counter()
                status, body, _ = call(ca, "POST", f"/flags/propagation?enabled={str(enabled).lower()}"
                                    "&rollout_percentage=100", ADMIN)
                acked = time.perf_counter()
                assert status == 200, (status, body)
                while True:
                    status, body, _ = call(cb, "GET", "/flags/propagation?user_id=u1", CLIENT)
                    if status == 200 and json.loads(body)["enabled"] == enabled:
                        break
                    if time.perf_counter() - sent > 10:
                        sys.exit(f"B did not serve write {n} within 10 s: {body!r} (want {want})")
                served = time.perf_counter()
                writes.append((acked - sent) * 1000)
                propagation.append((served - sent) * 1000)
            print(f"| flags | writes | write on A p50 / p99 | A sent → B serves p50 | p99 | max |")
            print("| ---: | ---: | ---: | ---: | ---: | ---: |")
            print(f"| {args.flags + 1:,} | {args.writes} | {statistics.median(writes):.2f} / {pct(writes, 0.99):.2f} ms "
                  f"| {statistics.median(propagation):.2f} ms | {pct(propagation, 0.99):.2f} ms "
                  f"| {max(propagation):.1f} ms |")
        finally:
            for p in (a, b):
                p.terminate()
            for p in (a, b):
                p.wait(timeout=30)


if __name__ == "__main__":
    main()
