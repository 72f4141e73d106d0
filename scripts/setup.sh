#!/usr/bin/env bash
# Installs what fireact needs, idempotently: npm packages and the Temporal CLI (built once with
# `go install` and cached outside the clone). Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. npm packages: reinstall only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.fireact-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# 2. Temporal CLI (dev server + Web UI). v1.5.1 is the last release that `go install` accepts.
temporal_bin=$(bash scripts/temporal-bin.sh)
if [ ! -x "$temporal_bin" ]; then
  command -v go >/dev/null || { log "Go is needed to build the Temporal CLI (go install); install Go 1.23+"; exit 1; }
  log "building the Temporal CLI v1.5.1 into $(dirname "$temporal_bin") (a few minutes, once)"
  mkdir -p "$(dirname "$temporal_bin")"
  GOBIN="$(dirname "$temporal_bin")" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi
# 3. The Python trainer's own environment (PyTorch, Transformers, PEFT), cached outside the clone.
python=$(bash scripts/setup-trainer.sh | tail -n 1)

# 4. Headless Chromium (Debian's package) for the report's browser test; skipped where apt cannot run.
bash scripts/setup-browser.sh >/dev/null

log "ready (temporal: $temporal_bin; trainer python: $python)"
