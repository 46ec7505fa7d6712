#!/usr/bin/env bash
# Stops the anchor started by start.sh in SCRATCH_DIR, by the PIDs it recorded.
set -uo pipefail
S=${1:?usage: stop.sh SCRATCH_DIR}
for f in "$S"/pids/*.pid; do
  [ -s "$f" ] || continue
  pid=$(tr -d ' \n' < "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && echo "$(basename "$f" .pid) ($pid) did not exit" >&2
  fi
  rm -f "$f"
done
