#!/usr/bin/env python3
"""What a project's token costs, against what the server holds (issue: projects).

For each layout (PROJECTSxFLAGS, e.g. 1000x10 and 10x1000: 10,000 flags either way):
generates the flags (scripts/bench_writes.py's shape) spread over the projects, imports
them offline into a fresh SQLite database (the import creates the projects), starts a
release `flagpole serve`, and measures side by side in one run:

  - `/api/client/features` for a client token of one project and for one of every
    project: bytes, the first (built) request and a cached one;
  - the same after a write in another project (the project token's payload, and its
    ETag, stay as they were) and after a write in its own;
  - the p50 / p99 of WRITES native switches spread over every project;
  - RSS after start and at the end.

Prints one markdown table row per layout. Standard library only.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import time

from bench_common import call, percentile, rss_mb, serve_imported
from bench_writes import flag

ADMIN = "bench-admin-token"


def features(conn, token, etag=None):
    headers = {"authorization": f"Bearer {token}"}
    if etag:
        headers["if-none-match"] = etag
    start = time.perf_counter()
    conn.request("GET", "/api/client/features", headers=headers)
    reply = conn.getresponse()
    body = reply.read()
    return reply.status, len(body), (time.perf_counter() - start) * 1000, reply.getheader("etag")


def run(binary, projects, per_project, writes, work):
    db = os.path.join(work, f"p{projects}x{per_project}.db")
    doc = os.path.join(work, f"p{projects}x{per_project}.json")
    flags = {}
    for p in range(projects):
        for i in range(per_project):
            f = flag(p * per_project + i)
            f["project"] = f"p{p:04d}"
            flags[f"p{p:04d}-flag-{i:05d}"] = f
    with open(doc, "w") as out:
        json.dump({"version": 1, "flags": flags}, out)
    with serve_imported(binary, doc, db, ADMIN) as (proc, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        tokens = {}
        for name, scope in [("one", ["p0000"]), ("all", ["*"])]:
            status, body, _ = call(conn, "POST", "/api/v1/tokens", ADMIN,
                                   {"name": name, "kind": "client", "environment": "production",
                                    "projects": scope})
            assert status == 201, (status, body)
            tokens[name] = json.loads(body)["secret"]
        time.sleep(0.3)
        rss_start = rss_mb(proc.pid)
        row = {"layout": f"{projects:,} × {per_project:,}"}
        _, size, first, etag = features(conn, tokens["one"])
        _, _, cached, _ = features(conn, tokens["one"])
        row["one"] = (size, first, cached, etag)
        # A write elsewhere leaves project p0000's payload (and ETag) alone; one in it
        # rebuilds it from the one before.
        other = f"p{projects - 1:04d}-flag-00000"
        call(conn, "POST", f"/api/v1/flags/{other}/environments/production/disable", ADMIN)
        status, _, after_other, _ = features(conn, tokens["one"], etag)
        row["after_other"] = (status, after_other)
        call(conn, "POST", "/api/v1/flags/p0000-flag-00000/environments/production/disable", ADMIN)
        _, _, after_own, _ = features(conn, tokens["one"])
        row["after_own"] = after_own
        rng = random.Random(projects)
        times = []
        for n in range(writes):
            key = f"p{rng.randrange(projects):04d}-flag-{rng.randrange(per_project):05d}"
            action = "enable" if n % 2 else "disable"
            status, body, took = call(conn, "POST",
                                      f"/api/v1/flags/{key}/environments/production/{action}", ADMIN)
            assert status == 200, (status, body)
            times.append(took * 1000)
            # Every tenth write, the project's SDK polls (as one would).
            if n % 10 == 0:
                features(conn, tokens["one"])
        row["writes"] = (statistics.median(times), percentile(times, 0.99))
        rss_projects = rss_mb(proc.pid)
        # Then an SDK with a token of every project: the whole environment's payload.
        _, size, first, _ = features(conn, tokens["all"])
        _, _, cached, _ = features(conn, tokens["all"])
        row["all"] = (size, first, cached)
        row["rss"] = (rss_start, rss_projects, rss_mb(proc.pid))
        return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/flagpole")
    parser.add_argument("--layouts", default="1000x10,10x1000")
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    print("| projects × flags | one project's token: bytes / first / cached | every project's token: "
          "bytes / first / cached | after a write elsewhere | after a write in its project "
          f"| {args.writes} writes p50 / p99 | RSS: start / project tokens served / every project's payload too |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as work:
        for layout in args.layouts.split(","):
            projects, per_project = (int(n) for n in layout.split("x"))
            r = run(args.binary, projects, per_project, args.writes, work)
            one, every = r["one"], r["all"]
            print(f"| {r['layout']} | {one[0] / 1e3:,.1f} kB / {one[1]:.1f} / {one[2]:.2f} ms "
                  f"| {every[0] / 1e6:,.2f} MB / {every[1]:.0f} / {every[2]:.1f} ms "
                  f"| {r['after_other'][0]} in {r['after_other'][1]:.2f} ms | {r['after_own']:.1f} ms "
                  f"| {r['writes'][0]:.2f} / {r['writes'][1]:.2f} ms "
                  f"| {r['rss'][0]:.0f} / {r['rss'][1]:.0f} / {r['rss'][2]:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
