# Shared by the benchmark scripts: logging, the processes they start (stopped on exit),
# free ports and readiness waits. Source it after setting BENCH_NAME.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (bounded) until URL answers with any HTTP status; fails if PID died.
wait_http() {
    local url=$1 pid=$2 name=$3 i code
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "$name exited; see $WORK/$name.log: $(tail -5 "$WORK/$name.log")"
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
        [[ $code != 000 ]] && return 0
        sleep 0.1
    done
    die "$name did not answer at $url within 30 s"
}
