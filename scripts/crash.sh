#!/usr/bin/env bash
# The SIGKILL crash test for as many rounds as asked (CI runs the test's default, 8):
# a real `flagpole serve` on SQLite takes concurrent writes and is killed at a random
# moment each round; every write it acknowledged must be there after the restart, and
# the database must pass its integrity check.
#
#   scripts/crash.sh 50          # 50 rounds
#   FLAGPOLE_CRASH_SEED=7 scripts/crash.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-50}
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || { echo "usage: $0 ROUNDS" >&2; exit 2; }
FLAGPOLE_CRASH_ROUNDS=$ROUNDS cargo test --release -p flagpole --test crash -- --nocapture 2>&1 \
    | grep -E "^crash:|test result|panicked|FAILED" 
