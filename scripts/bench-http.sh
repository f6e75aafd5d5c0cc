#!/usr/bin/env bash
# Measures Flagpole's HTTP throughput and p99 latency in one run against two references:
#
#   flagpole GET     GET  /flags/new_ui?user_id=123 (the seed API) with a client token
#   flagpole open    the same GET on a second Flagpole with `--seed-api open` (no token
#                    checked): the price of authentication is the ratio of the two
#   flagpole eval    POST /api/v1/environments/production/evaluate/new_ui {"userId":"123"}
#                    with a client token
#   floor            a bare axum handler returning fixed JSON
#                    (crates/flagpole-server/examples/floor.rs, same profile and axum)
#   seed (FastAPI)   the seed service from the tutorial, same GET, one uvicorn worker
#
# Each target gets a warm-up, then a fixed-duration run at a fixed concurrency, once in
# each of BENCH_ROUNDS rounds (3); a markdown table with the median requests/s and p99
# and the ratios of the medians to the floor and the seed is printed at the end (a shared
# machine's load drifts by tens of percent within a minute: one run per target compares
# moments more than servers). All traffic goes to 127.0.0.1. Everything it starts is stopped on exit.
#
#   scripts/bench-http.sh
#   BENCH_DURATION=5 BENCH_CONCURRENCY=20 BENCH_ROUNDS=5 scripts/bench-http.sh
#
# Installs what it lacks: the load generator oha (`cargo install oha --locked`, or
# Debian's wrk as a fallback) and FastAPI + uvicorn (pip). Load generator and servers
# share the machine's cores, so compare numbers within one run, not across machines.
set -euo pipefail

cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-50}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

BENCH_NAME=bench-http
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh  # (the script has cd-ed to the repository root)

# --- tools ----------------------------------------------------------------------------

LOADGEN=
ensure_load_generator() {
    if command -v oha >/dev/null; then
        LOADGEN=oha
    elif [[ -x "$HOME/.cargo/bin/oha" ]]; then
        PATH="$HOME/.cargo/bin:$PATH"
        LOADGEN=oha
    elif command -v wrk >/dev/null; then
        LOADGEN=wrk
    else
        log "installing oha (cargo install oha --locked)"
        if cargo install oha --locked >&2; then
            PATH="$HOME/.cargo/bin:$PATH"
            LOADGEN=oha
        else
            log "oha did not install; falling back to Debian's wrk"
            apt-get update -qq >&2 && apt-get install -y -qq wrk >&2 || die "cannot install wrk either"
            LOADGEN=wrk
        fi
    fi
    log "load generator: $LOADGEN"
}

ensure_python_deps() {
    if ! python3 -c 'import fastapi, uvicorn' 2>/dev/null; then
        log "installing fastapi and uvicorn (pip)"
        python3 -m pip install --quiet fastapi uvicorn >&2
    fi
}

# --- processes (WORK, PIDS, free_port, wait_http: scripts/bench-common.sh) ---------------

write_seed_service() {
    mkdir -p "$WORK/seed"
    # The tutorial's three files, verbatim.
    cat >"$WORK/seed/main.py" <<'PY'
from fastapi import FastAPI, HTTPException
from flag_store import FlagStore
from rollout import RolloutEngine

app = FastAPI()
store = FlagStore("flags.json")
engine = RolloutEngine(store)

@app.get("/flags/{flag_name}")
def get_flag(flag_name: str, user_id: str = None):
    flag_result = engine.evaluate_flag(flag_name, user_id)
    if flag_result is None:
        raise HTTPException(status_code=404, detail="Flag not found")
    return {"flag": flag_name, "enabled": flag_result}

@app.post("/flags/{flag_name}")
def set_flag(flag_name: str, enabled: bool, rollout_percentage: int = 100):
    store.set_flag(flag_name, {"enabled": enabled, "rollout": rollout_percentage})
    return {"status": "updated"}
PY
    cat >"$WORK/seed/flag_store.py" <<'PY'
import json
from threading import Lock

class FlagStore:
    def __init__(self, path):
        self.path = path
        self.lock = Lock()
        try:
            with open(self.path, "r") as f:
                self.flags = json.load(f)
        except FileNotFoundError:
            self.flags = {}

    def save(self):
        with open(self.path, "w") as f:
            json.dump(self.flags, f, indent=2)

    def get_flag(self, name):
        return self.flags.get(name)

    def set_flag(self, name, value: dict):
        with self.lock:
            self.flags[name] = value
            self.save()
PY
    cat >"$WORK/seed/rollout.py" <<'PY'
import hashlib

class RolloutEngine:
    def __init__(self, store):
        self.store = store

    def evaluate_flag(self, name, user_id=None):
        flag = self.store.get_flag(name)
        if not flag:
            return None
        if not flag.get("enabled", False):
            return False

        if not user_id:
            return flag["enabled"]

        bucket = int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % 100
        return bucket < flag.get("rollout", 100)
PY
}

# --- measuring ------------------------------------------------------------------------

# measure NAME METHOD URL [JSON_BODY] [AUTHORIZATION]: warm-up, then the timed run into
# $WORK/NAME.out.
measure() {
    local name=$1 method=$2 url=$3 body=${4:-} auth=${5:-}
    local limit=$((WARMUP + DURATION + 30))
    log "measuring $name: $method $url (${WARMUP}s warm-up, ${DURATION}s at concurrency $CONCURRENCY)"
    if [[ $LOADGEN == oha ]]; then
        local args=(--no-tui -c "$CONCURRENCY" -m "$method")
        [[ -n $body ]] && args+=(-d "$body" -T application/json)
        [[ -n $auth ]] && args+=(-H "authorization: $auth")
        timeout "$limit" oha "${args[@]}" -z "${WARMUP}s" "$url" >/dev/null
        timeout "$limit" oha "${args[@]}" -z "${DURATION}s" --output-format json "$url" >"$WORK/$name.out"
    else
        local args=(-t 2 -c "$CONCURRENCY" --latency)
        if [[ -n $body || -n $auth ]]; then
            {
                echo "wrk.method = \"$method\""
                [[ -n $body ]] && echo "wrk.body = '$body'" && echo 'wrk.headers["Content-Type"] = "application/json"'
                [[ -n $auth ]] && echo "wrk.headers[\"Authorization\"] = \"$auth\""
            } >"$WORK/$name.lua"
            args+=(-s "$WORK/$name.lua")
        fi
        timeout "$limit" wrk "${args[@]}" -d "${WARMUP}s" "$url" >/dev/null
        timeout "$limit" wrk "${args[@]}" -d "${DURATION}s" "$url" >"$WORK/$name.out"
    fi
}

# --- the run --------------------------------------------------------------------------

ensure_load_generator
ensure_python_deps
write_seed_service

log "building flagpole and the floor (release)"
cargo build --release -p flagpole --bin flagpole -p flagpole-server --example floor >&2

flagpole_port=$(free_port)
open_port=$(free_port)
floor_port=$(free_port)
seed_port=$(free_port)
FLAGPOLE="http://127.0.0.1:$flagpole_port"
OPEN="http://127.0.0.1:$open_port"
FLOOR="http://127.0.0.1:$floor_port"
SEED="http://127.0.0.1:$seed_port"

ADMIN_TOKEN=bench-admin-token
CLIENT_TOKEN=bench-client-token
FLAGPOLE_LOG=warn FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN_TOKEN "$TARGET_DIR/release/flagpole" serve \
    --listen "127.0.0.1:$flagpole_port" --database "$WORK/flagpole.db" \
    >"$WORK/flagpole.log" 2>&1 &
PIDS+=($!)
wait_http "$FLAGPOLE/health/ready" "$!" flagpole
curl -fsS -X POST "$FLAGPOLE/api/v1/tokens" -H "authorization: Bearer $ADMIN_TOKEN" \
    -H 'content-type: application/json' \
    -d "{\"name\": \"bench\", \"kind\": \"client\", \"environment\": \"production\", \"secret\": \"$CLIENT_TOKEN\"}" \
    >/dev/null || die "cannot create the client token"

FLAGPOLE_LOG=warn "$TARGET_DIR/release/flagpole" serve --seed-api open \
    --listen "127.0.0.1:$open_port" --database "$WORK/open.db" \
    >"$WORK/open.log" 2>&1 &
PIDS+=($!)
wait_http "$OPEN/health/ready" "$!" open

"$TARGET_DIR/release/examples/floor" "127.0.0.1:$floor_port" >"$WORK/floor.log" 2>&1 &
PIDS+=($!)
wait_http "$FLOOR/flags/new_ui" "$!" floor

(cd "$WORK/seed" && exec python3 -m uvicorn main:app --host 127.0.0.1 --port "$seed_port" \
    --workers 1 --log-level warning) >"$WORK/seed.log" 2>&1 &
PIDS+=($!)
wait_http "$SEED/flags/new_ui" "$!" seed

log "creating new_ui (rollout 25) on both Flagpoles and the seed"
for base in "$FLAGPOLE" "$OPEN" "$SEED"; do
    answer=$(curl -fsS -X POST -H "authorization: Bearer $ADMIN_TOKEN" \
        "$base/flags/new_ui?enabled=true&rollout_percentage=25")
    [[ $answer == '{"status":"updated"}' ]] || die "$base: POST /flags/new_ui answered $answer"
done
EVAL_BODY='{"userId":"123"}'
CLIENT_AUTH="Bearer $CLIENT_TOKEN"
log "flagpole GET:  $(curl -fsS -H "authorization: $CLIENT_AUTH" "$FLAGPOLE/flags/new_ui?user_id=123")"
log "flagpole open: $(curl -fsS "$OPEN/flags/new_ui?user_id=123")"
log "flagpole eval: $(curl -fsS -X POST -H 'content-type: application/json' -H "authorization: $CLIENT_AUTH" \
    -d "$EVAL_BODY" "$FLAGPOLE/api/v1/environments/production/evaluate/new_ui")"
log "floor GET:     $(curl -fsS "$FLOOR/flags/new_ui?user_id=123")"
log "seed GET:      $(curl -fsS "$SEED/flags/new_ui?user_id=123")"

# The same GET while another flag is written 20 times a second (reads must not wait on
# writes): a background writer, one seed POST every 50 ms on a schedule, counted.
start_writer() {
    python3 - "$FLAGPOLE" "$ADMIN_TOKEN" "$WORK/writes.count" <<'PY' &
import http.client, sys, time, urllib.parse
base, token, count_file = sys.argv[1:]
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
n, next_at = 0, time.monotonic()
while True:
    state = "true" if n % 2 == 0 else "false"
    conn.request("POST", f"/flags/written?enabled={state}&rollout_percentage={n % 101}",
                 headers={"authorization": f"Bearer {token}"})
    reply = conn.getresponse()
    reply.read()
    if reply.status == 200:
        n += 1
        with open(count_file, "w") as f:
            f.write(str(n))
    next_at += 0.05  # 20 a second, whatever each write took
    time.sleep(max(0.0, next_at - time.monotonic()))
PY
    WRITER=$!
    PIDS+=($WRITER)
}

# Every target once per round, the rounds one after another: the machine's load drifts,
# so each target is measured at several moments and its median is compared.
echo 0 >"$WORK/writes.made"
for round in $(seq "$ROUNDS"); do
    log "round $round of $ROUNDS"
    measure "flagpole_get.$round" GET "$FLAGPOLE/flags/new_ui?user_id=123" "" "$CLIENT_AUTH"
    echo 0 >"$WORK/writes.count"
    start_writer
    sleep 1
    writes_before=$(cat "$WORK/writes.count")
    measure "flagpole_get_writing.$round" GET "$FLAGPOLE/flags/new_ui?user_id=123" "" "$CLIENT_AUTH"
    writes_after=$(cat "$WORK/writes.count")
    kill "$WRITER" 2>/dev/null || true
    echo $(($(cat "$WORK/writes.made") + writes_after - writes_before)) >"$WORK/writes.made"
    measure "flagpole_open.$round" GET "$OPEN/flags/new_ui?user_id=123"
    measure "flagpole_eval.$round" POST "$FLAGPOLE/api/v1/environments/production/evaluate/new_ui" "$EVAL_BODY" "$CLIENT_AUTH"
    measure "floor.$round" GET "$FLOOR/flags/new_ui?user_id=123"
    measure "seed.$round" GET "$SEED/flags/new_ui?user_id=123"
done

python3 - "$WORK" "$LOADGEN" "$DURATION" "$CONCURRENCY" "$(nproc)" "$WARMUP" "$ROUNDS" <<'PY'
import json
import pathlib
import re
import statistics
import sys

work, loadgen, duration, concurrency, cores, warmup, rounds = sys.argv[1:]
rounds = int(rounds)
work = pathlib.Path(work)
ROWS = [
    ("flagpole_get", "Flagpole `GET /flags/new_ui?user_id=123`, client token"),
    ("flagpole_get_writing", "the same, while another flag is written 20 times a second"),
    ("flagpole_open", "Flagpole `GET /flags/new_ui?user_id=123`, `--seed-api open` (no token)"),
    ("flagpole_eval", "Flagpole `POST /api/v1/environments/production/evaluate/new_ui`, client token"),
    ("floor", "floor: bare axum, fixed JSON"),
    ("seed", "seed: FastAPI + uvicorn, 1 worker"),
]


def read_oha(text):
    data = json.loads(text)
    codes = {str(k): v for k, v in (data.get("statusCodeDistribution") or {}).items()}
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    # oha cuts off the requests in flight when the duration ends; those are not errors.
    errors = {k: v for k, v in (data.get("errorDistribution") or {}).items()
              if k != "aborted due to deadline"}
    bad = sum(codes.values()) - ok + sum(errors.values())
    p99 = data["latencyPercentiles"]["p99"]
    return data["summary"]["requestsPerSec"], (p99 or 0) * 1000, bad


def read_wrk(text):
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    p99 = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    errors = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", text)
    return rps, p99, (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)


# Per target: the median over the rounds of requests/s and of p99; errors summed.
per_round = {}
results = {}
for key, _ in ROWS:
    runs = []
    for r in range(1, rounds + 1):
        text = (work / f"{key}.{r}.out").read_text()
        runs.append(read_oha(text) if loadgen == "oha" else read_wrk(text))
    per_round[key] = runs
    results[key] = (statistics.median(x[0] for x in runs), statistics.median(x[1] for x in runs),
                    sum(x[2] for x in runs))


def ratio(a, b):
    return f"{100 * results[a][0] / results[b][0]:.0f}%" if results[b][0] else "n/a"


print()
print(f"{loadgen}, {duration} s per target after a warm-up, {rounds} rounds (medians), "
      f"concurrency {concurrency}, 127.0.0.1, {cores} cores shared by the load generator and the servers")
print()
print("| target | requests/s | p99 latency | non-2xx or errors | vs floor | vs seed |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for key, label in ROWS:
    rps, p99, bad = results[key]
    print(f"| {label} | {rps:,.0f} | {p99:.2f} ms | {bad} | {ratio(key, 'floor')} | {ratio(key, 'seed')} |")
print()
share = results["flagpole_get"][0] / results["floor"][0] if results["floor"][0] else 0
verdict = "meets" if share >= 0.8 else "misses"
print(f"Flagpole GET / floor = {share:.0%} ({verdict} the bar of 80%); "
      f"Flagpole GET / seed = {ratio('flagpole_get', 'seed')}.")
writing = results["flagpole_get_writing"][0] / results["floor"][0] if results["floor"][0] else 0
made = int((work / "writes.made").read_text())
seconds = (int(duration) + int(warmup)) * rounds
print(f"While writing ({made} writes in {seconds} s, {made / seconds:.1f}/s): GET / floor = {writing:.0%} "
      f"({'meets' if writing >= 0.8 else 'misses'} the bar of 80%); "
      f"{results['flagpole_get_writing'][0] / results['flagpole_get'][0]:.0%} of the GET without writes.")
shares = ", ".join(f"{a[0] / b[0]:.0%}" for a, b in zip(per_round["flagpole_get"], per_round["floor"]) if b[0])
print(f"GET / floor in each round: {shares}.")
auth = results["flagpole_get"][0] / results["flagpole_open"][0] if results["flagpole_open"][0] else 0
print(f"With a token / without = {auth:.1%} (authentication's price; the bar is within 5%).")
PY
