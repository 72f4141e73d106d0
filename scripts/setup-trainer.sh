#!/usr/bin/env bash
# Creates the Python trainer's virtualenv, outside the clone, and prints its python as the last line
# of stdout (everything else goes to stderr). Run the trainer with that python as
#   PYTHONPATH=<repo>/trainer <python> -m fireact_trainer <command> ...
# The package itself is not installed into the venv, so one venv serves any clone of the repo and a
# moved clone keeps working.
#
# Where: $FIREACT_TRAINER_VENV, else ${XDG_CACHE_HOME:-~/.cache}/fireact/trainer-venv-<hash>, <hash>
# being the first 12 hex digits of sha256(trainer/requirements.txt). A stamp file holding the full
# hash is written only after a complete, verified install, so a run that was interrupted is simply
# finished by the next one, and a run that finds the stamp returns at once.
# Python: $FIREACT_PYTHON, else python3 (3.10 or newer).
# Exit codes: 0 ready; 3 the environment cannot be made here (no suitable Python, no venv module,
# packages not downloadable); 1 anything else, including an install in which the trainer fails to
# import (a defect, not a missing resource).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
req="$repo/trainer/requirements.txt"

log() { printf '[setup-trainer] %s\n' "$*" >&2; }

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

req_hash=$(sha256 "$req")
venv=${FIREACT_TRAINER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fireact/trainer-venv-${req_hash:0:12}}
stamp="$venv/.fireact-trainer-complete"
py="$venv/bin/python"

ready() { [ -x "$py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_hash" ]; }

if ready; then
  echo "$py"
  exit 0
fi

mkdir -p "$(dirname "$venv")"
# Two set-ups at once (two test runs, two workers) would install over each other: take a lock where
# flock exists, and look again once holding it.
if command -v flock >/dev/null; then
  exec 9>"$venv.lock"
  flock 9
  if ready; then
    echo "$py"
    exit 0
  fi
fi

base_python=${FIREACT_PYTHON:-python3}
command -v "$base_python" >/dev/null || { log "no $base_python on PATH (set FIREACT_PYTHON to a Python 3.10+)"; exit 3; }
"$base_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { log "$base_python is older than 3.10 (set FIREACT_PYTHON)"; exit 3; }

# A venv left by an interrupted run is reused when its pip works (pip finishes what is missing);
# one broken before pip was in place is made again.
if [ -d "$venv" ] && ! "$py" -m pip --version >/dev/null 2>&1; then
  log "removing an unusable partial venv at $venv"
  rm -rf "$venv"
fi
if [ ! -d "$venv" ]; then
  log "creating $venv"
  "$base_python" -m venv "$venv" >&2 || { log "could not create a venv with $base_python (python3-venv missing?)"; rm -rf "$venv"; exit 3; }
fi

start=$(date +%s)
log "installing trainer/requirements.txt (torch and its CUDA wheels: a few GB, once)"
# --no-cache-dir: the wheels are not kept a second time in pip's cache.
"$py" -m pip install --no-cache-dir --disable-pip-version-check --no-input --quiet -r "$req" >&2 \
  || { log "pip could not install trainer/requirements.txt (is PyPI reachable?)"; exit 3; }

# The install counts as complete only once the trainer imports in it.
PYTHONPATH="$repo/trainer" HF_HUB_OFFLINE=1 "$py" -c 'import fireact_trainer.cli, torch, transformers, peft, trl, accelerate' >&2 \
  || { log "the install finished but the trainer does not import"; exit 1; }

printf '%s' "$req_hash" > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "ready in $(( $(date +%s) - start ))s: $py"
echo "$py"
