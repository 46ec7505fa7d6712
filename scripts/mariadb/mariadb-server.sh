#!/usr/bin/env bash
# A throwaway MariaDB server for demos and tests (no system service, no /etc/mysql).
#   mariadb-server.sh start DIR [PORT]   install a datadir (first time), start on 127.0.0.1:PORT,
#                                        create database + user
#   mariadb-server.sh stop DIR
#   mariadb-server.sh sql DIR            a root client on the unix socket (reads stdin)
# Env: MARIADB_DB (mailroom), MARIADB_USER (mailroom), MARIADB_PW (secret). PORT default 3307.
# Needs: apt-get install mariadb-server mariadb-client (the package's own server may stay off).
set -euo pipefail

die() { echo "mariadb-server.sh: $*" >&2; exit 1; }
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop|sql DIR [PORT]"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=${3:-3307}
db=${MARIADB_DB:-mailroom}; user=${MARIADB_USER:-mailroom}; pw=${MARIADB_PW:-secret}
sock=$dir/mysqld.sock
client=(/usr/bin/mariadb --no-defaults -uroot --socket="$sock")

case $cmd in
start)
  if [ -s "$dir/mariadbd.pid" ] && kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null; then
    die "already running (pid $(cat "$dir/mariadbd.pid"))"
  fi
  [ ${#sock} -lt 100 ] || die "socket path too long: $sock (use a shorter DIR)"
  runas=()
  if [ "$(id -u)" = 0 ]; then
    # mariadbd refuses to run as root without --user: use the package's mysql account.
    chmod 755 "$dir"; chown mysql:mysql "$dir"
    runas=(--user=mysql)
  fi
  if [ ! -d "$dir/data/mysql" ]; then
    # --no-defaults must come first: ignore /etc/mysql/* (it points at /run/mysqld).
    /usr/bin/mariadb-install-db --no-defaults "${runas[@]}" --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      > "$dir/install-db.log" 2>&1 || { cat "$dir/install-db.log" >&2; die "mariadb-install-db failed"; }
  fi
  setsid /usr/sbin/mariadbd --no-defaults "${runas[@]}" --datadir="$dir/data" \
    --socket="$sock" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size="${INNODB_BUFFER_POOL:-128M}" --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
    < /dev/null > "$dir/stdout.log" 2>&1 &
  for _ in $(seq 1 150); do
    "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$dir/error.log" >&2; die "mariadbd not ready"; }
  "${client[@]}" <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL ON \`$db\`.* TO '$user'@'127.0.0.1';
GRANT ALL ON \`$db\`.* TO '$user'@'localhost';
SQL
  echo "mariadbd up on 127.0.0.1:$port (pid $(cat "$dir/mariadbd.pid")), database $db, user $user"
  ;;
stop)
  if [ -s "$dir/mariadbd.pid" ]; then
    pid=$(cat "$dir/mariadbd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$dir/mariadbd.pid"
  fi
  ;;
sql)
  "${client[@]}" "$db"
  ;;
*) die "usage: $0 start|stop|sql DIR [PORT]" ;;
esac
