#!/usr/bin/env bash
# Stops the anchor started by start.sh in SCRATCH_DIR.
set -uo pipefail
S=${1:?usage: stop.sh SCRATCH_DIR}
/usr/sbin/postfix -c "$S/postfix/etc" stop >/dev/null 2>&1
if [ -s "$S/run/dovecot/master.pid" ]; then kill "$(cat "$S/run/dovecot/master.pid")" 2>/dev/null; fi
sleep 1
