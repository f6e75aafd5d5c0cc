#!/usr/bin/env bash
# Relay mode beside the server, in one run: a release `flagpole serve` with 10,000
# generated flags (scripts/bench_writes.py's shape: three rules and a split, in two
# environments) and a `flagpole relay` following it. Reports
#
#   - the resident memory (RSS) of the server and of the relay once the relay caught up;
#   - the time the relay took from start to serving the server's version;
#   - requests/s and p99 of the same GET (the seed API with a client token, and the
#     native evaluation POST) on the server and on the relay, one after the other.
#
#   scripts/bench-relay.sh
#   BENCH_FLAGS=1000 BENCH_DURATION=5 BENCH_CONCURRENCY=20 scripts/bench-relay.sh
#
# Needs oha (`cargo install oha --locked`). Load generator and processes share the
# machine's cores: compare numbers within one run.
set -euo pipefail

cd "$(dirname "$0")/.."

FLAGS=${BENCH_FLAGS:-10000}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONCURRENCY=${BENCH_CONCURRENCY:-50}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ADMIN=bench-admin-token
CLIENT=bench-client-token

BENCH_NAME=bench-relay
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

command -v oha >/dev/null || PATH="$HOME/.cargo/bin:$PATH"
command -v oha >/dev/null || die "oha is needed: cargo install oha --locked"

log "building release flagpole"
cargo build --release -q -p flagpole >&2
BIN=$TARGET_DIR/release/flagpole

log "generating and importing $FLAGS flags"
python3 - "$WORK/flags.json" "$FLAGS" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from bench_writes import flag
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    json.dump({"version": 1, "flags": {f"flag-{i:06d}": flag(i) for i in range(n)}}, f)
PY
export FLAGPOLE_LOG=warn FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD=bench-password-1
"$BIN" import "$WORK/flags.json" --database "$WORK/f.db" >/dev/null

SERVER_PORT=$(free_port)
RELAY_PORT=$(free_port)
"$BIN" serve --listen "127.0.0.1:$SERVER_PORT" --database "$WORK/f.db" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_http "http://127.0.0.1:$SERVER_PORT/health/live" "$SERVER_PID" server
curl -sf -o /dev/null -X POST "http://127.0.0.1:$SERVER_PORT/api/v1/tokens" \
    -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
    -d "{\"name\":\"bench\",\"kind\":\"client\",\"environment\":\"production\",\"secret\":\"$CLIENT\"}"
VERSION=$(curl -s "http://127.0.0.1:$SERVER_PORT/health/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

START=$(date +%s.%N)
"$BIN" relay --upstream "http://127.0.0.1:$SERVER_PORT" --token "$ADMIN" \
    --listen "127.0.0.1:$RELAY_PORT" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_http "http://127.0.0.1:$RELAY_PORT/health/live" "$RELAY_PID" relay
for ((i = 0; i < 600; i++)); do
    v=$(curl -s "http://127.0.0.1:$RELAY_PORT/health/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
    [[ $v == "$VERSION" ]] && break
    sleep 0.05
done
[[ $v == "$VERSION" ]] || die "the relay did not catch up (at $v, server at $VERSION)"
CATCH_UP=$(python3 -c "import time; print(f'{time.time() - $START:.2f}')")
# One request with the client token, so the relay has looked it up.
curl -sf -o /dev/null "http://127.0.0.1:$RELAY_PORT/flags/flag-000001?user_id=1" -H "authorization: Bearer $CLIENT"
sleep 1

rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
SERVER_RSS=$(rss "$SERVER_PID")
RELAY_RSS=$(rss "$RELAY_PID")

# load NAME URL [METHOD BODY]: prints "rps p99_ms".
load() {
    local name=$1 url=$2 method=${3:-GET} body=${4:-}
    local args=(-c "$CONCURRENCY" --no-tui -H "authorization: Bearer $CLIENT" -m "$method")
    [[ -n $body ]] && args+=(-d "$body" -T application/json)
    oha "${args[@]}" -z "${WARMUP}s" "$url" >/dev/null
    oha "${args[@]}" -z "${DURATION}s" --output-format json "$url" >"$WORK/$name.json"
    python3 - "$WORK/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution", {})
assert set(codes) <= {"200"}, codes
print(f'{d["summary"]["requestsPerSec"]:.0f} {d["latencyPercentiles"]["p99"] * 1000:.2f}')
PY
}

GET_PATH="/flags/flag-000042?user_id=123"
EVAL_PATH="/api/v1/environments/production/evaluate/flag-000042"
EVAL_BODY='{"userId":"123","properties":{"country":"de","plan":"enterprise"}}'
log "load: GET $GET_PATH, server then relay"
read -r S_GET_RPS S_GET_P99 < <(load server-get "http://127.0.0.1:$SERVER_PORT$GET_PATH")
read -r R_GET_RPS R_GET_P99 < <(load relay-get "http://127.0.0.1:$RELAY_PORT$GET_PATH")
log "load: POST $EVAL_PATH, server then relay"
read -r S_EVAL_RPS S_EVAL_P99 < <(load server-eval "http://127.0.0.1:$SERVER_PORT$EVAL_PATH" POST "$EVAL_BODY")
read -r R_EVAL_RPS R_EVAL_P99 < <(load relay-eval "http://127.0.0.1:$RELAY_PORT$EVAL_PATH" POST "$EVAL_BODY")
RELAY_RSS_AFTER=$(rss "$RELAY_PID")

cat <<EOF2

$FLAGS flags, $(nproc) cores, oha -c $CONCURRENCY for ${DURATION}s each

| | server | relay |
| --- | ---: | ---: |
| RSS after start (MB) | $SERVER_RSS | $RELAY_RSS |
| RSS after the load (MB) | $(rss "$SERVER_PID") | $RELAY_RSS_AFTER |
| GET $GET_PATH (req/s) | $S_GET_RPS | $R_GET_RPS |
| GET p99 (ms) | $S_GET_P99 | $R_GET_P99 |
| POST native evaluate (req/s) | $S_EVAL_RPS | $R_EVAL_RPS |
| POST p99 (ms) | $S_EVAL_P99 | $R_EVAL_P99 |

The relay took ${CATCH_UP}s from start to serving version $VERSION.
EOF2
