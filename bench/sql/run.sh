#!/usr/bin/env bash
# MariaDB bench: starts a throwaway mariadbd, loads ACCOUNTS accounts through the shipped schema
# and LOG_ROWS delivery-log rows (generated server-side with the SEQUENCE engine), then runs
# sql_bench: resolutions/s and logins/s with a warm pool, recall search latency (median, p99).
#   bench/sql/run.sh [BIN_DIR]      env: ACCOUNTS (100000) LOG_ROWS (10000000) THREADS (4)
#                                        BENCH_SECONDS (10) PORT (13307) BENCH_DIR KEEP=1
# Loading 10M log rows with their 9 indexes takes a while (minutes on 2 cores); the data dir is
# kept with KEEP=1 and reused on the next run when the row counts match.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
ACCOUNTS=${ACCOUNTS:-100000}; LOG_ROWS=${LOG_ROWS:-10000000}
THREADS=${THREADS:-4}; SECONDS_=${BENCH_SECONDS:-10}; PORT=${PORT:-13307}
DIR=${BENCH_DIR:-/tmp/mr-sql-bench}
export MARIADB_DB=mailroom MARIADB_USER=mailroom MARIADB_PW=secret INNODB_BUFFER_POOL=${INNODB_BUFFER_POOL:-512M}
"$ROOT/scripts/mariadb/mariadb-server.sh" start "$DIR" "$PORT"
trap '"$ROOT/scripts/mariadb/mariadb-server.sh" stop "$DIR"; [ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"' EXIT
sql() { /usr/bin/mariadb --no-defaults -uroot --socket="$DIR/mysqld.sock" mailroom "$@"; }
sql < "$ROOT/schema/sql/mariadb/001_directory.sql"
sql < "$ROOT/schema/sql/mariadb/002_delivery_log.sql"
have=$(sql -N -e "SELECT COUNT(*) FROM accounts")
if [ "$have" != "$ACCOUNTS" ]; then
  t0=$(date +%s)
  sql -e "DELETE FROM accounts; INSERT IGNORE INTO domains (name) VALUES ('example.com');
    INSERT INTO accounts (id, login, address, display_name, password_hash)
    SELECT CONCAT('id-', seq), CONCAT('user', seq), CONCAT('user', seq, '@example.com'),
           CONCAT('User ', seq),
           CONCAT('{SSHA512}', REPLACE(TO_BASE64(CONCAT(UNHEX(SHA2(CONCAT('pw', seq, 'saltsalt'), 512)),
                                                        'saltsalt')), '\n', ''))
    FROM seq_0_to_$((ACCOUNTS - 1));"
  echo "loaded $ACCOUNTS accounts in $(( $(date +%s) - t0 ))s"
fi
have=$(sql -N -e "SELECT COUNT(*) FROM delivery_log")
if [ "$have" != "$LOG_ROWS" ]; then
  t0=$(date +%s)
  sql -e "TRUNCATE delivery_log"
  # Bulk load: rows first, then the secondary indexes of 002_delivery_log.sql in one ALTER
  # (InnoDB builds each index by sorting, several times faster than row-by-row maintenance).
  keys=$(sed -n 's/^ *KEY \([a-z_]*\) \(.*\),\{0,1\}$/\1|\2/p' "$ROOT/schema/sql/mariadb/002_delivery_log.sql" | sed 's/,$//')
  drop=""; add=""
  while IFS='|' read -r name cols; do
    [ -n "$name" ] || continue
    drop+="${drop:+, }DROP KEY IF EXISTS $name"; add+="${add:+, }ADD KEY IF NOT EXISTS $name $cols"
  done <<< "$keys"
  sql -e "ALTER TABLE delivery_log $drop"
  chunk=1000000
  for ((start = 0; start < LOG_ROWS; start += chunk)); do
    end=$(( start + chunk < LOG_ROWS ? start + chunk : LOG_ROWS ))
    sql -e "INSERT INTO delivery_log (queue_id, message_id, envelope_sender, header_from, subject,
        recipient, final_address, account_id, mailbox, uid_validity, uid, size, time, result, detail)
      SELECT CONCAT('q', seq DIV 3), CONCAT('m', seq, '@gen'),
             CONCAT('s', seq % 50000, '@partner', seq % 200, '.example'), 'Sender',
             CONCAT('Subject ', seq % 10007),
             CONCAT('user', seq % 100000, '@d', seq % 1000, '.example'),
             CONCAT('user', seq % 100000, '@d', seq % 1000, '.example'),
             CONCAT('id-', seq % 100000), 'INBOX', 1, seq % 4000000000, 1000, 1700000000 + seq,
             'delivered', ''
      FROM seq_${start}_to_$((end - 1));"
    echo "  delivery_log: $end rows ($(( $(date +%s) - t0 ))s)"
  done
  t1=$(date +%s)
  sql -e "ALTER TABLE delivery_log $add"
  echo "  delivery_log: secondary indexes built in $(( $(date +%s) - t1 ))s"
  sql -e "ANALYZE TABLE delivery_log" > /dev/null
  echo "loaded $LOG_ROWS delivery-log rows in $(( $(date +%s) - t0 ))s"
fi
"$BIN/sql_bench" "$PORT" "$ACCOUNTS" "$LOG_ROWS" "$THREADS" "$SECONDS_"
