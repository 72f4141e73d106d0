#!/usr/bin/env bash
# Prints where the Temporal CLI lives: $FIREACT_TEMPORAL_BIN, else the per-user cache.
echo "${FIREACT_TEMPORAL_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/fireact/bin/temporal}"
