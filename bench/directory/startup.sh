#!/usr/bin/env bash
# Startup time and resident memory of mailroomd with N accounts in the local directory.
#   bench/directory/startup.sh [N] [bin dir]      (default 200000, build/release/bin)
# Prints: import time, startup time (exec -> listeners ready), RSS after start, RSS after
# 100 logins spread over the directory.
set -euo pipefail
n=${1:-200000}
bin=${2:-build/release/bin}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/m.toml" <<TOML
[server]
data_dir = "$work/data"
[log]
level = "warn"
[auth]
allow_plaintext_on_loopback = true
[[listener]]
name = "imap"
protocol = "imap"
port = 0
TOML
/usr/bin/python3 "$root/bench/directory/gen_accounts.py" "$n" > "$work/accounts.tsv"
t0=$(date +%s.%N)
"$bin/mailroomctl" --config "$work/m.toml" user import --file "$work/accounts.tsv" --create-domains >/dev/null
t1=$(date +%s.%N)
echo "import of $n accounts: $(echo "$t1 - $t0" | bc) s"
ls -la "$work/data/directory.db" | awk '{print "directory.db: " $5/1048576 " MiB"}'
t0=$(date +%s.%N)
"$bin/mailroomd" --config "$work/m.toml" > "$work/out.log" 2>&1 &
pid=$!
while [ ! -f "$work/data/run/listeners.json" ]; do sleep 0.005; done
t1=$(date +%s.%N)
echo "startup (exec -> listening): $(echo "($t1 - $t0) * 1000" | bc) ms"
echo "RSS after start: $(awk '/VmRSS/{print $2 " kB"}' /proc/$pid/status)"
port=$(/usr/bin/python3 -c "import json;print(json.load(open('$work/data/run/listeners.json'))['imap']['port'])")
/usr/bin/python3 - "$port" "$n" <<'PY'
import imaplib, random, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t = time.time()
for i in random.sample(range(n), 100):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(f"user{i:06d}@example.com", "pass")
    c.logout()
print(f"100 logins over the directory: {time.time() - t:.2f} s")
PY
echo "RSS after logins: $(awk '/VmRSS/{print $2 " kB"}' /proc/$pid/status)"
