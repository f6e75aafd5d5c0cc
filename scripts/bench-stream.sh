#!/usr/bin/env bash
# Measures the event streams (issue 9): with N idle subscribers connected, the time from
# a write to its event reaching every subscriber (p50/p99 over every subscriber and
# write), and the server's resident memory per idle subscriber.
#
#   scripts/bench-stream.sh                      # 1,000 and 10,000 subscribers
#   BENCH_SUBSCRIBERS="1000" BENCH_WRITES=50 scripts/bench-stream.sh
#
# Starts a release `flagpole serve` on a temporary database (stream limit above the
# largest N, `ulimit -n` raised), creates a client token and the flag `bench_stream`,
# then for each N and each stream (native `/api/v1/environments/production/stream`,
# Unleash `/api/client/streaming`) runs the load tool
# (crates/flagpole-server/examples/stream_load.rs): N streams open, 2 s idle (RSS read
# from /proc), then BENCH_WRITES writes one at a time (each toggles the flag), each
# waiting until every stream has its event. The server restarts between runs so each
# RSS is measured on its own. Prints a markdown table. Load tool and server share the
# machine's cores; the numbers include the tool's own reading of N sockets.
set -euo pipefail

cd "$(dirname "$0")/.."

SUBSCRIBERS=${BENCH_SUBSCRIBERS:-"1000 10000"}
WRITES=${BENCH_WRITES:-30}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ADMIN=bench-stream-admin-token
CLIENT=default:production.bench-stream-client

BENCH_NAME=bench-stream
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

max=0
for n in $SUBSCRIBERS; do ((n > max)) && max=$n; done
ulimit -n "$(ulimit -Hn)" || true
(($(ulimit -n) > max + 1000)) || die "ulimit -n is $(ulimit -n): too few descriptors for $max streams (raise the hard limit)"

log "building flagpole and the load tool (release)"
cargo build --release -p flagpole --bin flagpole >&2
cargo build --release -p flagpole-server --example stream_load >&2
BIN=$TARGET_DIR/release/flagpole
LOAD=$TARGET_DIR/release/examples/stream_load

start_server() {
    local port db
    port=$(free_port)
    db=$WORK/flagpole-$RANDOM.db
    FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN FLAGPOLE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" \
        --database "$db" --stream-limit $((max + 100)) >"$WORK/flagpole.log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    ADDR=127.0.0.1:$port
    wait_http "http://$ADDR/health/ready" "$SERVER" flagpole
    curl -sf -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -d "{\"name\":\"bench\",\"kind\":\"client\",\"environment\":\"production\",\"secret\":\"$CLIENT\"}" \
        "http://$ADDR/api/v1/tokens" || die "creating the client token failed"
    curl -sf -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -d '{"key":"bench_stream","environments":{"production":{"enabled":false}}}' \
        "http://$ADDR/api/v1/flags" || die "creating the flag failed"
}

stop_server() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}

rows=()
for n in $SUBSCRIBERS; do
    for path in /api/v1/environments/production/stream /api/client/streaming; do
        start_server
        log "$n subscribers on $path"
        result=$("$LOAD" "$ADDR" "$path" "$CLIENT" "$ADMIN" "$n" "$WRITES" "$SERVER")
        echo "$result" >&2
        rows+=("$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
kind = "native" if "environments" in r["path"] else "Unleash"
cells = [format(r["streams"], ","), kind, r["writes"], r["missed"], "%.1f" % r["p50_ms"], "%.1f" % r["p99_ms"],
         "%.1f" % r["max_ms"], "%.1f" % (r["rss_before_kib"] / 1024), "%.1f" % (r["rss_idle_kib"] / 1024),
         "%.1f" % r["rss_per_stream_kib"]]
print("| " + " | ".join(str(c) for c in cells) + " |")
' "$result")")
        stop_server
        sleep 1
    done
done

echo
echo "| idle subscribers | stream | writes | events missed | p50 ms | p99 ms | max ms | RSS before MiB | RSS idle MiB | KiB per subscriber |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
