#!/usr/bin/env bash
# `make demo-mariadb`: a throwaway mariadbd on 127.0.0.1:3307 (database mailroom, user
# mailroom / secret) loaded through the shipped schema with the demo's people, and mailroomd
# running against it on the demo ports with examples/mariadb.toml. Ctrl-C stops both.
#   alice / wonderland, bob / builder, staff@example.com (group), info@example.com -> alice
#   demo-mariadb.sh [BIN_DIR]     BIN_DIR holds mailroomd (default build/release/bin)
# Env: DEMO_DIR (/tmp/mailroom-demo-mariadb; short: the socket path must stay < 100 bytes),
#      KEEP=1 keeps the data after Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
DEMO=${DEMO_DIR:-/tmp/mailroom-demo-mariadb}
PORT=3307
export MARIADB_DB=mailroom MARIADB_USER=mailroom MARIADB_PW=secret

[ -x "$BIN/mailroomd" ] || { echo "build first: make (expects $BIN/mailroomd)" >&2; exit 1; }
mkdir -p "$DEMO/data/tls"
"$(dirname "$0")/../demo-tls" "$DEMO/data/tls"
"$ROOT/scripts/mariadb/mariadb-server.sh" start "$DEMO/mariadb" "$PORT"

cleanup() {
  [ -n "${mailroomd_pid:-}" ] && kill "$mailroomd_pid" 2>/dev/null && wait "$mailroomd_pid" 2>/dev/null
  "$ROOT/scripts/mariadb/mariadb-server.sh" stop "$DEMO/mariadb"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$DEMO"
}
trap cleanup EXIT INT TERM

sql() { /usr/bin/mariadb --no-defaults -h127.0.0.1 -P"$PORT" -umailroom -psecret mailroom "$@"; }
sql < "$ROOT/schema/sql/mariadb/001_directory.sql"
sql < "$ROOT/schema/sql/mariadb/002_delivery_log.sql"
hash() { echo "{SHA512-CRYPT}$(openssl passwd -6 "$1")"; }
sql <<SQL
INSERT IGNORE INTO domains (name) VALUES ('example.com');
INSERT IGNORE INTO accounts (id, login, address, display_name, password_hash) VALUES
  (UUID(), 'alice', 'alice@example.com', 'Alice Liddell', '$(hash wonderland)'),
  (UUID(), 'bob', 'bob@example.com', 'Bob the Builder', '$(hash builder)');
INSERT IGNORE INTO aliases (address, target) VALUES ('info@example.com', 'alice@example.com');
INSERT IGNORE INTO \`groups\` (address, display_name) VALUES ('staff@example.com', 'Staff');
INSERT IGNORE INTO group_members (group_address, member) VALUES
  ('staff@example.com', 'alice@example.com'), ('staff@example.com', 'bob@example.com');
SQL
echo "demo people loaded: alice/wonderland bob/builder staff@ info@ (database mailroom on 127.0.0.1:$PORT)"

# The example config with this demo's data directory.
sed -e "s|demo-mariadb-data|$DEMO/data|g" "$ROOT/examples/mariadb.toml" > "$DEMO/mailroom.toml"
"$BIN/mailroomd" --config "$DEMO/mailroom.toml" --check-config
"$BIN/mailroomd" --config "$DEMO/mailroom.toml" &
mailroomd_pid=$!
echo "mailroomd running (pid $mailroomd_pid): SMTP 2525, submission 2587, IMAP 2143, POP3 2110. Ctrl-C stops."
wait "$mailroomd_pid"
