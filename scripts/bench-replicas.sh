#!/usr/bin/env bash
# Propagation between replicas on PostgreSQL: two release `flagpole serve` processes on a
# fresh database (created on the server named by BENCH_POSTGRES_URL, default the local
# one, and dropped afterwards); BENCH_WRITES writes on replica A, each timed until
# replica B serves it. BENCH_FLAGS imports that many flags first. The driver is
# scripts/bench_replicas.py (standard library only).
#
#   scripts/bench-replicas.sh
#   BENCH_WRITES=200 BENCH_FLAGS=10000 scripts/bench-replicas.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
DB="flagpole_bench_$$"
echo "==> building flagpole (release)" >&2
cargo build --release -p flagpole --bin flagpole >&2
psql "$SERVER/postgres" -qc "CREATE DATABASE $DB" >&2
trap 'psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >&2' EXIT
python3 scripts/bench_replicas.py --binary "$TARGET_DIR/release/flagpole" \
    --database "$SERVER/$DB" --writes "${BENCH_WRITES:-500}" --flags "${BENCH_FLAGS:-0}"
