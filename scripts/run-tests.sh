#!/usr/bin/env bash
# The whole suite: type check, lint, then jest (test/unit, test/workflow, test/e2e, test/chaos; each
# test file in its own worker process, see jest.config.js). Extra arguments go to jest (a file, a folder).
# The last line is always `N passed, N failed` (CI reads it), counted from jest's JSON results: a failed
# type check or lint counts as one failure each, a test file that fails to load as one more.
# The exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=0
npx tsc -p tsconfig.json --noEmit || { echo "type check failed" >&2; failed=$((failed + 1)); }
npx eslint . || { echo "lint failed" >&2; failed=$((failed + 1)); }

FIREACT_TEMPORAL_BIN=$(bash scripts/temporal-bin.sh)
export FIREACT_TEMPORAL_BIN
results=$(mktemp)
trap 'rm -f "$results"' EXIT
npx jest --json --outputFile="$results" "$@"
status=$?
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
