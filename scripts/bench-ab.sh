#!/usr/bin/env bash
# Compares Flagpole builds with each other and with the floor, interleaved: the seed GET
# (`GET /flags/new_ui?user_id=123`, client token) on each build, then on the floor
# (crates/flagpole-server/examples/floor.rs), round after round, so that every build
# meets the machine's drifting load as often as the others. Prints each round's
# requests/s and share of the floor, then the mean share per build.
#
#   scripts/bench-ab.sh ROUNDS SECONDS BINARY [BINARY...]
#   scripts/bench-ab.sh 5 5 target/release/flagpole /tmp/flagpole-before
#
# Use it to decide whether a change helps: on a shared machine one run of
# scripts/bench-http.sh per build compares moments, not builds. Needs wrk (Debian's
# `apt-get install wrk`) and a release build of the floor (`cargo build --release -p
# flagpole-server --example floor`).
set -euo pipefail

cd "$(dirname "$0")/.."

[[ $# -ge 3 ]] || { sed -n '2,14p' "$0" >&2; exit 2; }
ROUNDS=$1
SECONDS_PER_RUN=$2
shift 2
BINARIES=("$@")
FLOOR_BIN=${CARGO_TARGET_DIR:-target}/release/examples/floor

BENCH_NAME=bench-ab
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[[ -x $FLOOR_BIN ]] || die "no floor at $FLOOR_BIN: cargo build --release -p flagpole-server --example floor"

ADMIN=bench-admin-token
CLIENT=bench-client-token
PATH_AND_QUERY="/flags/new_ui?user_id=123"
echo "wrk.headers[\"Authorization\"] = \"Bearer $CLIENT\"" >"$WORK/auth.lua"

URLS=()
for i in "${!BINARIES[@]}"; do
    port=$(free_port)
    FLAGPOLE_LOG=warn FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN "${BINARIES[$i]}" serve \
        --listen "127.0.0.1:$port" --database "$WORK/build$i.db" >"$WORK/build$i.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/health/ready" "$!" "build$i"
    curl -fsS -X POST "http://127.0.0.1:$port/api/v1/tokens" -H "authorization: Bearer $ADMIN" \
        -H 'content-type: application/json' \
        -d "{\"name\": \"bench\", \"kind\": \"client\", \"environment\": \"production\", \"secret\": \"$CLIENT\"}" \
        >/dev/null || die "build $i: cannot create the client token"
    curl -fsS -X POST -H "authorization: Bearer $ADMIN" \
        "http://127.0.0.1:$port/flags/new_ui?enabled=true&rollout_percentage=25" >/dev/null \
        || die "build $i: cannot create new_ui"
    URLS+=("http://127.0.0.1:$port$PATH_AND_QUERY")
done
floor_port=$(free_port)
"$FLOOR_BIN" "127.0.0.1:$floor_port" >"$WORK/floor.log" 2>&1 &
PIDS+=($!)
FLOOR_URL="http://127.0.0.1:$floor_port$PATH_AND_QUERY"
wait_http "$FLOOR_URL" "$!" floor

rps() {
    wrk -t2 -c50 -d"${SECONDS_PER_RUN}s" -s "$WORK/auth.lua" "$1" | awk '/Requests\/sec/ {print $2}'
}
log "warming up"
for url in "${URLS[@]}" "$FLOOR_URL"; do
    wrk -t2 -c50 -d2s -s "$WORK/auth.lua" "$url" >/dev/null
done
for round in $(seq "$ROUNDS"); do
    line=()
    for url in "${URLS[@]}"; do
        line+=("$(rps "$url")")
    done
    floor=$(rps "$FLOOR_URL")
    echo "$round ${line[*]} $floor" >>"$WORK/rounds"
done
python3 - "$WORK/rounds" "${BINARIES[@]}" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
names = sys.argv[2:]
shares = [[] for _ in names]
for row in rows:
    floor = row[-1]
    cells = []
    for i, value in enumerate(row[1:-1]):
        shares[i].append(value / floor)
        cells.append(f"{names[i]} {value:,.0f} ({100 * value / floor:.1f}%)")
    print(f"round {int(row[0])}: " + "  ".join(cells) + f"  floor {floor:,.0f}")
for name, s in zip(names, shares):
    print(f"{name}: mean {100 * sum(s) / len(s):.1f}% of the floor over {len(s)} rounds")
PY
