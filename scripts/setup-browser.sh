#!/usr/bin/env bash
# Makes sure Debian's chromium is installed, for the report test that renders the HTML report in a
# real browser. Idempotent and fast when chromium is already there.
#
# Stdout's last line is chromium's path, or a line starting "skip:" with the reason it cannot be
# installed here (not root, no apt-get, apt-get failed, e.g. offline); both exit 0, so a test can skip
# with that reason instead of failing on a machine it cannot set up. apt-get's own output goes to stderr.
set -euo pipefail

log() { printf '[setup-browser] %s\n' "$*" >&2; }

if command -v chromium >/dev/null 2>&1; then
  command -v chromium
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "skip: chromium is not installed and installing it needs root (run: sudo apt-get install -y --no-install-recommends chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "skip: chromium is not installed and there is no apt-get to install it with (install a chromium on PATH)"
  exit 0
fi

# Two test runs at once would fight over dpkg's lock: serialise them where flock exists, and look
# again once holding the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>/tmp/fireact-setup-browser.lock
  flock 9
  if command -v chromium >/dev/null 2>&1; then
    command -v chromium
    exit 0
  fi
fi

log "installing chromium with apt-get (once; about half a minute on a fast mirror)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update >&2 || ! apt-get install -y --no-install-recommends chromium >&2; then
  echo "skip: apt-get could not install chromium (its messages are above on stderr)"
  exit 0
fi
if ! command -v chromium; then
  echo "skip: apt-get installed chromium but there is no chromium on PATH"
fi
