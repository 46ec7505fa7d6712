#!/usr/bin/env bash
# Starts the Postfix -> Dovecot LMTP anchor in SCRATCH_DIR (see README.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=${1:?usage: start.sh SCRATCH_DIR}
mkdir -p "$S"; S=$(cd "$S" && pwd)
LMTP_PORT=${LMTP_PORT:-10024}; SMTP_PORT=${SMTP_PORT:-10025}
USERS=${ANCHOR_USERS:-10}; MAIL_USER=${ANCHOR_MAIL_USER:-mail}
chmod 755 "$S"
mkdir -p "$S"/{etc,run,state/dovecot,log,mail} "$S"/postfix/{etc,spool,lib}
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
/usr/sbin/dovecot -c "$S/etc/dovecot.conf"
/usr/sbin/postfix -c "$S/postfix/etc" check
/usr/sbin/postfix -c "$S/postfix/etc" start >/dev/null 2>&1
for p in "$LMTP_PORT" "$SMTP_PORT"; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1
  done
done
echo "$S"
