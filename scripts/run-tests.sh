#!/usr/bin/env bash
# The whole suite: type check, lint, then every test file (Node's test runner, one file at a time,
# since several start their own Temporal dev server and the machine has two cores).
# The last line is always `N passed, N failed` (CI reads it); the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

summary() { printf '%s passed, %s failed\n' "$1" "$2"; }

if ! npx tsc -p tsconfig.json --noEmit; then summary 0 1; echo "type check failed" >&2; exit 1; fi
if ! npx eslint .; then summary 0 1; echo "lint failed" >&2; exit 1; fi

FIREACT_TEMPORAL_BIN=$(bash scripts/temporal-bin.sh)
export FIREACT_TEMPORAL_BIN
out=$(mktemp)
trap 'rm -f "$out"' EXIT
node --import tsx --test --test-concurrency=1 --test-reporter=spec test/*.test.ts 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
# The spec reporter ends with "ℹ pass N", "ℹ fail N" and "ℹ cancelled N" (a test cut off by its timeout).
count() { grep -E "^ℹ $1 [0-9]+$" "$out" | tail -n 1 | awk '{print $3}'; }
pass=$(count pass); fail=$(count fail); cancelled=$(count cancelled)
pass=${pass:-0}; failed=$(( ${fail:-0} + ${cancelled:-0} ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
summary "$pass" "$failed"
exit "$status"
