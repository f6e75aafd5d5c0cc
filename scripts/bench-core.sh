#!/usr/bin/env bash
# Runs flagpole-core's evaluation benchmark (Flagpole against Unleash's yggdrasil on
# identical flags) and prints the comparison table from criterion's estimates.
#
#   scripts/bench-core.sh              # run everything (about two minutes), then print
#   scripts/bench-core.sh eval/        # only the cases matching a criterion filter
#   BENCH_SKIP_RUN=1 scripts/bench-core.sh   # print the table from the last run
#
# Extra arguments go to criterion. Times are criterion's median per iteration; "per eval"
# divides by the number of contexts (eval cases) or flags (load cases).
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ -z "${BENCH_SKIP_RUN:-}" ]]; then
    cargo bench -p flagpole-core --bench evaluate -- \
        --warm-up-time 1 --measurement-time 3 "$@" >&2
fi

target_dir=${CARGO_TARGET_DIR:-target}

python3 - "$target_dir/criterion" <<'PY'
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
ENGINES = ("flagpole", "yggdrasil")

# group -> engine -> (median ns per iteration, elements per iteration)
results = {}
for bench in root.glob("*/*/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    group, engine = meta["group_id"], meta["function_id"]
    if engine not in ENGINES:
        continue
    estimates = json.loads((bench.parent / "estimates.json").read_text())
    elements = (meta.get("throughput") or {}).get("Elements", 1)
    results.setdefault(group, {})[engine] = (estimates["median"]["point_estimate"], elements)


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.1f} ns"


# The order of the cases in benches/evaluate.rs; anything else after them, by name.
ORDER = [
    "eval/no_strategy",
    "eval/one_constraint",
    "eval/two_constraints",
    "eval/variants",
    "eval/ten_rules",
    "load_10k",
    "load_10k_json",
]


def order(group):
    return (ORDER.index(group) if group in ORDER else len(ORDER), group)


rows = [
    ("case", "Flagpole", "yggdrasil", "Flagpole/eval", "yggdrasil/eval", "ratio (ours/theirs)")
]
for group in sorted(results, key=order):
    pair = results[group]
    if len(pair) != 2:
        continue
    (ours, n), (theirs, _) = pair["flagpole"], pair["yggdrasil"]
    rows.append(
        (group, fmt(ours), fmt(theirs), fmt(ours / n), fmt(theirs / n), f"{ours / theirs:.2f}")
    )

if len(rows) == 1:
    sys.exit(f"no flagpole/yggdrasil results under {root}")
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for i, row in enumerate(rows):
    print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
PY
