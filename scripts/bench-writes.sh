#!/usr/bin/env bash
# Write latency and memory by flag-set size: 100, 1,000, 10,000 and 100,000 flags with
# three rules and a split in two environments, on SQLite, with a release build. For each
# size it prints write p50/p99/max over BENCH_WRITES seed POSTs (one at a time), RSS after
# start and after the writes, and the size and time of `/api/client/features`. The
# driver is scripts/bench_writes.py (standard library only).
#
#   scripts/bench-writes.sh
#   BENCH_SIZES=100,10000 BENCH_WRITES=200 scripts/bench-writes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
echo "==> building flagpole (release)" >&2
cargo build --release -p flagpole --bin flagpole >&2
exec python3 scripts/bench_writes.py --binary "$TARGET_DIR/release/flagpole" \
    --sizes "${BENCH_SIZES:-100,1000,10000,100000}" --writes "${BENCH_WRITES:-1000}"
