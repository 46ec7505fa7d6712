#!/usr/bin/python3
"""POP3 full-download benchmark: messages/s for downloading a 1,000-message maildrop
(USER/PASS, STAT, UIDL, RETR 1..n, QUIT without deleting) from Mailroom and from Dovecot's
POP3 (Debian 12 dovecot-pop3d, maildir) in the same run, with the same client and the same
messages, and the ratios. Needs root (Dovecot drops privileges) and dovecot-pop3d.

    /usr/bin/python3 bench/pop3/pop3_bench.py [--messages 1000] [--rounds 5]
        [--bin build/release/bin] [--no-fsync] [--dovecot-perf] [--client cpp|python|both]

Two figures per server: the session (connect to +OK for QUIT) and the download (STAT to +OK
for QUIT, so without the login). Both servers check the same password against the same
stored hash: Dovecot's passwd-file gets the Argon2id hash Mailroom stored for the account
(the rig's anchor uses PLAIN passwords, which Mailroom does not store), so the login costs
the same work on both sides. --dovecot-perf adds Dovecot in its high-performance process mode
(long-lived login processes, reusable pop3 processes).

Two clients download the same way, one after the other: bench/pop3/pop3_fetch (C++, blocking
socket, ~no cost per message: it measures the servers) and a Python raw socket reader (large
recv buffers, end found by scanning for CRLF.CRLF; its ~40 us per message of its own is a
constant that narrows every ratio). Each server gets a warm-up
download first (Dovecot builds its index and caches sizes then; Mailroom opens its index).
Mailroom appends a retrieval mark per RETR to the session's journal before sending the
message, and fsyncs the journal once a second (or every 1,000 messages) and at QUIT
(src/pop3/mark_batch.h); --no-fsync also runs it with [store] fsync = false to show what the
remaining syncs cost. Run it under the machine's bench lock with Release binaries:

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/pop3/pop3_bench.py --bin build/rel/bin
"""
import argparse
import contextlib
import json
import os
import pwd
import shutil
import socket
import sqlite3
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
    """One POP3 session; returns (login s, download s, session s, octets). Login: connect to
    +OK for PASS (the password check included); download: STAT to +OK for QUIT."""
    t0 = time.perf_counter()
    c = Client(port)
    c.cmd("USER " + user)
    c.cmd("PASS " + password)
    t1 = time.perf_counter()
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
    t2 = time.perf_counter()
    c.sock.close()
    return t1 - t0, t2 - t1, t2 - t0, total


def download_cpp(fetch, port, user, password, expect):
    """The same session by bench/pop3/pop3_fetch (C++): timed inside the client."""
    out = subprocess.run([fetch, "--port", str(port), "--user", user, "--password", password,
                          "--expect", str(expect)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    return r["login_s"], r["download_s"], r["session_s"], r["octets"]


def measure(servers, n, rounds, fetch=None):
    """Interleaves the servers round by round (a, b, a, b, ...) so that load from elsewhere on
    the machine falls on all alike; returns {name: (session msg/s, download msg/s)} of the
    median rounds. `fetch`: the C++ client instead of the Python one."""
    def one(port, user, password):
        if fetch:
            return download_cpp(fetch, port, user, password, n)
        return download(port, user, password, n)
    for _, port, user, password in servers:
        one(port, user, password)  # warm-up
    times = {name: [] for name, *_ in servers}
    octets = 0
    for _ in range(rounds):
        for name, port, user, password in servers:
            *t, octets = one(port, user, password)
            times[name].append(t)
    rates = {}
    print(f"{'server':14s} {'login ms':>9s} {'download s':>11s} {'session s':>10s} "
          f"{'download msg/s':>15s} {'session msg/s':>14s} {'MB/s':>6s}")
    for name, ts in times.items():
        login = statistics.median(t[0] for t in ts)
        dl = statistics.median(t[1] for t in ts)
        session = statistics.median(t[2] for t in ts)
        print(f"{name:14s} {login * 1e3:9.1f} {dl:11.3f} {session:10.3f} {n / dl:15.1f} "
              f"{n / session:14.1f} {octets / dl / 1e6:6.1f}", flush=True)
        rates[name] = (n / session, n / dl)
    return rates


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Dovecot's documented high-performance mode (as ../shared/rig/anchors/dovecot-perf.conf.in):
# long-lived pop3-login processes and reusable pop3 processes.
DOVECOT_PERF = """
service pop3-login {
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
}
service pop3 {
  service_count = 100
  process_min_avail = 4
}
"""


@contextlib.contextmanager
def dovecot(messages, password_hash, perf=False):
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
    if perf:
        conf += DOVECOT_PERF
    conf_path = os.path.join(scratch, "etc", "dovecot.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    with open(os.path.join(scratch, "etc", "users"), "w") as f:
        # The very hash Mailroom stores for its account: both servers check the same
        # password the same way (Argon2id; Dovecot through libsodium).
        f.write(f"testuser1:{password_hash}\n")
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
        yield ("dovecot-perf" if perf else "dovecot", port, "testuser1", "wonderland")
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
        db = sqlite3.connect(f"file:{os.path.join(m.data, 'directory.db')}?mode=ro", uri=True)
        try:
            (m.password_hash,) = db.execute(
                "SELECT password_hash FROM accounts WHERE address='alice@example.com'").fetchone()
        finally:
            db.close()
        yield m, ("mailroom" if fsync else "mailroom*", m.port("pop3"), "alice@example.com",
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
    ap.add_argument("--dovecot-perf", action="store_true",
                    help="also run Dovecot in its high-performance process mode")
    ap.add_argument("--client", choices=("cpp", "python", "both"), default="both",
                    help="which client downloads (default both, one after the other)")
    ap.add_argument("--fetch", help="pop3_fetch binary (default: BIN/pop3_fetch)")
    a = ap.parse_args()
    if a.bin:
        os.environ["MAILROOM_BIN"] = os.path.abspath(a.bin)
    fetch = a.fetch or os.path.join(os.environ.get("MAILROOM_BIN", ""), "pop3_fetch")
    if a.client != "python" and not os.access(fetch, os.X_OK):
        sys.exit(f"{fetch} not found: cmake --build <dir> --target pop3_fetch, or --client python")
    if not os.path.exists("/usr/sbin/dovecot"):
        sys.exit("dovecot-pop3d is not installed (apt-get install dovecot-pop3d)")
    messages = corpus.make_messages(a.messages, seed=11)
    print(f"{len(messages)} messages, {sum(map(len, messages)) / 1e6:.1f} MB, "
          f"{a.rounds} interleaved rounds after a warm-up", flush=True)
    with contextlib.ExitStack() as stack:
        m, first = stack.enter_context(mailroom(messages, fsync=True))
        servers = [first]
        if a.no_fsync:
            servers.append(stack.enter_context(mailroom(messages, fsync=False))[1])
        servers.append(stack.enter_context(dovecot(messages, m.password_hash)))
        if a.dovecot_perf:
            servers.append(stack.enter_context(dovecot(messages, m.password_hash, perf=True)))
        clients = []
        if a.client in ("cpp", "both"):
            clients.append(("C++ client (pop3_fetch)", fetch))
        if a.client in ("python", "both"):
            clients.append(("Python client", None))
        results = []
        for label, f in clients:
            print(f"-- {label}", flush=True)
            results.append((label, measure(servers, len(messages), a.rounds, f)))
    print(f"password check on both sides: the same stored hash ({m.password_hash.split('$')[0]}"
          f"${m.password_hash.split('$')[3]})")
    for label, rates in results:
        for peer in ("dovecot", "dovecot-perf"):
            if peer not in rates:
                continue
            for name in ("mailroom", "mailroom*"):
                if name in rates:
                    print(f"{label}: ratio {name}/{peer}: session "
                          f"{rates[name][0] / rates[peer][0]:.2f}, download "
                          f"{rates[name][1] / rates[peer][1]:.2f} (target >= 1.5)")


if __name__ == "__main__":
    main()
