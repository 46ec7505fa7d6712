#!/bin/bash
# make demo-ldap: a throwaway slapd on 127.0.0.1:3389, suffix dc=example,dc=com, manager
# cn=admin,dc=example,dc=com / secret, seeded with alice/wonderland (info@ alias),
# bob/builder, group staff@, disabled carol. examples/openldap.toml points at it.
#   scripts/ldap/demo-slapd.sh start [DIR]   (default DIR: ./demo-ldap)
#   scripts/ldap/demo-slapd.sh stop [DIR]
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:-start}; DIR=${2:-demo-ldap}
export LDAP_PORT=${LDAP_PORT:-3389} LDAP_SUFFIX=dc=example,dc=com LDAP_ADMIN_PW=secret
case $cmd in
start)
  if [ -d "$DIR/data" ] && [ -n "$(ls -A "$DIR/data" 2>/dev/null)" ]; then
    exec "$HERE/slapd.sh" start "$DIR"             # keep the data of an earlier run
  fi
  exec "$HERE/slapd.sh" start "$DIR" "$HERE/demo-seed.ldif" ;;
stop) exec "$HERE/slapd.sh" stop "$DIR" ;;
*) echo "usage: $0 start|stop [DIR]" >&2; exit 1 ;;
esac
