#!/bin/bash
# A throwaway OpenLDAP slapd for Mailroom's tests and demo (cn=config in a scratch dir,
# loopback + ldapi only, syncprov and memberof overlays, Mailroom's schema loaded).
#   scripts/ldap/slapd.sh start DIR [LDIF...]   build the config, start, wait, ldapadd LDIFs
#   scripts/ldap/slapd.sh stop DIR              stop by the recorded PID
#   scripts/ldap/slapd.sh slapadd DIR FILE      offline bulk load (slapd stopped; overlays do
#                                               not run: put memberOf in FILE)
# Env: LDAP_PORT (3389), LDAP_SUFFIX (dc=example,dc=com), LDAP_ADMIN_PW (secret),
#      MAILROOM_SLAPD_AD=1 also loads schema/ldap/ad-lite.ldif (AD-shaped entries, tests),
#      MAILROOM_SLAPD_PPOLICY=1 loads the ppolicy overlay (it writes pwdChangedTime when a
#      password changes; no policy entry, so no lockout or expiry rules),
#      MAILROOM_SLAPD_TLS=CERTDIR (ca.pem, cert.pem, key.pem) enables StartTLS, and
#      LDAPS_PORT additionally listens on ldaps://127.0.0.1:LDAPS_PORT,
#      SLAPD_DEBUG (none; 'stats' logs operations) -> DIR/slapd.log
# DIR/env gets LDAP_URI, LDAPI_URI, LDAP_SUFFIX, LDAP_ADMIN_DN, LDAP_ADMIN_PW for clients.
# Needs the Debian packages slapd and ldap-utils.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCHEMA=$(cd "$HERE/../../schema/ldap" && pwd)
die() { echo "slapd.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 start|stop|slapadd DIR [ARGS...]"
cmd=$1; mkdir -p "$2"; D=$(cd "$2" && pwd -P); shift 2
PORT=${LDAP_PORT:-3389}
SUFFIX=${LDAP_SUFFIX:-dc=example,dc=com}
ADMIN_PW=${LDAP_ADMIN_PW:-secret}
enc() { local s=$1; s=${s//%/%25}; s=${s//\//%2F}; printf '%s' "$s"; }
LDAPI_URI="ldapi://$(enc "$D/ldapi")"
LDAP_URI="ldap://127.0.0.1:$PORT"
LISTEN="$LDAP_URI/ $LDAPI_URI"
[ -n "${LDAPS_PORT:-}" ] && LISTEN="$LISTEN ldaps://127.0.0.1:$LDAPS_PORT/"

write_env() {
  cat > "$D/env" <<E
LDAP_URI='$LDAP_URI'
LDAPI_URI='$LDAPI_URI'
LDAP_SUFFIX='$SUFFIX'
LDAP_ADMIN_DN='cn=admin,$SUFFIX'
LDAP_ADMIN_PW='$ADMIN_PW'
E
}

make_config() {
  local uid gid ad=""
  uid=$(id -u); gid=$(id -g)
  mkdir -p "$D/slapd.d" "$D/data"
  [ -n "${MAILROOM_SLAPD_AD:-}" ] && ad="include: file://$SCHEMA/ad-lite.ldif"
  local tls="" ppolicy_module="" ppolicy_overlay=""
  if [ -n "${MAILROOM_SLAPD_PPOLICY:-}" ]; then
    ppolicy_module="olcModuleLoad: ppolicy"
    ppolicy_overlay="
dn: olcOverlay={2}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {2}ppolicy
"
  fi
  if [ -n "${MAILROOM_SLAPD_TLS:-}" ]; then
    local t; t=$(cd "$MAILROOM_SLAPD_TLS" && pwd)
    tls="olcTLSCACertificateFile: $t/ca.pem
olcTLSCertificateFile: $t/cert.pem
olcTLSCertificateKeyFile: $t/key.pem"
  fi
  cat > "$D/config.ldif" <<C
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $D/slapd.pid
olcToolThreads: 2
$tls

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov
olcModuleLoad: memberof
$ppolicy_module

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file:///etc/ldap/schema/dyngroup.ldif
include: file://$SCHEMA/mailroom.ldif
$ad

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to * by dn.exact=gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth manage by * break
olcAccess: {1}to dn.base="" by * read
olcAccess: {2}to dn.base="cn=subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $D/data
olcSuffix: $SUFFIX
olcRootDN: cn=admin,$SUFFIX
olcRootPW: $ADMIN_PW
olcDbMaxSize: 4294967296
olcSizeLimit: unlimited
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,cn,mailAlternateAddress eq
olcDbIndex: member,memberOf,uniqueMember eq
olcDbIndex: entryCSN,entryUUID eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by dn.exact=gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth manage by * read

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {1}syncprov
olcSpCheckpoint: 100 10
olcSpSessionLog: 10000
$ppolicy_overlay
C
  /usr/sbin/slapadd -n0 -F "$D/slapd.d" -l "$D/config.ldif" > "$D/slapadd-config.log" 2>&1 \
    || { cat "$D/slapadd-config.log" >&2; die "slapadd -n0 failed"; }
}

running() { [ -s "$D/run.pid" ] && kill -0 "$(cat "$D/run.pid")" 2>/dev/null; }

case $cmd in
start)
  running && die "already running (pid $(cat "$D/run.pid"))"
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && die "127.0.0.1:$PORT is in use"
  [ ${#D} -lt 90 ] || die "DIR path too long for the ldapi socket: $D"
  [ -d "$D/slapd.d/cn=config" ] || make_config
  write_env
  # -d keeps slapd in the foreground so $! is its PID; setsid detaches it from our session.
  setsid /usr/sbin/slapd -d "${SLAPD_DEBUG:-0}" -F "$D/slapd.d" -h "$LISTEN" \
    < /dev/null > "$D/slapd.log" 2>&1 &
  echo $! > "$D/run.pid"
  for _ in $(seq 1 200); do
    ldapsearch -LLL -x -H "$LDAP_URI" -b "" -s base namingContexts > /dev/null 2>&1 && break
    running || { cat "$D/slapd.log" >&2; rm -f "$D/run.pid"; die "slapd exited"; }
    sleep 0.1
  done
  ldapsearch -LLL -x -H "$LDAP_URI" -b "" -s base namingContexts > /dev/null 2>&1 \
    || { cat "$D/slapd.log" >&2; kill -TERM "$(cat "$D/run.pid")"; rm -f "$D/run.pid"; die "slapd did not answer within 20s (stopped)"; }
  for f in "$@"; do
    ldapadd -Q -Y EXTERNAL -H "$LDAPI_URI" -f "$f" > "$D/ldapadd.log" 2>&1 \
      || { cat "$D/ldapadd.log" >&2; kill -TERM "$(cat "$D/run.pid")"; rm -f "$D/run.pid"; die "ldapadd $f failed (slapd stopped)"; }
  done
  echo "slapd up on $LDAP_URI (pid $(cat "$D/run.pid")); clients: . $D/env"
  ;;
stop)
  if running; then
    pid=$(cat "$D/run.pid"); kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$D/run.pid"
  ;;
slapadd)
  [ $# -ge 1 ] || die "usage: $0 slapadd DIR FILE"
  running && die "stop slapd first"
  [ -d "$D/slapd.d/cn=config" ] || make_config
  write_env
  /usr/sbin/slapadd -q -F "$D/slapd.d" -b "$SUFFIX" -l "$1" || die "slapadd failed"
  ;;
*) die "usage: $0 start|stop|slapadd DIR" ;;
esac
