#!/usr/bin/env bash
# The web UI's page budget: with 1,000 flags (each configured in both environments, some
# with rules), how long the server takes to answer the flag list and a flag page, and how
# many bytes cross the wire (gzip, as browsers ask). Server time is curl's time from the
# request sent to the first byte back, on loopback; the median of RUNS requests.
#
#     scripts/bench-ui.sh [RUNS]        (default 30; builds the release binary first)
#
# Budget (issue 8): flag list <= 100 ms and <= 300 KB transferred; a flag page <= 20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench-ui
source scripts/bench-common.sh
RUNS=${1:-30}
FLAGS=1000
PASSWORD=bench-admin-password

# FLAGPOLE_BIN: measure this binary instead of building the release one.
if [[ -n ${FLAGPOLE_BIN:-} ]]; then
    BIN=$FLAGPOLE_BIN
else
    cargo build --release -q -p flagpole
    BIN=${CARGO_TARGET_DIR:-target}/release/flagpole
fi
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD=$PASSWORD "$BIN" serve --listen "127.0.0.1:$PORT" \
    --database "$WORK/flagpole.db" >"$WORK/flagpole.log" 2>&1 &
PIDS+=($!)
wait_http "$BASE/health/live" "${PIDS[0]}" flagpole

log "importing $FLAGS flags"
python3 - "$FLAGS" >"$WORK/flags.json" <<'PY'
import json, sys
n = int(sys.argv[1])
flags = {}
for i in range(n):
    rules = []
    if i % 3 == 0:
        rules = [{"name": "staff", "conditions": [
            {"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]},
            {"attribute": "plan", "operator": "IN", "values": ["pro", "enterprise"]}], "rollout": 30}]
    flags[f"flag-{i:04}"] = {
        "description": f"Benchmark flag number {i}", "tags": ["bench", f"team-{i % 10}"],
        "environments": {"development": {"enabled": True, "rules": rules},
                         "production": {"enabled": i % 2 == 0}}}
print(json.dumps({"flags": flags}))
PY
curl -sf -c "$WORK/cookies" -H 'content-type: application/json' \
    -d "{\"name\":\"admin\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/auth/login" >/dev/null
curl -sf -b "$WORK/cookies" -H 'content-type: application/json' -H "Origin: $BASE" \
    --data-binary @"$WORK/flags.json" "$BASE/api/v1/import?format=native" >/dev/null

measure() {
    local name=$1 path=$2 budget_ms=$3
    local times=() bytes raw
    for ((i = 0; i < RUNS; i++)); do
        read -r t b < <(curl -s -o /dev/null -b "$WORK/cookies" -H 'Accept-Encoding: gzip' \
            -w '%{time_starttransfer} %{time_pretransfer} %{size_download}\n' "$BASE$path" |
            awk '{printf "%.3f %d\n", ($1 - $2) * 1000, $3}')
        times+=("$t")
        bytes=$b
    done
    raw=$(curl -s -b "$WORK/cookies" "$BASE$path" | wc -c)
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    printf '%-10s %-22s median %7.2f ms (budget %d ms)  %7d bytes gzip  %8d bytes plain\n' \
        "$name" "$path" "$median" "$budget_ms" "$bytes" "$raw"
}

echo "$FLAGS flags, $RUNS requests each, $BIN, loopback:"
measure "flag list" "/" 100
measure "flag page" "/flag/flag-0501" 20
measure "flag page" "/flag/flag-0300?env=development" 20
