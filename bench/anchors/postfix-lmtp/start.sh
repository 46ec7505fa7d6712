#!/usr/bin/env bash
# Starts the Postfix -> Dovecot LMTP anchor in SCRATCH_DIR (see README.md).
#   usage: start.sh SCRATCH_DIR      ports from SMTP_PORT (10025), LMTP_PORT (10024)
# Every daemon's output goes to SCRATCH_DIR/log: a caller that captures this script's output
# through a pipe must not wait for daemons that inherited the pipe (that is how the benchmark
# hung before). Waits until both masters wrote their PID files and both ports answer; the
# PIDs are recorded in SCRATCH_DIR/pids/ for stop.sh. Exit status 1 with a reason otherwise.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=${1:?usage: start.sh SCRATCH_DIR}
mkdir -p "$S"; S=$(cd "$S" && pwd)
LMTP_PORT=${LMTP_PORT:-10024}; SMTP_PORT=${SMTP_PORT:-10025}
USERS=${ANCHOR_USERS:-10}; MAIL_USER=${ANCHOR_MAIL_USER:-mail}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # wait_for SECONDS CMD...: retry every 0.1 s
  local n=$(($1 * 10)); shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
for p in "$LMTP_PORT" "$SMTP_PORT"; do
  if port_open "$p"; then echo "port 127.0.0.1:$p already in use" >&2; exit 1; fi
done

# Unprivileged Dovecot/Postfix processes must be able to traverse the path.
chmod 755 "$S"
mkdir -p "$S"/{etc,run,state/dovecot,log,mail,pids} "$S"/postfix/{etc,spool,lib}
chown "$MAIL_USER:$MAIL_USER" "$S/mail"
chown postfix "$S/postfix/lib"
render() {
  sed -e "s|@SCRATCH@|$S|g" -e "s|@LMTP_PORT@|$LMTP_PORT|g" -e "s|@SMTP_PORT@|$SMTP_PORT|g" \
      -e "s|@MAIL_USER@|$MAIL_USER|g" "$1"
}
render "$here/dovecot.conf.in" > "$S/etc/dovecot.conf"
render "$here/main.cf.in" > "$S/postfix/etc/main.cf"
render "$here/master.cf.in" > "$S/postfix/etc/master.cf"
: > "$S/etc/users"
for i in $(seq 1 "$USERS"); do echo "testuser$i:pass" >> "$S/etc/users"; done
chmod 640 "$S/etc/users"; chgrp dovecot "$S/etc/users" 2>/dev/null || true

# --- Dovecot ---
/usr/sbin/dovecot -c "$S/etc/dovecot.conf" </dev/null >>"$S/log/start.log" 2>&1
if ! wait_for 10 test -s "$S/run/dovecot/master.pid"; then
  echo "dovecot did not write its PID file (see $S/log/dovecot.log)" >&2; exit 1
fi
cp "$S/run/dovecot/master.pid" "$S/pids/dovecot.pid"

# --- Postfix ---
if ! /usr/sbin/postfix -c "$S/postfix/etc" check </dev/null >>"$S/log/start.log" 2>&1; then
  echo "postfix check failed (see $S/log/start.log)" >&2; exit 1
fi
/usr/sbin/postfix -c "$S/postfix/etc" start </dev/null >>"$S/log/start.log" 2>&1
if ! wait_for 20 test -s "$S/postfix/spool/pid/master.pid"; then
  echo "postfix did not write its PID file (see $S/log/postfix.log)" >&2; exit 1
fi
tr -d ' ' < "$S/postfix/spool/pid/master.pid" > "$S/pids/postfix.pid"

for p in "$LMTP_PORT" "$SMTP_PORT"; do
  if ! wait_for 10 port_open "$p"; then echo "127.0.0.1:$p did not come up" >&2; exit 1; fi
done
echo "$S"
