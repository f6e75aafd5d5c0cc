#!/usr/bin/env python3
"""Write latency and memory by flag-set size (run by scripts/bench-writes.sh).

For each size: generates that many flags of the shape issue 9 measured (three rules and
a split, in two environments), imports them offline into a fresh SQLite database, starts
a release `flagpole serve` on it, and measures

  - RSS after start, and after the writes;
  - the latency of WRITES writes, one at a time on one keep-alive connection, half of
    them seed POSTs (`POST /flags/{name}?enabled=…&rollout_percentage=…`) to one of the 50
    plain flags among them (the seed API cannot change flags with rules), half native switches
    (`POST /api/v1/flags/{key}/environments/production/enable|disable`) of a random
    generated flag: p50, p99 and max of each;
  - `/api/client/features`: size and time of the first request after the last write
    (built lazily per version) and of a request answered from the cache, and RSS once
    that payload is cached.

Prints one markdown table row per size. Standard library only.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import time

from bench_common import call as request, percentile, rss_mb, serve_imported

ADMIN = "bench-admin-token"
CLIENT = "bench-client-token"


def flag(i):
    rule = lambda n, shift: {  # noqa: E731
        "name": f"rule {n}",
        "conditions": [
            {"attribute": "country", "operator": "IN", "values": ["de", "fr", "us", "jp"]},
            {"attribute": "plan", "operator": "STR_STARTS_WITH", "values": ["ent"]},
        ],
        "rollout": (i * 7 + n * 13 + shift) % 101,
        "serve": {"split": [{"variant": "control", "weight": 50}, {"variant": "treatment", "weight": 50}]},
    }
    # The two environments differ (their rollouts), as they do once a flag is rolling out:
    # nothing is shared between their compiled forms.
    env = lambda shift: {  # noqa: E731
        "enabled": True,
        "rules": [rule(0, shift), rule(1, shift), rule(2, shift)],
        "default": {"variant": "control"},
    }
    return {
        "type": "string",
        "description": f"generated flag {i}",
        "variants": [{"name": "control", "value": "c"}, {"name": "treatment", "value": "t"}],
        "environments": {"development": env(0), "production": env(37)},
    }


def run(binary, size, writes, work):
    db = os.path.join(work, f"flags-{size}.db")
    doc = os.path.join(work, f"flags-{size}.json")
    with open(doc, "w") as f:
        # `size` flags in all: 50 plain ones (the seed API's writes go to them) and the
        # generated shape.
        flags = {f"plain-{i}": {"environments": {"production": {"enabled": False}}} for i in range(50)}
        flags.update({f"flag-{i:06d}": flag(i) for i in range(max(size - 50, 1))})
        json.dump({"version": 1, "flags": flags}, f)
    with serve_imported(binary, doc, db, ADMIN) as (proc, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        status, _, _ = request(conn, "POST", "/api/v1/tokens", ADMIN,
                               {"name": "bench", "kind": "client", "environment": "production", "secret": CLIENT})
        assert status == 201, status
        time.sleep(0.5)
        rss_start = rss_mb(proc.pid)
        rng = random.Random(size)
        seed, native = [], []
        for n in range(writes):
            if n % 2 == 0:
                path = f"/flags/plain-{rng.randrange(50)}?enabled=true&rollout_percentage={n % 101}"
                status, body, took = request(conn, "POST", path, ADMIN)
                seed.append(took * 1000)
            else:
                action = "enable" if rng.randrange(2) else "disable"
                key = f"flag-{rng.randrange(max(size - 50, 1)):06d}"
                path = f"/api/v1/flags/{key}/environments/production/{action}"
                status, body, took = request(conn, "POST", path, ADMIN)
                native.append(took * 1000)
            assert status == 200, (status, body)
        rss_after = rss_mb(proc.pid)
        # The payload's first build, then the first request after one more write (built
        # from the one before), then a cached answer.
        _, _, t_cold = request(conn, "GET", "/api/client/features", CLIENT)
        status, body, _ = request(conn, "POST", "/api/v1/flags/plain-0/environments/production/enable", ADMIN)
        assert status == 200, (status, body)
        _, first, t_first = request(conn, "GET", "/api/client/features", CLIENT)
        _, _, t_cached = request(conn, "GET", "/api/client/features", CLIENT)
        rss_serving = rss_mb(proc.pid)
        return {
            "size": size,
            "seed": (statistics.median(seed), percentile(seed, 0.99), max(seed)),
            "native": (statistics.median(native), percentile(native, 0.99), max(native)),
            "rss_start": rss_start,
            "rss_after": rss_after,
            "rss_serving": rss_serving,
            "features_mb": len(first) / 1e6,
            "features_cold_ms": t_cold * 1000,
            "features_first_ms": t_first * 1000,
            "features_cached_ms": t_cached * 1000,
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/flagpole")
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        print(f"| flags | seed POST p50 / p99 / max | native switch p50 / p99 / max | RSS after start "
              f"| RSS after {args.writes} writes | /api/client/features | first build | first after a write | cached "
              f"| RSS with the payload cached |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for size in [int(s) for s in args.sizes.split(",")]:
            r = run(args.binary, size, args.writes, work)
            fmt = lambda t: f"{t[0]:.2f} / {t[1]:.2f} / {t[2]:.1f} ms"  # noqa: E731
            print(f"| {r['size']:,} | {fmt(r['seed'])} | {fmt(r['native'])} "
                  f"| {r['rss_start']:.0f} MB | {r['rss_after']:.0f} MB | {r['features_mb']:.1f} MB "
                  f"| {r['features_cold_ms']:.0f} ms | {r['features_first_ms']:.0f} ms "
                  f"| {r['features_cached_ms']:.1f} ms "
                  f"| {r['rss_serving']:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
