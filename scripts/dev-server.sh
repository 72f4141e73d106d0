#!/usr/bin/env bash
# Starts / stops the local Temporal dev server: SQLite state file, Web UI, the FireActStage search attribute.
# Usage: scripts/dev-server.sh start|stop|status
set -euo pipefail
cd "$(dirname "$0")/.."
temporal=$(bash scripts/temporal-bin.sh)
state=${FIREACT_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/fireact}
port=${FIREACT_TEMPORAL_PORT:-7233}
ui_port=${FIREACT_UI_PORT:-8233}
pidfile="$state/dev-server.pid"
mkdir -p "$state"

healthy() { "$temporal" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if healthy; then echo "Temporal dev server already running on 127.0.0.1:$port (UI http://localhost:$ui_port)"; exit 0; fi
    if ! [ -x "$temporal" ]; then echo "Temporal CLI not found at $temporal; run: npm run setup" >&2; exit 1; fi
    # Not a healthy Temporal, yet something answers: say so now rather than after the server fails to bind.
    for p in "$port:FIREACT_TEMPORAL_PORT" "$ui_port:FIREACT_UI_PORT"; do
      if (exec 3<>"/dev/tcp/127.0.0.1/${p%%:*}") 2>/dev/null; then
        echo "port ${p%%:*} on 127.0.0.1 is in use by another program (not a Temporal server); stop it or choose another port with ${p#*:}" >&2; exit 1
      fi
    done
    # With payload encryption on, the UI decodes through the codec server (npm run codec-server).
    codec=()
    if [ -n "${FIREACT_PAYLOAD_KEY:-}" ]; then codec=(--ui-codec-endpoint "http://localhost:${FIREACT_CODEC_PORT:-8888}"); fi
    # setsid: the server outlives this script and the terminal that started it.
    setsid "$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
      --db-filename "$state/temporal.db" --search-attribute FireActStage=Keyword --log-level warn "${codec[@]}" \
      >>"$state/dev-server.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 1 120); do
      if healthy; then
        echo "Temporal dev server on 127.0.0.1:$port, Web UI http://localhost:$ui_port, state $state/temporal.db"
        exit 0
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "Temporal dev server exited; last lines of $state/dev-server.log:" >&2; tail -n 20 "$state/dev-server.log" >&2; exit 1
      fi
      sleep 0.5
    done
    echo "Temporal dev server did not become healthy in 60 s; see $state/dev-server.log" >&2; exit 1 ;;
  stop)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")"; rm -f "$pidfile"; echo stopped; else echo "not running (no pid file of ours)"; fi ;;
  status)
    if healthy; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
