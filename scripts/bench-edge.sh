#!/usr/bin/env bash
# Measures Flagpole against Unleash Edge (offline mode) in one run, both serving the same
# flags: tests/interop/flags.yaml is imported into Flagpole, and Flagpole's own
# `GET /api/client/features` answer is written out as Edge's bootstrap file.
#
#   client features  GET /api/client/features                      (both; plain, no gzip)
#   frontend         GET /api/frontend?userId=123&properties[plan]=enterprise   (both)
#   one flag         Edge:     GET  /api/frontend/features/FLAG?userId=123
#                    Flagpole: POST /ofrep/v1/evaluate/flags/FLAG {"context":{"targetingKey":"123"}}
#   (reference)      Flagpole: GET  /api/frontend/features/FLAG?userId=123, Edge's own route
#
# Before measuring, every answer is checked with curl: status 200, Edge's client features
# equal to the bootstrap, the same enabled toggles from both frontend APIs, FLAG enabled
# for the context on both sides. Each target then gets a warm-up and a fixed-duration oha
# run at a fixed concurrency, without compression; a markdown table with requests/s, p99
# and the ratio Flagpole/Edge is printed at the end. The bar: Flagpole >= 2x Edge.
#
#   scripts/bench-edge.sh
#   BENCH_DURATION=5 BENCH_CONCURRENCY=20 BENCH_FLAG=checkout_color scripts/bench-edge.sh
#
# Both servers run with their defaults: a tokio multi-thread runtime with one worker per
# core (Edge 20's --workers no longer has any effect). Installs what it lacks: oha and
# unleash-edge (`cargo install … --locked`). All traffic goes to 127.0.0.1; everything it
# starts is stopped on exit. Load generator and servers share the machine's cores, so
# compare numbers within one run, not across machines.
set -euo pipefail

cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-50}
FLAG=${BENCH_FLAG:-gradual_user}
FLAGS_FILE=${BENCH_FLAGS_FILE:-tests/interop/flags.yaml}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# Edge in offline mode keys its token cache by the token string, so a token given as both
# client and frontend token ends up a frontend token only (client API: 403); hence two.
# Edge also panics anonymising secrets shorter than six characters (/internal-backstage/tokens).
CLIENT_TOKEN='*:production.bench0123456789-client'
FRONTEND_TOKEN='*:production.bench0123456789-frontend'
FRONTEND_QUERY='userId=123&properties%5Bplan%5D=enterprise'
OFREP_BODY='{"context":{"targetingKey":"123"}}'

BENCH_NAME=bench-edge
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh  # (the script has cd-ed to the repository root)

# --- tools ----------------------------------------------------------------------------

# ensure_cargo_tool NAME: NAME on PATH, in ~/.cargo/bin, or installed there.
ensure_cargo_tool() {
    local name=$1
    if command -v "$name" >/dev/null; then
        return 0
    fi
    PATH="$HOME/.cargo/bin:$PATH"
    if [[ ! -x "$HOME/.cargo/bin/$name" ]]; then
        log "installing $name (cargo install $name --locked)"
        cargo install "$name" --locked >&2 || die "cannot install $name"
    fi
}

# --- processes (WORK, PIDS, free_port, wait_http: scripts/bench-common.sh) ---------------

# fetch NAME TOKEN URL [JSON_BODY]: the answer into $WORK/NAME.json; fails unless 200.
fetch() {
    local name=$1 token=$2 url=$3 body=${4:-} code
    local args=(-s --max-time 10 -o "$WORK/$name.json" -w '%{http_code}' -H "Authorization: $token")
    [[ -n $body ]] && args+=(-X POST -H 'Content-Type: application/json' -d "$body")
    code=$(curl "${args[@]}" "$url" || true)
    [[ $code == 200 ]] || die "$name: $url answered $code: $(head -c 300 "$WORK/$name.json" 2>/dev/null)"
}

# --- measuring ------------------------------------------------------------------------

# measure NAME TOKEN METHOD URL [JSON_BODY]: warm-up, then the timed run into $WORK/NAME.out.
# oha asks for gzip/br unless told not to; every target is measured without compression.
measure() {
    local name=$1 token=$2 method=$3 url=$4 body=${5:-}
    local limit=$((WARMUP + DURATION + 30))
    local args=(--no-tui --disable-compression -c "$CONCURRENCY" -m "$method" -H "Authorization: $token")
    [[ -n $body ]] && args+=(-d "$body" -T application/json)
    log "measuring $name: $method $url (${WARMUP}s warm-up, ${DURATION}s at concurrency $CONCURRENCY)"
    timeout "$limit" oha "${args[@]}" -z "${WARMUP}s" "$url" >/dev/null
    timeout "$limit" oha "${args[@]}" -z "${DURATION}s" --output-format json "$url" >"$WORK/$name.out"
}

# --- the run --------------------------------------------------------------------------

ensure_cargo_tool oha
ensure_cargo_tool unleash-edge
log "$(oha --version); $(cargo install --list 2>/dev/null | sed -n 's/^\(unleash-edge v[^:]*\):$/\1/p')"

log "building flagpole (release)"
cargo build --release -p flagpole >&2

flagpole_port=$(free_port)
edge_port=$(free_port)
FLAGPOLE="http://127.0.0.1:$flagpole_port"
EDGE="http://127.0.0.1:$edge_port"

FLAGPOLE_LOG=warn "$TARGET_DIR/release/flagpole" serve \
    --listen "127.0.0.1:$flagpole_port" --database "$WORK/flagpole.db" \
    >"$WORK/flagpole.log" 2>&1 &
PIDS+=($!)
wait_http "$FLAGPOLE/health/ready" "$!" flagpole

log "importing $FLAGS_FILE into Flagpole"
"$TARGET_DIR/release/flagpole" import "$FLAGS_FILE" --server "$FLAGPOLE" >&2

log "writing Flagpole's client features (production) as Edge's bootstrap file"
fetch bootstrap "$CLIENT_TOKEN" "$FLAGPOLE/api/client/features"

RUST_LOG=warn unleash-edge --port "$edge_port" --interface 127.0.0.1 offline \
    --bootstrap-file "$WORK/bootstrap.json" \
    --client-tokens "$CLIENT_TOKEN" --frontend-tokens "$FRONTEND_TOKEN" \
    >"$WORK/edge.log" 2>&1 &
PIDS+=($!)
wait_http "$EDGE/internal-backstage/health" "$!" edge

log "checking both answers before measuring"
fetch edge_client "$CLIENT_TOKEN" "$EDGE/api/client/features"
fetch flagpole_client "$CLIENT_TOKEN" "$FLAGPOLE/api/client/features"
fetch edge_frontend "$FRONTEND_TOKEN" "$EDGE/api/frontend?$FRONTEND_QUERY"
fetch flagpole_frontend "$FRONTEND_TOKEN" "$FLAGPOLE/api/frontend?$FRONTEND_QUERY"
fetch edge_flag "$FRONTEND_TOKEN" "$EDGE/api/frontend/features/$FLAG?userId=123"
fetch flagpole_ofrep "$FRONTEND_TOKEN" "$FLAGPOLE/ofrep/v1/evaluate/flags/$FLAG" "$OFREP_BODY"
fetch flagpole_flag "$FRONTEND_TOKEN" "$FLAGPOLE/api/frontend/features/$FLAG?userId=123"

python3 - "$WORK" "$FLAG" <<'PY' || die "the two servers do not answer alike; see above"
import json
import pathlib
import sys

work, flag = pathlib.Path(sys.argv[1]), sys.argv[2]
load = lambda name: json.loads((work / f"{name}.json").read_text())
unknown = set()


def norm(x):
    """Drops what Edge's model leaves out or adds (nulls, empties, weightType, segment
    names, `query`); unwraps the operators Edge does not know ({"UNKNOWN": op})."""
    if isinstance(x, dict):
        if set(x) == {"UNKNOWN"}:
            unknown.add(x["UNKNOWN"])
            return x["UNKNOWN"]
        return {k: norm(v) for k, v in x.items()
                if v not in (None, [], {}) and k not in ("weightType", "query")}
    if isinstance(x, list):
        return [norm(v) for v in x]
    return x


bootstrap, edge, flagpole = load("bootstrap"), load("edge_client"), load("flagpole_client")
for s in bootstrap.get("segments") or []:
    s.pop("name", None)
ok = True
if not bootstrap.get("features"):
    print("the bootstrap has no features"); ok = False
if norm(edge) != norm(bootstrap):
    print("Edge's client features differ from the bootstrap file"); ok = False
if flagpole != load("bootstrap"):
    print("Flagpole's client features changed since the bootstrap was written"); ok = False
print(f"client features: {len(bootstrap['features'])} features, "
      f"{len(bootstrap.get('segments') or [])} segments on both sides")
if unknown:
    print(f"note: Edge does not know the operators {sorted(unknown)}; it re-serialises "
          "them as {\"UNKNOWN\": op} and evaluates those constraints as false")


def toggles(doc):
    return sorted((t["name"], t["enabled"], t["variant"]["name"], t["variant"]["enabled"],
                   json.dumps((t["variant"].get("payload") or None), sort_keys=True))
                  for t in doc["toggles"])


edge_t, flagpole_t = toggles(load("edge_frontend")), toggles(load("flagpole_frontend"))
if edge_t != flagpole_t or not edge_t:
    print(f"frontend toggles differ:\n  edge:     {edge_t}\n  flagpole: {flagpole_t}"); ok = False
else:
    print(f"frontend: the same {len(edge_t)} enabled toggles: {', '.join(t[0] for t in edge_t)}")

edge_f, ofrep, flagpole_f = load("edge_flag"), load("flagpole_ofrep"), load("flagpole_flag")
variant = edge_f["variant"]["name"] if edge_f["variant"]["enabled"] else None
if not (edge_f["name"] == flag and edge_f["enabled"] and flagpole_f["enabled"]
        and ofrep.get("key") == flag and "errorCode" not in ofrep
        and (ofrep.get("variant") == variant if variant else ofrep.get("value") is True)):
    print(f"{flag} is not enabled alike:\n  edge: {edge_f}\n  ofrep: {ofrep}\n  flagpole: {flagpole_f}")
    ok = False
else:
    print(f"{flag}: enabled on both; OFREP {json.dumps(ofrep)}")
sys.exit(0 if ok else 1)
PY

measure edge_client "$CLIENT_TOKEN" GET "$EDGE/api/client/features"
measure flagpole_client "$CLIENT_TOKEN" GET "$FLAGPOLE/api/client/features"
measure edge_frontend "$FRONTEND_TOKEN" GET "$EDGE/api/frontend?$FRONTEND_QUERY"
measure flagpole_frontend "$FRONTEND_TOKEN" GET "$FLAGPOLE/api/frontend?$FRONTEND_QUERY"
measure edge_flag "$FRONTEND_TOKEN" GET "$EDGE/api/frontend/features/$FLAG?userId=123"
measure flagpole_ofrep "$FRONTEND_TOKEN" POST "$FLAGPOLE/ofrep/v1/evaluate/flags/$FLAG" "$OFREP_BODY"
measure flagpole_flag "$FRONTEND_TOKEN" GET "$FLAGPOLE/api/frontend/features/$FLAG?userId=123"

python3 - "$WORK" "$FLAG" "$DURATION" "$CONCURRENCY" "$(nproc)" <<'PY'
import json
import pathlib
import sys

work, flag, duration, concurrency, cores = sys.argv[1:]
work = pathlib.Path(work)
ROWS = [
    ("`GET /api/client/features`", "edge_client", "flagpole_client", True),
    ("`GET /api/frontend?userId=123&properties[plan]=enterprise`",
     "edge_frontend", "flagpole_frontend", True),
    (f"one flag: Edge `GET /api/frontend/features/{flag}`, "
     f"Flagpole `POST /ofrep/v1/evaluate/flags/{flag}`", "edge_flag", "flagpole_ofrep", True),
    (f"(reference) one flag, both `GET /api/frontend/features/{flag}`",
     "edge_flag", "flagpole_flag", False),
]


def read_oha(key):
    data = json.loads((work / f"{key}.out").read_text())
    codes = {str(k): v for k, v in (data.get("statusCodeDistribution") or {}).items()}
    # oha cuts off the requests in flight when the duration ends; those are not errors.
    errors = {k: v for k, v in (data.get("errorDistribution") or {}).items()
              if k != "aborted due to deadline"}
    bad = sum(v for k, v in codes.items() if k != "200") + sum(errors.values())
    p99 = data["latencyPercentiles"]["p99"] or 0
    return data["summary"]["requestsPerSec"], p99 * 1000, bad


print()
print(f"oha, {duration} s per target after a warm-up, concurrency {concurrency}, no compression, "
      f"127.0.0.1, {cores} cores shared by oha and the servers; both servers on a tokio "
      "multi-thread runtime with one worker per core")
print()
print("| endpoint | Edge req/s | Edge p99 | Flagpole req/s | Flagpole p99 | Flagpole/Edge | non-200 (E/F) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
verdicts = []
for label, e_key, f_key, gated in ROWS:
    (e_rps, e_p99, e_bad), (f_rps, f_p99, f_bad) = read_oha(e_key), read_oha(f_key)
    ratio = f_rps / e_rps if e_rps else 0
    print(f"| {label} | {e_rps:,.0f} | {e_p99:.2f} ms | {f_rps:,.0f} | {f_p99:.2f} ms "
          f"| {ratio:.2f}x | {e_bad}/{f_bad} |")
    if gated:
        verdicts.append(f"{'meets' if ratio >= 2 and not f_bad else 'MISSES'} the bar "
                        f"({ratio:.2f}x) on {label}")
print()
for v in verdicts:
    print(f"- Flagpole {v}")
PY
