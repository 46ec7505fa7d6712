#!/usr/bin/python3
"""Durable SMTP delivery throughput: mailroomd vs Postfix -> Dovecot LMTP, same run.

For each message size (1 KB, 10 KB, 100 KB) and each number of concurrent senders (1, 10, 100)
Postfix's `smtp-source` sends COUNT messages to one local mailbox, to mailroomd and then to the
Postfix anchor (bench/anchors/postfix-lmtp), cell by cell, both servers running side by side.
The clock runs from the start of smtp-source until every message is in the recipient's mailbox
(end-to-end and durable at both ends: mailroomd's index commit is fsync'd after the message
file; Dovecot fsyncs the Maildir file before linking it into new/). The rate at which 250
replies came back (durable in the spool/queue) is shown too. The disk's per-file fsync rate is
measured in the same run, before and after, as the ceiling of a one-fsync-per-message design.

    sudo flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/smtp/smtp_bench.py \
        --bin build/release/bin [--quick]

Needs root (the anchor runs Postfix and Dovecot), postfix (smtp-source) and dovecot-lmtpd.
Default run: 200/500/1000 messages at 1/10/100 senders for each size and server.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import sqlite3
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
RCPT = "testuser1@example.com"


def fsync_rate(directory, n=300, dir_fsync=False):
    """New 4 KiB files written and fsync'd one by one (optionally also the directory), per s."""
    d = tempfile.mkdtemp(prefix="fsync-", dir=directory)
    data = os.urandom(4096)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.perf_counter()
    for i in range(n):
        fd = os.open(os.path.join(d, f"f{i}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        if dir_fsync:
            os.fsync(dfd)
    rate = n / (time.perf_counter() - t0)
    os.close(dfd)
    shutil.rmtree(d)
    return rate


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailroomd:
    name = "mailroomd"

    def __init__(self, bindir, base, extra_config="", name="mailroomd"):
        self.name = name
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
""" + extra_config)
        self.proc = None
        self.index = None

    def ctl(self, *args):
        out = subprocess.run([os.path.join(self.bindir, "mailroomctl"), "--config", self.config,
                              "--json", *args], capture_output=True, text=True, check=True)
        return json.loads(out.stdout) if out.stdout.strip() else None

    def start(self):
        self.ctl("domain", "add", "example.com")
        self.ctl("user", "add", RCPT, "--password", "pass")
        self.log = open(os.path.join(self.base, "mailroomd.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "mailroomd"), "--config",
                                      self.config], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        ports = os.path.join(self.data, "run", "listeners.json")
        for _ in range(12000):  # 10 min: libclamav loads a large database before listening
            if self.proc.poll() is not None:
                raise RuntimeError(f"mailroomd exited (see {self.base}/mailroomd.log)")
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
        # Committed rows of the user's index (read-only; the same count `mailroomctl mailbox
        # list` reports, without a process per poll).
        if self.index is None:
            found = glob.glob(os.path.join(self.data, "mail", "*", "index.db"))
            if not found:
                return 0
            self.index = sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True, timeout=10)
        try:
            row = self.index.execute(
                "SELECT count(*) FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id "
                "WHERE b.name = 'INBOX'").fetchone()
        except sqlite3.OperationalError:
            # The index file exists before its tables (first delivery): nothing delivered yet.
            self.index.close()
            self.index = None
            return 0
        return row[0]

    def stop(self):
        if self.index is not None:
            self.index.close()
            self.index = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


class Anchor:
    name = "postfix+dovecot"

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.lmtp = free_port()
        self.started = False

    def start(self):
        env = dict(os.environ, SMTP_PORT=str(self.port), LMTP_PORT=str(self.lmtp))
        os.makedirs(self.base, exist_ok=True)
        # Output to a file, never a pipe: the daemons inherit it (see start.sh).
        with open(os.path.join(self.base, "start.out"), "w") as out:
            self.started = True
            p = subprocess.run([os.path.join(ANCHOR, "start.sh"), self.base], env=env,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               timeout=120)
        if p.returncode != 0:
            with open(os.path.join(self.base, "start.out")) as f:
                raise RuntimeError("anchor did not start: " + f.read())

    def delivered(self):
        n = 0
        for sub in ("new", "cur"):
            d = os.path.join(self.base, "mail", "testuser1", "Maildir", sub)
            if os.path.isdir(d):
                n += len(os.listdir(d))
        return n

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(ANCHOR, "stop.sh"), self.base],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            self.started = False


def run_cell(server, count, senders, size, timeout=600, message_file=None):
    """smtp-source sends `count` messages over `senders` sessions: generated text of `size`
    octets, or the prepared message in `message_file` (header and body, LF line ends)."""
    before = server.delivered()
    body = ["-F", message_file] if message_file else ["-l", str(size)]
    t0 = time.perf_counter()
    p = subprocess.run([SMTP_SOURCE, "-d", "-m", str(count), "-s", str(senders),
                        *body, "-f", "bench@remote.example",
                        "-t", RCPT, "-M", "client.example",
                        f"127.0.0.1:{server.port}"], capture_output=True, text=True)
    t1 = time.perf_counter()
    if p.returncode != 0:
        print("smtp-source:", p.stdout, p.stderr, file=sys.stderr)
    want = before + count
    n = server.delivered()
    deadline = time.perf_counter() + timeout
    while n < want and time.perf_counter() < deadline:
        time.sleep(0.01)
        n = server.delivered()
    t2 = time.perf_counter()
    return {"acked_rate": count / (t1 - t0), "e2e_rate": (n - before) / (t2 - t0),
            "delivered": n - before, "count": count}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get("MAILROOM_BIN",
                                                    os.path.join(ROOT, "build", "release", "bin")))
    ap.add_argument("--quick", action="store_true", help="1/10 of the messages")
    ap.add_argument("--sizes", default="1024,10240,102400")
    ap.add_argument("--senders", default="1,10,100")
    ap.add_argument("--no-anchor", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if not os.path.exists(SMTP_SOURCE):
        sys.exit("smtp-source not found: apt-get install postfix")
    counts = {1: 200, 10: 500, 100: 1000}
    sizes = [int(s) for s in args.sizes.split(",")]
    senders = [int(s) for s in args.senders.split(",")]
    base = tempfile.mkdtemp(prefix="smtp-bench-")
    os.chmod(base, 0o755)
    fs_before = (fsync_rate(base), fsync_rate(base, dir_fsync=True))
    servers = [Mailroomd(args.bin, os.path.join(base, "mailroom"))]
    if not args.no_anchor:
        servers.append(Anchor(os.path.join(base, "anchor")))
    results = {}
    failed = False
    try:
        for srv in servers:
            srv.start()
        for size in sizes:
            for s in senders:
                count = counts.get(s, 20 * s)
                if args.quick:
                    count = max(s, count // 10)
                for srv in servers:
                    r = run_cell(srv, count, s, size)
                    results[(srv.name, size, s)] = r
                    if r["delivered"] != count:
                        failed = True
                    print(f"{srv.name:16} size={size:>6} senders={s:>3} msgs={count:>5} "
                          f"acked/s={r['acked_rate']:8.1f} delivered/s={r['e2e_rate']:8.1f} "
                          f"delivered={r['delivered']}", flush=True)
    finally:
        for srv in servers:
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001 - best effort cleanup, keep going
                print(f"stopping {srv.name}: {e}", file=sys.stderr)
    fs_after = (fsync_rate(base), fsync_rate(base, dir_fsync=True))
    print()
    print(f"disk fsync rate, new 4 KiB file + fsync, one by one: {fs_before[0]:.0f}/s before, "
          f"{fs_after[0]:.0f}/s after; with a directory fsync each: {fs_before[1]:.0f}/s, "
          f"{fs_after[1]:.0f}/s")
    print("rates are messages fully delivered (durable in the mailbox) per second, "
          "from the first connection")
    print(f"{'size':>7} {'senders':>7} {'mailroomd msg/s':>16} {'postfix+dovecot':>16} {'ratio':>6}")
    for size in sizes:
        for s in senders:
            a = results.get(("mailroomd", size, s), {}).get("e2e_rate", 0)
            b = results.get(("postfix+dovecot", size, s), {}).get("e2e_rate", 0)
            ratio = f"{a / b:6.2f}" if b else "   n/a"
            print(f"{size:>7} {s:>7} {a:16.1f} {b:16.1f} {ratio}")
    finish(args, base, failed, {"fsync_per_s": {"before": fs_before, "after": fs_after},
                                "cells": [{"server": k[0], "size": k[1], "senders": k[2], **v}
                                          for k, v in results.items()]})


def finish(args, base, failed, results):
    """--json, --keep and the exit status, shared with scan_bench.py."""
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.keep:
        print("scratch:", base)
    else:
        shutil.rmtree(base, ignore_errors=True)
    if failed:
        sys.exit("some messages were not delivered (see above)")


if __name__ == "__main__":
    main()
