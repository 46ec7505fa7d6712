#!/bin/bash
# LDAP benchmark: N users (default 200000) loaded with slapadd -q into a throwaway slapd,
# then (1) full initial sync into an empty replica (seconds, peak memory), (2) change
# propagation with refreshAndPersist (ldapmodify -> visible in the replica), (3) user binds
# per second with a warm pool.
#   bench/ldap/run.sh BIN_DIR [N] [WORKDIR]
# Targets from issue 4: initial sync < 60 s, propagation < 2 s, 2,000 binds/s.
set -eu -o pipefail
BIN=${1:?usage: run.sh BIN_DIR [N] [WORKDIR]}; N=${2:-200000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=${3:-$(mktemp -d /tmp/mr-ldap-bench.XXXXXX)}; mkdir -p "$W"
export LDAP_PORT=${LDAP_PORT:-13489} LDAP_SUFFIX=dc=example,dc=com LDAP_ADMIN_PW=secret
export LDAP_URI=ldap://127.0.0.1:$LDAP_PORT
S=$ROOT/scripts/ldap/slapd.sh
trap '"$S" stop "$W/slapd" >/dev/null 2>&1 || true' EXIT

t0=$(date +%s.%N)
# memberOf goes into the LDIF: slapadd runs no overlays.
awk -v n="$N" 'BEGIN{
  s="dc=example,dc=com"
  printf "dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n", s
  printf "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", s
  printf "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", s
  for (i = 1; i <= n; i++) {
    printf "dn: uid=u%07d,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: mailroomAccount\nuid: u%07d\ncn: Bulk User %d\nsn: User%d\nmail: u%07d@example.com\nmailQuotaBytes: 1073741824\nuserPassword: pw%d\n", i, s, i, i, i, i, i
    if (i <= 10) printf "memberOf: cn=bulkstaff,ou=groups,%s\n", s
    printf "\n"
  }
  printf "dn: cn=bulkstaff,ou=groups,%s\nobjectClass: groupOfNames\nobjectClass: mailroomGroup\ncn: bulkstaff\nmail: bulkstaff@example.com\n", s
  for (i = 1; i <= 10; i++) printf "member: uid=u%07d,ou=people,%s\n", i, s
}' > "$W/bulk.ldif"
"$S" slapadd "$W/slapd" "$W/bulk.ldif" > "$W/slapadd.log" 2>&1
echo "loaded $N users with slapadd -q in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
"$S" start "$W/slapd" > /dev/null

cat > "$W/bench.toml" <<T
[directory.ldap]
uris = ["$LDAP_URI"]
bind_dn = "cn=admin,dc=example,dc=com"
bind_password = "secret"
base_dn = "dc=example,dc=com"
user_base = "ou=people,dc=example,dc=com"
page_size = 1000
size_limit = 10000000
pool_size = 4
bind_pool_size = ${BIND_POOL:-8}
timeout = "60s"
lookup = "replica"
[directory.ldap.sync]
mode = "persist"
T
mkdir -p "$W/sync" "$W/persist"
echo "== full initial sync into an empty replica"
"$BIN/bench_ldap" "$W/bench.toml" "$W/sync" sync
echo "== initial refresh (refreshAndPersist into an empty replica), then change propagation"
"$BIN/bench_ldap" "$W/bench.toml" "$W/persist" propagate 10 | grep -v "^round="
echo "== binds per second (warm pool)"
"$BIN/bench_ldap" "$W/bench.toml" "$W/sync" binds "${THREADS:-8}" 5 "$N"
