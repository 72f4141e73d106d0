#!/usr/bin/env bash
# The whole suite: type check, lint, then every test file (Node's test runner, one file at a time,
# since several start their own Temporal dev server and the machine has two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
npx eslint .
export FIREACT_TEMPORAL_BIN=$(bash scripts/temporal-bin.sh)
node --import tsx --test --test-concurrency=1 --test-reporter=spec test/*.test.ts
