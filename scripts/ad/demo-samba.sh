#!/bin/bash
# make demo-ad: a throwaway Samba 4 Active Directory DC on 127.0.0.1, realm EXAMPLE.COM
# (NetBIOS EXAMPLE, base DC=example,DC=com), administrator Administrator / Passw0rd-demo, with
# the demo's people: alice/wonderland (mail alice@example.com, proxyAddresses smtp:info@),
# bob/builder, group staff@ (alice, bob), carol (disabled), and the service account
# mailroom-svc / Svc-Passw0rd-demo that examples/active-directory.toml binds as.
#   scripts/ad/demo-samba.sh start [DIR]   (default DIR: ./demo-ad; kept between runs)
#   scripts/ad/demo-samba.sh stop [DIR]
# LDAP is on 389 (StartTLS) and 636 (LDAPS), with the demo CA of scripts/demo-tls
# (DIR/tls/ca.pem): Samba hard-codes AD's LDAP ports 389/636/3268/3269 (there is no "ldap
# port" option), so they must be free on 127.0.0.1, and the DC runs only as root. The tests
# put their DC in a private network namespace instead (tests/integration/netns.py); a demo
# cannot, because your mail clients and mailroomd must reach it from this machine.
# The demo's passwords are short and simple: the domain's complexity rule is off.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cmd=${1:-start}
DIR=$(mkdir -p "${2:-demo-ad}" && cd "${2:-demo-ad}" && pwd)
DC=$DIR/dc
CONF=$DC/etc/smb.conf
ADMIN_PW=Passw0rd-demo
die() { echo "demo-samba: $*" >&2; exit 1; }

ldaps_ready() {
  LDAPTLS_CACERT=$DIR/tls/ca.pem ldapsearch -LLL -x -H ldaps://127.0.0.1:636 \
    -D Administrator@example.com -w "$ADMIN_PW" -b "" -s base dsServiceName >/dev/null 2>&1
}

provision() {
  rm -rf "$DC"
  mkdir -p "$DC/run" "$DC/log"
  "$ROOT/scripts/demo-tls" "$DIR/tls"
  : > "$DIR/empty.conf"   # read no /etc/samba/smb.conf
  samba-tool domain provision -s "$DIR/empty.conf" --targetdir="$DC" \
    --realm=EXAMPLE.COM --domain=EXAMPLE --server-role=dc --dns-backend=NONE \
    --adminpass="$ADMIN_PW" --host-name=DC1 --host-ip=127.0.0.1 \
    --option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
    --option="server services=ldap" \
    --option="tls enabled=yes" --option="tls keyfile=$DIR/tls/key.pem" \
    --option="tls certfile=$DIR/tls/cert.pem" --option="tls cafile=$DIR/tls/ca.pem" \
    --option="pid directory=$DC/run" --option="ncalrpc dir=$DC/run/ncalrpc" \
    --option="winbindd socket directory=$DC/run/winbindd" \
    --option="ntp signd socket directory=$DC/run/ntp_signd" \
    --option="log file=$DC/log/log.%m" > "$DIR/provision.log" 2>&1 \
    || { tail -20 "$DIR/provision.log" >&2; die "samba-tool domain provision failed"; }
  cat > "$DIR/people.json" <<'JSON'
{"simple_passwords": true,
 "users": [
  {"name": "mailroom-svc", "password": "Svc-Passw0rd-demo"},
  {"name": "alice", "password": "wonderland", "mail": "alice@example.com",
   "display": "Alice", "proxy": ["SMTP:alice@example.com", "smtp:info@example.com"]},
  {"name": "bob", "password": "builder", "mail": "bob@example.com", "display": "Bob"},
  {"name": "carol", "password": "carolpw", "mail": "carol@example.com", "uac": 514}],
 "groups": [{"name": "staff", "mail": "staff@example.com", "members": ["alice", "bob"]}],
 "tombstone_reader": "mailroom-svc"}
JSON
  /usr/bin/python3 "$HERE/samba-seed.py" "$CONF" "$DIR/people.json" || die "seeding failed"
}

case $cmd in
start)
  [ "$(id -u)" = 0 ] || die "Samba's AD DC runs only as root"
  command -v samba-tool >/dev/null || die "samba-tool missing (scripts/setup installs samba-ad-dc)"
  if [ -s "$DIR/samba.pid" ] && kill -0 "$(cat "$DIR/samba.pid")" 2>/dev/null; then
    die "already running (pid $(cat "$DIR/samba.pid"))"
  fi
  for port in 389 636 3268 3269; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "127.0.0.1:$port is in use; Samba's AD DC needs 389, 636, 3268 and 3269 (fixed in Samba)"
    fi
  done
  [ -s "$CONF" ] || provision
  setsid /usr/sbin/samba -F --no-process-group -M single -s "$CONF" --debug-stdout -d 1 \
    < /dev/null > "$DIR/samba.log" 2>&1 &
  echo $! > "$DIR/samba.pid"
  for _ in $(seq 600); do
    ldaps_ready && break
    kill -0 "$(cat "$DIR/samba.pid")" 2>/dev/null || { tail -20 "$DIR/samba.log" >&2; die "samba exited"; }
    sleep 0.1
  done
  ldaps_ready || { tail -20 "$DIR/samba.log" >&2; die "no LDAPS answer in 60 s"; }
  echo "Samba AD DC up: ldaps://127.0.0.1:636 (Administrator@example.com / $ADMIN_PW), CA $DIR/tls/ca.pem"
  ;;
stop)
  if [ -s "$DIR/samba.pid" ]; then
    pid=$(cat "$DIR/samba.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$DIR/samba.pid"
  fi
  ;;
*) die "usage: $0 start|stop [DIR]" ;;
esac
