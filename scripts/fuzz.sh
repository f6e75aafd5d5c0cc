#!/usr/bin/env bash
# Property-based fuzzing of what requests and documents may contain and cost: document
# parsing, the write checks, validation and compilation, context parsing and Unleash
# import, with generators of hostile structure (crates/flagpole-core/tests/hostile.rs).
#
#   scripts/fuzz.sh DURATION_SECONDS
#
# Runs every target for its share of DURATION_SECONDS (one at a time), then prints the
# cases each ran, the total, and the CPU time used. A failure prints proptest's minimal
# failing input and exits non-zero. proptest (not cargo-fuzz): the machine has only the
# stable toolchain, and cargo-fuzz needs nightly. There is no corpus: each run draws new
# cases from a random seed.
set -euo pipefail

duration=${1:?usage: scripts/fuzz.sh DURATION_SECONDS}
cd "$(dirname "$0")/.."

targets=$(cargo test -q -p flagpole-core --test hostile -- --list 2>/dev/null | sed -n 's/: test$//p')
count=$(echo "$targets" | wc -l)
share=$(awk -v d="$duration" -v n="$count" 'BEGIN { printf "%.3f", d / n }')
echo "fuzzing $count targets for ${share}s each"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
FLAGPOLE_FUZZ_SECONDS=$share /usr/bin/time -f "%U %S" -o "$log.time" \
    cargo test -q -p flagpole-core --test hostile -- --test-threads=1 --nocapture \
    | tee "$log" | grep -oE 'fuzz .*: [0-9]+ cases|panicked.*|minimal failing input.*|test result.*' || true
status=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - start ))

total=$(grep -oE 'fuzz .*: [0-9]+ cases' "$log" | awk '{ n += $(NF-1) } END { print n + 0 }')
cpu=$(tail -n 1 "$log.time" | awk '{ printf "%.2f", ($1 + $2) / 60 }')
rm -f "$log.time"
echo "cases run: $total in ${elapsed}s (CPU: ${cpu} minutes; no corpus: proptest draws fresh cases)"
grep -q "test result: ok" "$log" || { echo "fuzzing FAILED" >&2; exit 1; }
exit "$status"
