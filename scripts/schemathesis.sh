#!/usr/bin/env bash
# Schemathesis against the OpenAPI document a running Flagpole serves: every operation
# gets generated requests (examples, coverage, fuzzing and stateful phases), and every
# answer must be free of server errors and conform to the document (status, content type,
# schema). The admin API runs with an admin token, the SDK routes with SDK tokens.
#
#   scripts/schemathesis.sh                 # 30 examples per operation
#   scripts/schemathesis.sh 200             # more
#
# Needs `python3 -m pip install -r tests/api/requirements.txt` and a built binary
# (FLAGPOLE_BIN, default target/debug/flagpole, built or brought up to date first). All traffic goes to
# 127.0.0.1; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${1:-30}
if [[ -n ${FLAGPOLE_BIN:-} ]]; then
    BIN=$FLAGPOLE_BIN
else
    # Always brought up to date (a no-op when it is): an old binary would test old code.
    cargo build -p flagpole --bin flagpole >&2
    BIN=${CARGO_TARGET_DIR:-target}/debug/flagpole
fi

BENCH_NAME=schemathesis
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

ADMIN=schemathesis-admin-token
CLIENT=schemathesis-client-token
FRONTEND=schemathesis-frontend-token
port=$(free_port)
BASE="http://127.0.0.1:$port"
FLAGPOLE_LOG=warn FLAGPOLE_BOOTSTRAP_TOKEN=$ADMIN "$BIN" serve --listen "127.0.0.1:$port" \
    --database "$WORK/st.db" >"$WORK/flagpole.log" 2>&1 &
PIDS+=($!)
wait_http "$BASE/health/ready" "$!" flagpole
for token in "client $CLIENT" "frontend $FRONTEND"; do
    set -- $token
    curl -fsS -X POST "$BASE/api/v1/tokens" -H "authorization: Bearer $ADMIN" \
        -H 'content-type: application/json' \
        -d "{\"name\": \"$1\", \"kind\": \"$1\", \"environment\": \"production\", \"secret\": \"$2\"}" >/dev/null
done
curl -fsS -X POST "$BASE/api/v1/import?format=native" -H "authorization: Bearer $ADMIN" \
    -H 'content-type: application/yaml' --data-binary @examples/flags.yaml >/dev/null

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {
    local what=$1 token=$2
    shift 2
    log "schemathesis: $what ($EXAMPLES examples per operation)"
    st run "$BASE/api/v1/openapi.json" -H "authorization: Bearer $token" \
        --checks "$CHECKS" --max-examples "$EXAMPLES" --workers 2 \
        --generation-deterministic --request-timeout 10 "$@"
}
status=0
# Event streams stay open until the request timeout, so each example would take 10 s;
# tests/streams.rs, tests/stream_limits.rs and the relay and interop tests cover them.
STREAMS='/(stream|streaming)$'
run "the native and seed APIs, admin token" "$ADMIN" \
    --exclude-path-regex "^/(ofrep|api/client|api/frontend)|$STREAMS" || status=$?
run "the Unleash client API and OFREP, client token" "$CLIENT" \
    --include-path-regex '^/(ofrep|api/client)' --exclude-path-regex "$STREAMS" || status=$?
run "the Unleash frontend API, frontend token" "$FRONTEND" \
    --include-path-regex '^/api/frontend' || status=$?
if grep -q "panicked" "$WORK/flagpole.log"; then
    log "the server panicked:"; grep -A5 panicked "$WORK/flagpole.log" >&2; status=1
fi
exit $status
