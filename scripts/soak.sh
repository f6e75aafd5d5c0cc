#!/usr/bin/env bash
# Soak: a release `flagpole serve` under reads at 80% of its measured peak, with writes
# mixed in, for DURATION seconds; reports errors, RSS at the start and end, and p99 per
# window. Fails on any error or on RSS growing more than 10%.
#
#   scripts/soak.sh 600            # ten minutes
#   SOAK_WINDOW=30 scripts/soak.sh 120
#
# Needs oha (installed with `cargo install oha --locked` if missing). All traffic goes to
# 127.0.0.1; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-600}
WINDOW=${SOAK_WINDOW:-60}
WRITES_PER_SECOND=${SOAK_WRITES_PER_SECOND:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BENCH_NAME=soak
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

if ! command -v oha >/dev/null; then
    PATH="$HOME/.cargo/bin:$PATH"
    command -v oha >/dev/null || cargo install oha --locked >&2
fi
log "building flagpole (release)"
cargo build --release -p flagpole --bin flagpole >&2

ADMIN=soak-admin-token
CLIENT=soak-client-token
port=$(free_port)
BASE="http://127.0.0.1:$port"
FLAGPOLE_LOG=warn FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN "$TARGET_DIR/release/flagpole" serve \
    --listen "127.0.0.1:$port" --database "$WORK/soak.db" >"$WORK/flagpole.log" 2>&1 &
SERVER=$!
PIDS+=($SERVER)
wait_http "$BASE/health/ready" "$SERVER" flagpole
curl -fsS -X POST "$BASE/api/v1/tokens" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
    -d "{\"name\": \"soak\", \"kind\": \"client\", \"environment\": \"production\", \"secret\": \"$CLIENT\"}" >/dev/null
curl -fsS -X POST "$BASE/api/v1/import?format=native" -H "authorization: Bearer $ADMIN" \
    -H 'content-type: application/yaml' --data-binary @examples/flags.yaml >/dev/null
URL="$BASE/api/v1/environments/production/evaluate/checkout_button"
BODY='{"userId":"123"}'
load() { # load SECONDS [QPS] -> oha JSON
    local args=(--no-tui -c 32 -m POST -d "$BODY" -T application/json -H "authorization: Bearer $CLIENT" -z "${1}s" --output-format json)
    [[ -n ${2:-} ]] && args+=(-q "$2")
    oha "${args[@]}" "$URL"
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }

log "measuring the peak (10 s)"
peak=$(load 10 | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["summary"]["requestsPerSec"]))')
rate=$((peak * 8 / 10))
log "peak $peak requests/s; soaking at $rate requests/s with $WRITES_PER_SECOND writes/s for $DURATION s"

# The writes change a fixed set of flags (created now), so that the data does not grow.
for k in 0 1 2 3 4; do
    curl -fsS -X POST -H "authorization: Bearer $ADMIN" "$BASE/flags/soak_$k?enabled=true" >/dev/null
done
pause=$(python3 -c "print(1 / $WRITES_PER_SECOND)")
writes_ok=0 writes_failed=0
(
    i=0 ok=0 failed=0
    end=$((SECONDS + DURATION))
    while ((SECONDS < end)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $ADMIN" \
            "$BASE/flags/soak_$((i % 5))?enabled=$((i % 2 == 0))&rollout_percentage=$((i % 101))" || echo 000)
        [[ $code == 200 ]] && ok=$((ok + 1)) || failed=$((failed + 1))
        i=$((i + 1))
        sleep "$pause"
    done
    echo "$ok $failed" >"$WORK/writes"
) &
WRITER=$!
PIDS+=($WRITER)

rss_start=$(rss)
windows=$(( (DURATION + WINDOW - 1) / WINDOW ))
: >"$WORK/windows"
for ((w = 0; w < windows; w++)); do
    load "$WINDOW" "$rate" >"$WORK/window-$w.json"
    echo "$w $(rss)" >>"$WORK/windows"
done
wait "$WRITER" || true
read -r writes_ok writes_failed <"$WORK/writes"
rss_end=$(rss)

python3 - "$WORK" "$windows" "$rss_start" "$rss_end" "$writes_ok" "$writes_failed" "$peak" "$rate" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1]); windows = int(sys.argv[2])
rss_start, rss_end, wok, wfail, peak, rate = map(int, sys.argv[3:])
rss = dict(line.split() for line in (work / "windows").read_text().splitlines())
errors = 0
print("| window | requests/s | p99 | non-2xx or errors | RSS |")
print("| ---: | ---: | ---: | ---: | ---: |")
for w in range(windows):
    d = json.loads((work / f"window-{w}.json").read_text())
    codes = {str(k): v for k, v in (d.get("statusCodeDistribution") or {}).items()}
    bad = sum(v for k, v in codes.items() if not k.startswith("2"))
    bad += sum(v for k, v in (d.get("errorDistribution") or {}).items() if k != "aborted due to deadline")
    errors += bad
    p99 = (d["latencyPercentiles"]["p99"] or 0) * 1000
    print(f"| {w} | {d['summary']['requestsPerSec']:,.0f} | {p99:.2f} ms | {bad} | {int(rss[str(w)]) / 1024:.1f} MB |")
growth = (rss_end - rss_start) / rss_start * 100
print()
print(f"peak {peak:,} requests/s, soaked at {rate:,}; writes: {wok} acknowledged, {wfail} failed; "
      f"read errors: {errors}; RSS {rss_start / 1024:.1f} MB -> {rss_end / 1024:.1f} MB ({growth:+.1f}%)")
ok = errors == 0 and wfail == 0 and growth < 10
print("soak: " + ("passed" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
