#!/usr/bin/python3
"""Durable SMTP delivery throughput: mailroomd vs Postfix -> Dovecot LMTP, same run.

For each message size (1 KB, 10 KB, 100 KB) and each number of concurrent senders (1, 10, 100)
Postfix's `smtp-source` sends COUNT messages to one local mailbox, first to mailroomd, then to
the Postfix anchor (bench/anchors/postfix-lmtp). The clock runs from the first connection until
every message is in the recipient's mailbox (end-to-end, durable at both ends); the rate at
which 250 replies came back (durable in the spool/queue) is shown too. The disk's per-file
fsync rate is measured first, as the reference a one-fsync-per-message design cannot beat.

    sudo /usr/bin/python3 bench/smtp/smtp_bench.py --bin build/release/bin [--quick]

Needs root (the anchor runs Postfix and Dovecot), postfix (smtp-source) and dovecot-lmtpd.
Default run: 200/500/1000 messages at 1/10/100 senders (a few thousand per server).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANCHOR = os.path.join(ROOT, "bench", "anchors", "postfix-lmtp")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import make_tls  # noqa: E402  (throwaway certificate for mailroomd's [tls])

SMTP_SOURCE = "/usr/sbin/smtp-source"


def fsync_rate(directory, n=200):
    """Files written and fsync'd one by one (plus the directory), per second."""
    d = tempfile.mkdtemp(dir=directory)
    data = b"x" * 1024
    t0 = time.time()
    dfd = os.open(d, os.O_RDONLY)
    for i in range(n):
        fd = os.open(os.path.join(d, f"f{i}"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.fsync(dfd)
    os.close(dfd)
    rate = n / (time.time() - t0)
    shutil.rmtree(d)
    return rate


class Mailroomd:
    def __init__(self, bindir, base):
        self.bindir = bindir
        self.base = base
        self.data = os.path.join(base, "data")
        os.makedirs(self.data)
        ca, cert, key = make_tls(os.path.join(base, "tls"))
        self.config = os.path.join(base, "mailroom.toml")
        with open(self.config, "w") as f:
            f.write(f"""[server]
data_dir = "{self.data}"
hostname = "bench.example.com"
io_threads = 2
worker_threads = 8

[log]
level = "warn"

[tls]
certificate = "{cert}"
private_key = "{key}"

[[listener]]
name = "smtp"
protocol = "smtp"
address = "127.0.0.1"
port = 0
tls = "none"

[smtp]
max_recipients = 1000
""")
        self.proc = None

    def ctl(self, *args):
        out = subprocess.run([os.path.join(self.bindir, "mailroomctl"), "--config", self.config,
                              "--json", *args], capture_output=True, text=True, check=True)
        return json.loads(out.stdout) if out.stdout.strip() else None

    def start(self):
        self.ctl("domain", "add", "example.com")
        self.ctl("user", "add", "testuser1@example.com", "--password", "pass")
        self.log = open(os.path.join(self.base, "mailroomd.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "mailroomd"), "--config",
                                      self.config], stdout=self.log, stderr=subprocess.STDOUT)
        ports = os.path.join(self.data, "run", "listeners.json")
        for _ in range(600):
            if os.path.exists(ports):
                try:
                    with open(ports) as f:
                        self.port = json.load(f)["smtp"]["port"]
                    return
                except (ValueError, KeyError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("mailroomd did not start")

    def delivered(self):
        for b in self.ctl("mailbox", "list", "testuser1@example.com")["mailboxes"]:
            if b["name"].upper() == "INBOX":
                return b["messages"]
        return 0

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(30)


class Anchor:
    def __init__(self, base):
        self.base = base
        self.port = int(os.environ.get("ANCHOR_SMTP_PORT", "10025"))
        self.lmtp = int(os.environ.get("ANCHOR_LMTP_PORT", "10024"))

    def start(self):
        env = dict(os.environ, SMTP_PORT=str(self.port), LMTP_PORT=str(self.lmtp))
        subprocess.run([os.path.join(ANCHOR, "start.sh"), self.base], check=True, env=env,
                       capture_output=True)

    def delivered(self):
        n = 0
        for sub in ("new", "cur"):
            d = os.path.join(self.base, "mail", "testuser1", "Maildir", sub)
            if os.path.isdir(d):
                n += len(os.listdir(d))
        return n

    def stop(self):
        subprocess.run([os.path.join(ANCHOR, "stop.sh"), self.base], capture_output=True)


def run_cell(server, count, senders, size, timeout=600):
    before = server.delivered()
    t0 = time.time()
    p = subprocess.run([SMTP_SOURCE, "-d", "-m", str(count), "-s", str(senders),
                        "-l", str(size), "-f", "bench@remote.example",
                        "-t", "testuser1@example.com", "-M", "client.example",
                        f"127.0.0.1:{server.port}"], capture_output=True, text=True)
    t1 = time.time()
    if p.returncode != 0:
        print("smtp-source:", p.stdout, p.stderr, file=sys.stderr)
    want = before + count
    n = server.delivered()
    deadline = time.time() + timeout
    while n < want and time.time() < deadline:
        time.sleep(0.05)
        n = server.delivered()
    t2 = time.time()
    return {"acked_rate": count / (t1 - t0), "e2e_rate": (n - before) / (t2 - t0),
            "delivered": n - before}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get("MAILROOM_BIN",
                                                    os.path.join(ROOT, "build", "release", "bin")))
    ap.add_argument("--quick", action="store_true", help="1/10 of the messages")
    ap.add_argument("--sizes", default="1024,10240,102400")
    ap.add_argument("--senders", default="1,10,100")
    ap.add_argument("--no-anchor", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(SMTP_SOURCE):
        sys.exit("smtp-source not found: apt-get install postfix")
    counts = {1: 200, 10: 500, 100: 1000}
    sizes = [int(s) for s in args.sizes.split(",")]
    senders = [int(s) for s in args.senders.split(",")]
    base = tempfile.mkdtemp(prefix="smtp-bench-")
    print(f"disk fsync rate (1 KB file + dir fsync, one by one): {fsync_rate(base):.0f} files/s")
    servers = [("mailroomd", Mailroomd(args.bin, os.path.join(base, "mailroom")))]
    if not args.no_anchor:
        servers.append(("postfix+dovecot", Anchor(os.path.join(base, "anchor"))))
    results = {}
    try:
        for name, srv in servers:
            srv.start()
            for size in sizes:
                for s in senders:
                    count = counts.get(s, 20 * s)
                    if args.quick:
                        count = max(s, count // 10)
                    r = run_cell(srv, count, s, size)
                    results[(name, size, s)] = r
                    print(f"{name:16} size={size:>6} senders={s:>3} msgs={count:>5} "
                          f"acked/s={r['acked_rate']:8.1f} delivered/s={r['e2e_rate']:8.1f} "
                          f"delivered={r['delivered']}", flush=True)
            srv.stop()
    finally:
        for _, srv in servers:
            try:
                srv.stop()
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
    print()
    print(f"{'size':>7} {'senders':>7} {'mailroomd msg/s':>16} {'postfix+dovecot':>16} {'ratio':>6}")
    for size in sizes:
        for s in senders:
            a = results.get(("mailroomd", size, s), {}).get("e2e_rate", 0)
            b = results.get(("postfix+dovecot", size, s), {}).get("e2e_rate", 0)
            ratio = f"{a / b:6.2f}" if b else "   n/a"
            print(f"{size:>7} {s:>7} {a:16.1f} {b:16.1f} {ratio}")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
