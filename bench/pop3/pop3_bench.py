#!/usr/bin/python3
"""POP3 full-download benchmark: messages/s for downloading a 1,000-message maildrop
(USER/PASS, STAT, UIDL, RETR 1..n, QUIT without deleting) from Mailroom and from Dovecot's
POP3 (Debian 12 dovecot-pop3d, maildir) in the same run, with the same client and the same
messages, and the ratio. Needs root (Dovecot drops privileges) and dovecot-pop3d.

    /usr/bin/python3 bench/pop3/pop3_bench.py [--messages 1000] [--rounds 5]
        [--bin build/release/bin] [--no-fsync]

The client is a raw socket reader (large recv buffers, end found by scanning for CRLF.CRLF)
so the server, not Python's line reader, is what is measured. Each server gets a warm-up
download first (Dovecot builds its index and caches sizes then; Mailroom opens its index).
Mailroom commits a retrieval mark per RETR before sending the message, without fsync, and
fsyncs them once a second (or every 1,000 messages) and at QUIT (src/pop3/mark_batch.h);
--no-fsync also runs it with [store] fsync = false to show what the remaining syncs cost.
Run it under the machine's bench lock with Release binaries:

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/pop3/pop3_bench.py --bin build/rel/bin
"""
import argparse
import contextlib
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "pop3"))
import corpus  # noqa: E402
from harness import Mailroom  # noqa: E402


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.status()

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError("connection closed")
        self.buf += data

    def status(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        if not line.startswith(b"+OK"):
            raise RuntimeError(line.decode("utf-8", "replace"))
        return line

    def multiline(self):
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                body, self.buf = b"", self.buf[3:]
                return body
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            start = max(0, len(self.buf) - 4)
            self._fill()

    def cmd(self, text, multi=False):
        self.sock.sendall(text.encode() + b"\r\n")
        line = self.status()
        return (line, self.multiline()) if multi else (line, None)


def download(port, user, password, expect):
    t0 = time.perf_counter()
    c = Client(port)
    c.cmd("USER " + user)
    c.cmd("PASS " + password)
    line, _ = c.cmd("STAT")
    n = int(line.split()[1])
    if n != expect:
        raise RuntimeError(f"expected {expect} messages, server says {n}")
    c.cmd("UIDL", multi=True)
    total = 0
    for i in range(1, n + 1):
        _, body = c.cmd(f"RETR {i}", multi=True)
        total += len(body)
    c.cmd("QUIT")
    c.sock.close()
    return time.perf_counter() - t0, total


def measure(servers, n, rounds):
    """Interleaves the servers round by round (a, b, a, b, ...) so that load from elsewhere on
    the machine falls on both alike; returns {name: msg/s of the median round}."""
    for _, port, user, password in servers:
        download(port, user, password, n)  # warm-up
    times = {name: [] for name, *_ in servers}
    octets = 0
    for _ in range(rounds):
        for name, port, user, password in servers:
            t, octets = download(port, user, password, n)
            times[name].append(t)
    rates = {}
    for name, ts in times.items():
        best, med = min(ts), statistics.median(ts)
        print(f"{name:10s} median {med:7.3f} s  best {best:7.3f} s  "
              f"{n / med:9.1f} msg/s (median)  {octets / med / 1e6:7.1f} MB/s", flush=True)
        rates[name] = n / med
    return rates


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def dovecot(messages):
    scratch = tempfile.mkdtemp(prefix="pop3-bench-dovecot-")
    os.chmod(scratch, 0o755)
    mail_user = "mail"
    pw = pwd.getpwnam(mail_user)
    port = free_port()
    for d in ("etc", "run", "state", "log", "mail"):
        os.makedirs(os.path.join(scratch, d))
    with open(os.path.join(HERE, "dovecot-pop3.conf.in")) as f:
        conf = (f.read().replace("@SCRATCH@", scratch).replace("@POP3_PORT@", str(port))
                .replace("@MAIL_USER@", mail_user))
    conf_path = os.path.join(scratch, "etc", "dovecot.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    with open(os.path.join(scratch, "etc", "users"), "w") as f:
        f.write("testuser1:pass\n")
    # Deliver into the maildir as an MDA would: one file per message in new/ (CRLF -> LF,
    # maildir's local convention; Dovecot converts back and counts CRLF sizes).
    maildir = os.path.join(scratch, "mail", "testuser1", "Maildir")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    now = int(time.time())
    for i, m in enumerate(messages):
        with open(os.path.join(maildir, "new", f"{now}.M{i}P1.bench"), "wb") as f:
            f.write(m.replace(b"\r\n", b"\n"))
    for dirpath, dirnames, filenames in os.walk(os.path.join(scratch, "mail")):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), pw.pw_uid, pw.pw_gid)
    os.chown(os.path.join(scratch, "mail"), pw.pw_uid, pw.pw_gid)
    subprocess.run(["/usr/sbin/dovecot", "-c", conf_path], check=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield ("dovecot", port, "testuser1", "pass")
    finally:
        subprocess.run(["/usr/sbin/dovecot", "-c", conf_path, "stop"], check=False)
        time.sleep(0.5)
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def mailroom(messages, fsync):
    extra = "" if fsync else "[store]\nfsync = false\n"
    m = Mailroom(listeners={"pop3": ("pop3", "none")}, extra_config=extra)
    # Keep the server quiet: debug logging of every command would measure the logger.
    with open(m.config_path) as f:
        cfg = f.read().replace('level = "debug"', 'level = "warn"')
    with open(m.config_path, "w") as f:
        f.write(cfg)
    try:
        m.seed_demo()
        fd, path = tempfile.mkstemp(suffix=".mbox")
        os.close(fd)
        corpus.write_mboxrd(path, messages)
        m.ctl("import", "mbox", "alice@example.com", "INBOX", path, json_output=False)
        os.unlink(path)
        m.start()
        yield ("mailroom" if fsync else "mailroom*", m.port("pop3"), "alice@example.com",
               "wonderland")
    finally:
        m.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bin", help="directory with mailroomd and mailroomctl")
    ap.add_argument("--no-fsync", action="store_true",
                    help="also run Mailroom with [store] fsync = false")
    a = ap.parse_args()
    if a.bin:
        os.environ["MAILROOM_BIN"] = os.path.abspath(a.bin)
    if not os.path.exists("/usr/sbin/dovecot"):
        sys.exit("dovecot-pop3d is not installed (apt-get install dovecot-pop3d)")
    messages = corpus.make_messages(a.messages, seed=11)
    print(f"{len(messages)} messages, {sum(map(len, messages)) / 1e6:.1f} MB, "
          f"{a.rounds} interleaved rounds after a warm-up", flush=True)
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(mailroom(messages, fsync=True))]
        if a.no_fsync:
            servers.append(stack.enter_context(mailroom(messages, fsync=False)))
        servers.append(stack.enter_context(dovecot(messages)))
        rates = measure(servers, len(messages), a.rounds)
    print(f"ratio mailroom/dovecot = {rates['mailroom'] / rates['dovecot']:.2f} (target >= 1.5)")
    if a.no_fsync:
        print(f"ratio mailroom*/dovecot = {rates['mailroom*'] / rates['dovecot']:.2f} "
              "([store] fsync = false)")


if __name__ == "__main__":
    main()
