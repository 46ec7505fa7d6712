#!/usr/bin/python3
"""Outbound relay throughput: mailroomd vs Postfix relaying the same messages to one sink.

Postfix's `smtp-source` sends COUNT messages of SIZE bytes to the server under test on its
MX port, from a network allowed to relay (mailroomd: [smtp] relay_networks; Postfix:
mynetworks); the server queues each message durably (fsync before 250 on both sides) and
delivers it over SMTP to Postfix's `smtp-sink`, which counts what it received. The clock runs
from the first connection of smtp-source until the sink has every message. Destination
domains: 1 or 50 (d0.test ... d49.test), each routed to its own loopback address of the sink
([127.0.1.N]:port: a next hop per domain on both sides, so per-destination concurrency limits
apply the same way). No DNS, no TLS on either side (smtp-sink offers no STARTTLS).

A deferred queue must not slow local mail: mailroomd's local delivery rate (smtp-source to a
local mailbox, until every message is in its index) is measured with an empty queue, then
again after --deferred messages (default 100,000) were queued for a next hop that refuses
connections (each tried once, now waiting for its retry). The RSS growth over those deferred
messages, divided by their number, is the memory per queued message (Postfix keeps its queue
in files; its processes do not grow with it).

    sudo flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/outbound/outbound_bench.py \
        --bin build/release/bin [--count 2000] [--senders 20]

Needs root (Postfix), postfix (smtp-source, smtp-sink).
"""
import argparse
import glob
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import make_tls  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hop(i):
    return f"127.0.1.{i + 1}"


class Sink:
    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.proc = None
        self.out = os.path.join(base, "sink.out")

    def start(self):
        self.proc = subprocess.Popen([SMTP_SINK, "-u", "nobody", "-c", f"0.0.0.0:{self.port}",
                                      "4096"], stdout=open(self.out, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        time.sleep(0.3)

    def count(self):
        with open(self.out, "rb") as f:
            f.seek(max(0, os.path.getsize(self.out) - 200))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


class Mailroomd:
    name = "mailroomd"

    def __init__(self, bindir, base, sink_port, domains):
        self.bindir, self.base = bindir, base
        self.port = free_port()
        self.data = os.path.join(base, "data")
        os.makedirs(self.data)
        ca, cert, key = make_tls(os.path.join(base, "tls"))
        transports = "\n".join(f'"d{i}.test" = "[{hop(i)}]:{sink_port}"' for i in range(domains))
        self.config = os.path.join(base, "mailroom.toml")
        with open(self.config, "w") as f:
            f.write(f"""[server]
data_dir = "{self.data}"
hostname = "relay.bench.test"
[log]
level = "warn"
[tls]
certificate = "{cert}"
private_key = "{key}"
[smtp]
relay_networks = ["127.0.0.0/8"]
[mailauth]
enabled = false
[dns]
servers = ["127.0.0.1:9"]
[outbound]
connect_timeout = 5
[outbound.transports]
{transports}
"held.test" = "[127.0.0.1]:9"
[[listener]]
name = "smtp"
protocol = "smtp"
address = "127.0.0.1"
port = {self.port}
tls = "none"
""")
        self.proc = None

    def ctl(self, *args):
        subprocess.run([os.path.join(self.bindir, "mailroomctl"), "--config", self.config,
                        *args], check=True, capture_output=True)

    def start(self):
        self.ctl("domain", "add", "bench.test")
        self.ctl("user", "add", "user@bench.test", "--password", "bench-password-1")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "mailroomd"), "--config",
                                      self.config], stdout=open(os.path.join(self.base, "log"), "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_port(self.port)

    def local_delivered(self):
        found = glob.glob(os.path.join(self.data, "mail", "*", "index.db"))
        if not found:
            return 0
        with sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True, timeout=10) as db:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(60)
            self.proc = None


class PostfixRelay:
    name = "postfix"

    def __init__(self, base, sink_port, domains):
        self.base = base
        self.port = free_port()
        etc = os.path.join(base, "etc")
        for d in ("etc", "spool", "lib", "log"):
            os.makedirs(os.path.join(base, d))
        shutil.chown(os.path.join(base, "lib"), "postfix")
        os.chmod(base, 0o755)
        with open(os.path.join(etc, "transport"), "w") as f:
            for i in range(domains):
                f.write(f"d{i}.test smtp:[{hop(i)}]:{sink_port}\n")
            f.write("held.test smtp:[127.0.0.1]:9\n")
        daemons = "/usr/lib/postfix/sbin"
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
config_directory = {etc}
queue_directory = {base}/spool
data_directory = {base}/lib
command_directory = /usr/sbin
daemon_directory = {daemons}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-outbound-bench
maillog_file = {base}/log/postfix.log
maillog_file_prefixes = {base}/log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.bench.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
transport_maps = texthash:{etc}/transport
smtp_tls_security_level = none
smtp_host_lookup = native
disable_dns_lookups = yes
""")
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        # Postfix re-reads files changed in the last second (slowly): date them back.
        past = time.time() - 120
        for name in os.listdir(etc):
            os.utime(os.path.join(etc, name), (past, past))
        self.etc = etc

    def start(self):
        # Postfix prints why it will not start only to a terminal.
        p = subprocess.run(["script", "-qec", f"/usr/sbin/postfix -c {self.etc} start",
                            "/dev/null"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("postfix did not start: " + p.stdout + p.stderr)
        wait_port(self.port)

    def stop(self):
        subprocess.run(["/usr/sbin/postfix", "-c", self.etc, "stop"], capture_output=True)


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def send(port, count, senders, size, domains):
    """smtp-source processes, one per domain, COUNT messages in all."""
    procs = []
    per = max(1, count // domains)
    conc = max(1, senders // domains)
    for i in range(domains):
        procs.append(subprocess.Popen(
            [SMTP_SOURCE, "-m", str(per), "-s", str(conc), "-l", str(size), "-f",
             "sender@bench.test", "-t", f"user@d{i}.test", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            print("smtp-source:", err.decode(errors="replace"), file=sys.stderr)
    return per * domains


def run_cell(server, sink, count, senders, size, domains, timeout=900):
    before = sink.count()
    t0 = time.perf_counter()
    sent = send(server.port, count, senders, size, domains)
    accepted = time.perf_counter() - t0
    deadline = time.time() + timeout
    while sink.count() - before < sent and time.time() < deadline:
        time.sleep(0.02)
    total = time.perf_counter() - t0
    got = sink.count() - before
    return {"sent": sent, "received": got, "seconds": total, "rate": got / total,
            "accept_rate": sent / accepted}


def local_rate(server, count, senders, size):
    """Local deliveries per second, from the first connection until all are in the index."""
    before = server.local_delivered()
    t0 = time.perf_counter()
    subprocess.run([SMTP_SOURCE, "-m", str(count), "-s", str(senders), "-l", str(size), "-f",
                    "sender@bench.test", "-t", "user@bench.test", f"127.0.0.1:{server.port}"],
                   check=True, capture_output=True)
    while server.local_delivered() - before < count:
        time.sleep(0.02)
    return count / (time.perf_counter() - t0)


def deferred_queue(server, count, size, senders):
    """(local rate with an empty queue, with `count` deferred, RSS bytes per deferred message)."""
    empty = max(local_rate(server, 2000, senders, size) for _ in range(3))
    time.sleep(1)
    before = server.rss_kib()
    subprocess.run([SMTP_SOURCE, "-m", str(count), "-s", "20", "-l", str(size), "-f",
                    "sender@bench.test", "-t", "user@held.test", f"127.0.0.1:{server.port}"],
                   check=True, capture_output=True)
    time.sleep(10)  # every one tried once (connection refused), now waiting for its retry
    after = server.rss_kib()
    full = max(local_rate(server, 2000, senders, size) for _ in range(3))
    return empty, full, (after - before) * 1024 / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--senders", type=int, default=20)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--deferred", type=int, default=100000,
                    help="deferred messages for the local-rate and memory figures (0: skip)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (Postfix)")
    base = tempfile.mkdtemp(prefix="outbound-bench-")
    os.chmod(base, 0o755)  # Postfix's unprivileged daemons must traverse it
    sink = Sink(base)
    sink.start()
    results = []
    try:
        for domains in (1, 50):
            for kind in ("mailroomd", "postfix"):
                d = os.path.join(base, f"{kind}-{domains}")
                os.makedirs(d)
                server = (Mailroomd(args.bin, d, sink.port, domains) if kind == "mailroomd"
                          else PostfixRelay(d, sink.port, domains))
                server.start()
                try:
                    run_cell(server, sink, min(200, args.count), args.senders, args.size,
                             domains)  # warm-up
                    best = None
                    for _ in range(args.rounds):
                        r = run_cell(server, sink, args.count, args.senders, args.size, domains)
                        if best is None or r["rate"] > best["rate"]:
                            best = r
                    best.update(server=kind, domains=domains)
                    results.append(best)
                    print(f"{kind:10s} domains={domains:3d} {best['received']}/{best['sent']} "
                          f"in {best['seconds']:.2f} s: {best['rate']:.0f} msg/s relayed "
                          f"(accepted at {best['accept_rate']:.0f} msg/s)", flush=True)
                    if kind == "mailroomd" and domains == 1 and args.deferred:
                        empty, full, per = deferred_queue(server, args.deferred, args.size,
                                                          args.senders)
                        print(f"mailroomd  local delivery {empty:.0f} msg/s with an empty "
                              f"queue, {full:.0f} msg/s with {args.deferred} deferred "
                              f"({full / empty:.2f}x); memory per deferred message "
                              f"{per:.0f} bytes", flush=True)
                finally:
                    server.stop()
        print("\nratio (mailroomd / postfix, relayed msg/s):")
        for domains in (1, 50):
            m = next(r for r in results if r["server"] == "mailroomd" and r["domains"] == domains)
            p = next(r for r in results if r["server"] == "postfix" and r["domains"] == domains)
            print(f"  {domains:3d} domain(s): {m['rate']:.0f} / {p['rate']:.0f} = "
                  f"{m['rate'] / p['rate']:.2f}x")
    finally:
        sink.stop()
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
