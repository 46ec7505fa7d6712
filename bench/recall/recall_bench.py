#!/usr/bin/python3
"""Mail recall at scale (issue 18): one message delivered to N mailboxes (default 10,000), each
with a realistic background, recalled through the admin API while IMAP clients and a delivery
prober keep working; and the same operation on Dovecot 2.3 (Debian) in the same run, same users,
same background, same target message, same load.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/recall/recall_bench.py \\
        --bin build/release/bin [--accounts 10000] [--background 20] [--clients 16]

Mailroom: mailroomd (Release, product defaults but a quiet log) with SMTP, LMTP, IMAP and HTTP
listeners; N accounts imported with `mailroomctl user import` (bench/directory/gen_accounts.py,
password "pass"); B background messages (tests/integration/pop3/corpus.py) delivered to every
mailbox through LMTP (--batch RCPTs per transaction, --loaders connections at once); then a
group of all N accounts (POST /api/v1/groups) and one SMTP message to it, waited for in the
delivery log. Dovecot: compare.py's anchor configuration (bench/imap/dovecot.conf.in) with a
passwd-file userdb (iterable, for doveadm -A) and an LMTP listener; the same background and
target message delivered by dovecot-lmtp with the same loader (the target in --batch RCPT
transactions: Dovecot has no groups).

Measured on each server, under the same load: C IMAP clients (Python processes) over the first
--imap-users accounts looping LOGIN, SELECT, FETCH 1:* (FLAGS ENVELOPE), STORE +/-\\Flagged,
APPEND, UID STORE \\Deleted, UID EXPUNGE, LOGOUT (ops/s from per-command completion times),
and a prober sending one small message every --probe-ms over LMTP to a random user (time from
MAIL FROM to the final reply, which LMTP gives after storage: p50/p99/max). Windows: --window s
before, during the search, during the recall, during the undo.
  search  Mailroom GET /api/v1/recall/messages?message_id=..  Dovecot doveadm search -A
  recall  Mailroom POST /api/v1/recalls                        Dovecot doveadm move -A Recalled
  undo    Mailroom POST /api/v1/recalls/{id}/undo              Dovecot doveadm move -A INBOX
Each result is checked: N copies in the search, the report's copy states (recalled/restored),
and --samples random users' INBOX searched over IMAP (SEARCH HEADER Message-ID) after each step.
Needs root (Dovecot drops privileges to `mail`), dovecot-imapd and dovecot-lmtpd
(scripts/setup --bench).
"""
import argparse
import json
import multiprocessing
import os
import pwd
import random
import re
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "imap"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "api"))
# compare.py puts tests/integration, tests/integration/pop3 and bench/pop3 on the path.
from compare import corpus, free_port, ssha512, start_dovecot, wait_port  # noqa: E402
from harness import Mailroom  # noqa: E402
from api_common import API_LISTENERS, Http, admin_token  # noqa: E402

DOMAIN = "example.com"
SENDER = "announcements@news.example"
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


def user(i):
    """The accounts of gen_accounts.py: user000000@example.com ..."""
    return f"user{i:06d}@{DOMAIN}"


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else float("nan")


# --- protocol clients -------------------------------------------------------------------------
class ImapError(Exception):
    pass


class Imap:
    """A minimal IMAP4rev1 client: one command at a time, literals skipped, LITERAL+ appends."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")
        self.n = 0
        greeting = self.f.readline()
        if not greeting.startswith(b"* OK"):
            raise ImapError(f"greeting: {greeting!r}")

    def cmd(self, text, literal=None):
        """Sends one command; returns (tagged line, untagged lines). Raises unless OK."""
        self.n += 1
        tag = b"c%d " % self.n
        out = tag + text.encode()
        if literal is not None:
            out += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(out + b"\r\n")
        untagged = []
        while True:
            line = self.f.readline()
            if not line:
                raise ImapError("connection closed")
            m = LITERAL.search(line)
            while m:
                line += self.f.read(int(m.group(1)))
                line += self.f.readline()
                m = LITERAL.search(line)
            if line.startswith(tag):
                if line[len(tag):len(tag) + 2] != b"OK":
                    raise ImapError(line.decode("utf-8", "replace").strip())
                return line, untagged
            untagged.append(line)

    def close(self):
        self.sock.close()


def login(port, address):
    c = Imap(port)
    c.cmd(f'LOGIN "{address}" "pass"')
    return c


def inbox_has(port, address, message_id):
    """Whether the user's INBOX holds a message with this Message-ID (IMAP SEARCH)."""
    c = login(port, address)
    try:
        c.cmd("SELECT INBOX")
        _, untagged = c.cmd(f'SEARCH HEADER Message-ID "<{message_id}>"')
        hits = [ln for ln in untagged if ln.startswith(b"* SEARCH")]
        found = bool(hits and hits[0].split()[2:])
        c.cmd("LOGOUT")
        return found
    finally:
        c.close()


class Lmtp:
    """LMTP (RFC 2033) client: one reply per accepted recipient after DATA."""

    def __init__(self, port, timeout=600):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")
        self.reply(220)
        self.sock.sendall(b"LHLO bench.example\r\n")
        self.pipelining = b"PIPELINING" in self.reply(250)[1].upper()
        self.last_error = None  # the last reply other than 250 to a RCPT or after DATA

    def ok(self, reply):
        if reply[0] != 250:
            self.last_error = reply
        return reply[0] == 250

    def reply(self, expect=None):
        text = b""
        while True:
            line = self.f.readline()
            if len(line) < 4:
                raise ConnectionError(f"LMTP: {line!r}")
            text += line[4:]
            if line[3:4] != b"-":
                code = int(line[:3])
                if expect and code != expect:
                    raise RuntimeError(f"LMTP: expected {expect}, got {line!r}")
                return code, text

    def send(self, sender, rcpts, message):
        """One transaction; returns the number of recipients that got 250 after DATA."""
        self.sock.sendall(b"MAIL FROM:<%s>\r\n" % sender.encode())
        self.reply(250)
        lines = [b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts]
        if self.pipelining:
            self.sock.sendall(b"".join(lines))
            accepted = sum(self.ok(self.reply()) for _ in lines)
        else:
            accepted = 0
            for ln in lines:
                self.sock.sendall(ln)
                accepted += self.ok(self.reply())
        if not accepted:
            self.sock.sendall(b"RSET\r\n")
            self.reply(250)
            return 0
        self.sock.sendall(b"DATA\r\n")
        self.reply(354)
        body = re.sub(rb"(?m)^\.", b"..", message)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.sock.sendall(body + b".\r\n")
        return sum(self.ok(self.reply()) for _ in range(accepted))

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        self.sock.close()


def deliver_all(port, messages, rcpts, batch, connections, label):
    """Every message to every recipient through LMTP: transactions of `batch` RCPTs spread over
    `connections` connections. Returns (delivered, seconds)."""
    # Recipient-batch major: every message to one batch of mailboxes, then the next batch, so
    # the mailboxes being written at once stay few (Mailroom's open index cache holds 1024).
    work = [(m, rcpts[i:i + batch]) for i in range(0, len(rcpts), batch) for m in messages]
    lock = threading.Lock()
    state = {"next": 0, "delivered": 0, "error": None}
    t0 = time.monotonic()

    def run():
        try:
            c = Lmtp(port)
            while True:
                with lock:
                    if state["next"] >= len(work) or state["error"]:
                        break
                    msg, batch_rcpts = work[state["next"]]
                    state["next"] += 1
                n = c.send(SENDER, batch_rcpts, msg)
                with lock:
                    state["delivered"] += n
                    if n < len(batch_rcpts):
                        state["error"] = state["error"] or RuntimeError(
                            f"{len(batch_rcpts) - n} of {len(batch_rcpts)} refused: "
                            f"{c.last_error}")
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            with lock:
                state["error"] = state["error"] or e

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    last = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if time.monotonic() - last >= 30:
            last = time.monotonic()
            print(f"   {label}: {state['delivered']} / {len(messages) * len(rcpts)} delivered "
                  f"({state['delivered'] / (last - t0):.0f}/s)", flush=True)
    for t in threads:
        t.join()
    if state["error"]:
        raise RuntimeError(f"{label}: {state['error']}")
    return state["delivered"], time.monotonic() - t0


def target_message(message_id):
    return (f"From: Announcements <{SENDER}>\r\nTo: All staff <all@{DOMAIN}>\r\n"
            f"Subject: Q4 salary review (sent by mistake)\r\n"
            f"Date: Sat, 05 Dec 2026 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "This message went to the whole company by mistake.\r\n" * 40).encode()


# --- the load: IMAP clients and the delivery prober (separate processes) ----------------------
def imap_client(port, users, flagged, seed, stop, out):
    """One IMAP client: whole sessions in a loop (STORE on messages 1:flagged, background only).
    Sends back the monotonic completion time of every command, and of every failed session."""
    rnd = random.Random(seed)
    done, errors = [], []
    k = 0
    while not stop.is_set():
        k += 1
        c = None
        try:
            c = Imap(port)
            c.cmd(f'LOGIN "{user(rnd.randrange(users))}" "pass"')
            done.append(time.monotonic())
            for text in ("SELECT INBOX", "FETCH 1:* (FLAGS ENVELOPE)",
                         f"STORE 1:{flagged} +FLAGS (\\Flagged)",
                         f"STORE 1:{flagged} -FLAGS (\\Flagged)"):
                c.cmd(text)
                done.append(time.monotonic())
            msg = (f"From: load@{DOMAIN}\r\nSubject: load {seed} {k}\r\n"
                   f"Message-ID: <load-{seed}-{k}@bench>\r\n\r\n" + "body line\r\n" * 40).encode()
            line, _ = c.cmd("APPEND INBOX", msg)
            done.append(time.monotonic())
            uid = re.search(rb"\[APPENDUID \d+ (\d+)\]", line)
            if not uid:
                raise ImapError(f"no APPENDUID: {line!r}")
            c.cmd(f"UID STORE {uid.group(1).decode()} +FLAGS.SILENT (\\Deleted)")
            done.append(time.monotonic())
            c.cmd(f"UID EXPUNGE {uid.group(1).decode()}")
            done.append(time.monotonic())
            c.cmd("LOGOUT")
            done.append(time.monotonic())
        except (OSError, ImapError) as e:
            errors.append((time.monotonic(), str(e)[:200]))
            time.sleep(0.05)
        finally:
            if c:
                c.close()
    out.put(("imap", done, errors))


def prober(port, users, interval, seed, stop, out):
    """One small message every `interval` s to a random user over one LMTP connection:
    (start time, seconds from MAIL FROM to the final reply, ok)."""
    rnd = random.Random(seed)
    probes = []
    c = Lmtp(port)
    next_at = time.monotonic()
    k = 0
    while not stop.is_set():
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        k += 1
        msg = (f"From: probe@news.example\r\nSubject: probe {k}\r\n"
               f"Message-ID: <probe-{seed}-{k}@bench>\r\n\r\nprobe\r\n").encode()
        t = time.monotonic()
        try:
            ok = c.send("probe@news.example", [user(rnd.randrange(users))], msg) == 1
        except (OSError, RuntimeError, ConnectionError):
            ok = False
            c.close()
            c = Lmtp(port)
        probes.append((t, time.monotonic() - t, ok))
        if next_at < time.monotonic():  # late: no burst to catch up
            next_at = time.monotonic()
    c.close()
    out.put(("probe", probes, []))


class Load:
    def __init__(self, a, imap_port, lmtp_port):
        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Event()
        self.out = ctx.Queue()
        self.procs = [ctx.Process(target=imap_client,
                                  args=(imap_port, min(a.imap_users, a.accounts),
                                        min(5, a.background), 1000 + i, self.stop, self.out))
                      for i in range(a.clients)]
        self.procs.append(ctx.Process(target=prober, args=(lmtp_port, a.accounts,
                                                           a.probe_ms / 1000, 7, self.stop,
                                                           self.out)))
        for p in self.procs:
            p.start()
        self.ops, self.errors, self.probes = [], [], []

    def finish(self):
        self.stop.set()
        for _ in self.procs:
            kind, data, errors = self.out.get(timeout=300)
            if kind == "imap":
                self.ops += data
                self.errors += errors
            else:
                self.probes = data
        for p in self.procs:
            p.join()
        self.ops.sort()

    def window(self, t0, t1):
        n = sum(1 for t in self.ops if t0 <= t < t1)
        lat = [d * 1000 for t, d, ok in self.probes if t0 <= t < t1 and ok]
        return {"seconds": t1 - t0, "ops_per_s": n / (t1 - t0) if t1 > t0 else 0.0,
                "imap_errors": sum(1 for t, _ in self.errors if t0 <= t < t1),
                "probes": len(lat),
                "probe_failures": sum(1 for t, _, ok in self.probes if t0 <= t < t1 and not ok),
                "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
                "max_ms": max(lat) if lat else float("nan")}


def measure(a, name, imap_port, lmtp_port, steps, check):
    """The load, then: a quiet window and the steps (search, recall, undo: name -> function),
    each timed, and each window's load figures kept."""
    load = Load(a, imap_port, lmtp_port)
    res = {}
    try:
        time.sleep(a.warmup)
        t0 = time.monotonic()
        time.sleep(a.window)
        res["before"] = (t0, time.monotonic())
        for step, fn in steps:
            t0 = time.monotonic()
            detail = fn()
            t1 = time.monotonic()
            res[step] = (t0, t1)
            print(f"   {name} {step}: {t1 - t0:.2f} s; {detail}", flush=True)
            check(step)
        time.sleep(1)
    finally:
        load.finish()
    out = {"times": {k: v[1] - v[0] for k, v in res.items()}}
    for k, (t0, t1) in res.items():
        out[k] = load.window(t0, t1)
        print(f"   {name} load {k}: " + json.dumps({x: round(y, 2) for x, y in out[k].items()}),
              flush=True)
    for t, e in load.errors[:5]:
        print(f"   {name} imap error: {e}", flush=True)
    return out


def check_samples(name, imap_port, mid, samples, step):
    want = step != "recall"
    found = [inbox_has(imap_port, user(i), mid) for i in samples]
    ok = all(f == want for f in found)
    print(f"   {name} after {step}: target in INBOX of {sum(found)}/{len(found)} sampled users "
          f"({'as expected' if ok else 'UNEXPECTED'})", flush=True)
    if not ok:
        raise RuntimeError(f"{name}: after {step} the sampled INBOXes are wrong: {found}")


# --- Mailroom -----------------------------------------------------------------------------------
def states(report):
    counts = {}
    for m in report["messages"]:
        for c in m["copies"]:
            counts[c["state"]] = counts.get(c["state"], 0) + 1
    return counts


def run_mailroom(a, background, samples):
    n = a.accounts
    m = Mailroom(listeners=API_LISTENERS, auth_config=f"max_expansion = {n + 100}")
    # Product defaults (README [server]: worker_threads 8; the harness uses 4), a quiet log.
    with open(m.config_path) as f:
        cfg = (f.read().replace('level = "debug"', 'level = "warn"')
               .replace("worker_threads = 4", "worker_threads = 8"))
    with open(m.config_path, "w") as f:
        f.write(cfg)
    try:
        t0 = time.monotonic()
        imp = os.path.join(m.base, "accounts.tsv")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "directory", "gen_accounts.py"),
                        str(n), DOMAIN, "--out", imp], check=True)
        subprocess.run([os.path.join(a.bin, "mailroomctl"), "--config", m.config_path, "user",
                        "import", "--file", imp, "--create-domains"], check=True,
                       stdout=subprocess.DEVNULL)
        m.start()
        print(f"== mailroom (pid {m.proc.pid}): {n} accounts imported in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        token = admin_token(m)
        rcpts = [user(i) for i in range(n)]
        done, secs = deliver_all(m.port("lmtp"), background, rcpts, a.batch, a.loaders,
                                 "mailroom background")
        print(f"   background: {done} copies by LMTP in {secs:.1f} s ({done / secs:.0f}/s)",
              flush=True)
        if done != len(background) * n:
            raise RuntimeError(f"mailroom background: {done} of {len(background) * n} delivered")

        api = Http(m, timeout=900)
        status, doc, _ = api.json("POST", "/api/v1/groups",
                                  {"address": f"all@{DOMAIN}", "policy": "anyone",
                                   "members": rcpts}, token=token)
        if status != 201:
            raise RuntimeError(f"POST /api/v1/groups: {status} {doc}")
        mid = f"recall-target-{os.getpid()}-{int(time.time())}@news.example"
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=120) as s:
            s.sendmail(SENDER, [f"all@{DOMAIN}"], target_message(mid))
        want = min(n, 10000)
        while True:
            status, doc, _ = api.json("GET", f"/api/v1/delivery-log?message_id={mid}&limit={want}",
                                      token=token)
            delivered = sum(1 for r in doc["items"] if r.get("result") == "delivered")
            if delivered >= want:
                break
            if time.monotonic() - t0 > 600:
                raise RuntimeError(f"target: {delivered} of {n} delivered after 600 s")
            time.sleep(2)
        print(f"   target: one SMTP message to all@{DOMAIN} ({n} members), {delivered} delivered "
              f"(delivery log) {time.monotonic() - t0:.1f} s after the 250", flush=True)
        api.close()

        state = {}

        def call(method, path, body, expect):
            c = Http(m, timeout=1800)
            try:
                status, doc, _ = c.json(method, path, body, token=token)
            finally:
                c.close()
            if status != expect:
                raise RuntimeError(f"{method} {path}: {status} {doc}")
            return doc

        def search():
            doc = call("GET", f"/api/v1/recall/messages?message_id={mid}&reason=bench", None, 200)
            counts = states(doc)
            if sum(counts.values()) != n:
                raise RuntimeError(f"search: {counts} copies, not {n}")
            return f"{sum(counts.values())} copies {counts}"

        def recall():
            doc = call("POST", "/api/v1/recalls", {"message_ids": [mid], "reason": "bench"}, 201)
            state["id"] = doc["recall_id"]
            counts = states(doc)
            if counts.get("recalled") != n:
                raise RuntimeError(f"recall {state['id']}: states {counts}, not {n} recalled")
            return f"{state['id']}: states {counts}"

        def undo():
            doc = call("POST", f"/api/v1/recalls/{state['id']}/undo", {"reason": "bench"}, 200)
            counts = states(doc)
            if counts.get("restored") != n:
                raise RuntimeError(f"undo: states {counts}, not {n} restored")
            return f"states {counts}"

        def check(step):
            check_samples("mailroom", m.port("imap"), mid, samples, step)

        return measure(a, "mailroom", m.port("imap"), m.port("lmtp"),
                       [("search", search), ("recall", recall), ("undo", undo)], check)
    finally:
        m.close()


# --- Dovecot ------------------------------------------------------------------------------------
USERDB_STATIC = """userdb {
  driver = static
  args = uid=@MAIL_USER@ gid=@MAIL_USER@ home=@SCRATCH@/mail/%n
}"""
# doveadm -A lists the users of an iterable userdb: the passwd-file of the passdb. LMTP looks
# users up by their full address (auth_username_format does not apply): username_format. The
# file's lines carry uid, gid and home (the static userdb's values).
USERDB_PASSWD_FILE = """userdb {
  driver = passwd-file
  args = username_format=%Ln @SCRATCH@/etc/users
}"""
DOVECOT_LMTP = """
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = @LMTP_PORT@
  }
}
namespace inbox {
  mailbox Recalled {
    auto = create
  }
}
"""


def run_dovecot(a, background, samples):
    n = a.accounts
    scratch = tempfile.mkdtemp(prefix="recall-bench-dovecot-")
    os.chmod(scratch, 0o755)
    mail_user = "mail"
    pw = pwd.getpwnam(mail_user)
    imap_port, lmtp_port = free_port(), free_port()
    for d in ("etc", "run", "state/dovecot", "log", "mail"):
        os.makedirs(os.path.join(scratch, d))
    os.chown(os.path.join(scratch, "mail"), pw.pw_uid, pw.pw_gid)
    with open(os.path.join(ROOT, "bench", "imap", "dovecot.conf.in")) as f:
        conf = f.read()
    if USERDB_STATIC not in conf or "protocols = imap\n" not in conf:
        raise RuntimeError("bench/imap/dovecot.conf.in changed: update recall_bench.py")
    conf = (conf.replace(USERDB_STATIC, USERDB_PASSWD_FILE)
            .replace("protocols = imap\n", "protocols = imap lmtp\n") + DOVECOT_LMTP)
    if a.dovecot_perf:
        with open(os.path.join(ROOT, "bench", "imap", "dovecot-perf.conf.in")) as f:
            conf += "\n" + f.read()
    conf = (conf.replace("@SCRATCH@", scratch).replace("@IMAP_PORT@", str(imap_port))
            .replace("@LMTP_PORT@", str(lmtp_port)).replace("@MAIL_USER@", mail_user))
    conf_path = os.path.join(scratch, "etc", "dovecot.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    # The same {SSHA512} scheme as the Mailroom accounts (one fixed salt: the cost is the same).
    hashed = ssha512("pass")
    with open(os.path.join(scratch, "etc", "users"), "w") as f:
        for i in range(n):
            home = f"{scratch}/mail/user{i:06d}"
            f.write(f"user{i:06d}:{hashed}:{pw.pw_uid}:{pw.pw_gid}::{home}::\n")
    doveadm = ["/usr/bin/doveadm", "-c", conf_path]
    try:
        pid = start_dovecot(conf_path, scratch, imap_port)
        wait_port(lmtp_port)
        print(f"== dovecot (pid {pid}, imap {imap_port}, lmtp {lmtp_port})", flush=True)
        rcpts = [user(i) for i in range(n)]
        done, secs = deliver_all(lmtp_port, background, rcpts, a.batch, a.loaders,
                                 "dovecot background")
        print(f"   background: {done} copies by dovecot-lmtp in {secs:.1f} s ({done / secs:.0f}/s)",
              flush=True)
        if done != len(background) * n:
            raise RuntimeError(f"dovecot background: {done} of {len(background) * n} delivered")
        mid = f"recall-target-{os.getpid()}-{int(time.time())}@news.example"
        done, secs = deliver_all(lmtp_port, [target_message(mid)], rcpts, a.batch, 1,
                                 "dovecot target")
        print(f"   target: {done} copies by dovecot-lmtp in {secs:.1f} s "
              f"({a.batch} RCPTs per transaction)", flush=True)
        if done != n:
            raise RuntimeError(f"dovecot target: {done} of {n} delivered")

        def doveadm_run(*args):
            p = subprocess.run(doveadm + list(args), capture_output=True, text=True,
                               timeout=a.doveadm_timeout)
            if p.returncode != 0:
                raise RuntimeError(f"doveadm {' '.join(args)}: exit {p.returncode}: "
                                   f"{p.stderr.strip()[:2000]}")
            return p.stdout

        def search():
            out = doveadm_run("search", "-A", "mailbox", "INBOX", "header", "Message-ID", mid)
            hits = len(out.splitlines())
            if hits != n:
                raise RuntimeError(f"doveadm search: {hits} copies, not {n}")
            return f"{hits} copies (doveadm search -A)"

        def recall():
            doveadm_run("move", "-A", "Recalled", "mailbox", "INBOX", "header", "Message-ID", mid)
            return "doveadm move -A Recalled mailbox INBOX header Message-ID: exit 0"

        def undo():
            doveadm_run("move", "-A", "INBOX", "mailbox", "Recalled", "header", "Message-ID", mid)
            return "doveadm move -A INBOX mailbox Recalled header Message-ID: exit 0"

        def check(step):
            check_samples("dovecot", imap_port, mid, samples, step)
            if step == "recall":  # where the copies went, for the sampled users
                for i in samples:
                    out = doveadm_run("search", "-u", user(i), "mailbox", "Recalled", "header",
                                      "Message-ID", mid)
                    if len(out.splitlines()) != 1:
                        raise RuntimeError(f"dovecot: {user(i)} has no copy in Recalled")

        steps = [(k, f) for k, f in (("search", search), ("recall", recall), ("undo", undo))
                 if k in a.dovecot_steps]
        return measure(a, "dovecot", imap_port, lmtp_port, steps, check)
    except Exception:
        with open(os.path.join(scratch, "log", "dovecot.log"), errors="replace") as f:
            print("   dovecot.log (tail):\n   " + "   ".join(f.readlines()[-20:]), flush=True)
        raise
    finally:
        subprocess.run(["/usr/sbin/dovecot", "-c", conf_path, "stop"], check=False)
        time.sleep(1)
        shutil.rmtree(scratch, ignore_errors=True)


# --- report -------------------------------------------------------------------------------------
def report(a, res):
    n = a.accounts
    mr, dc = res.get("mailroom"), res.get("dovecot")

    def cell(r, f):
        try:
            return f(r) if r else None
        except (KeyError, ZeroDivisionError):
            return None

    def fmt(v, digits):
        return "-" if v is None else f"{v:.{digits}f}"

    rows = [
        ("search: find the N copies (s)", lambda r: r["times"]["search"], 2),
        ("recall: take the N copies out (s)", lambda r: r["times"]["recall"], 2),
        ("recall: copies/s", lambda r: n / r["times"]["recall"], 0),
        ("undo: put the N copies back (s)", lambda r: r["times"]["undo"], 2),
        ("undo: copies/s", lambda r: n / r["times"]["undo"], 0),
    ]
    for phase in ("before", "search", "recall", "undo"):
        rows.append((f"IMAP ops/s {phase}", lambda r, p=phase: r[p]["ops_per_s"], 0))
    for phase in ("search", "recall", "undo"):
        rows.append((f"IMAP ops/s {phase} / before",
                     lambda r, p=phase: r[p]["ops_per_s"] / r["before"]["ops_per_s"], 2))
    for phase in ("before", "search", "recall", "undo"):
        for q in ("p50", "p99", "max"):
            rows.append((f"delivery {q} ms {phase}", lambda r, p=phase, q=q: r[p][f"{q}_ms"], 1))
        rows.append((f"delivery probes {phase}", lambda r, p=phase: r[p]["probes"], 0))
    print(f"\n{n} mailboxes x ({a.background} background + 1 target) messages; load: "
          f"{a.clients} IMAP clients over {min(a.imap_users, n)} users, one LMTP probe every "
          f"{a.probe_ms} ms; ratio = Mailroom / Dovecot")
    print("| operation | Mailroom | Dovecot | ratio |")
    print("|---|---|---|---|")
    for label, f, digits in rows:
        x, y = cell(mr, f), cell(dc, f)
        ratio = f"{x / y:.2f}" if x is not None and y else "-"
        print(f"| {label} | {fmt(x, digits)} | {fmt(y, digits)} | {ratio} |")
    for name, r in res.items():
        if r:
            phases = [p for p in ("before", "search", "recall", "undo") if p in r]
            errors = sum(r[p]["imap_errors"] for p in phases)
            failures = sum(r[p]["probe_failures"] for p in phases)
            print(f"{name}: IMAP session errors {errors}, failed probes {failures}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory with mailroomd and mailroomctl (Release)")
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--background", type=int, default=20, help="background messages per mailbox")
    ap.add_argument("--batch", type=int, default=500, help="RCPTs per LMTP transaction")
    ap.add_argument("--loaders", type=int, default=8, help="LMTP connections loading mailboxes")
    ap.add_argument("--clients", type=int, default=16, help="IMAP clients of the load")
    ap.add_argument("--imap-users", type=int, default=500, help="the load's users (the first)")
    ap.add_argument("--probe-ms", type=float, default=50, help="delivery prober interval")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--window", type=float, default=15, help="seconds of load before the search")
    ap.add_argument("--samples", type=int, default=5, help="users whose INBOX is checked")
    ap.add_argument("--dovecot-perf", action="store_true",
                    help="Dovecot with bench/imap/dovecot-perf.conf.in appended")
    ap.add_argument("--dovecot-steps", default="recall",
                    help="what Dovecot does under the load, of search,recall,undo (doveadm -A "
                         "works one user after another: ~10-35 ms each here)")
    ap.add_argument("--doveadm-timeout", type=float, default=1800,
                    help="seconds one doveadm command may take")
    ap.add_argument("--only", default="mailroom,dovecot")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if a.background < 1 or a.accounts < 1:
        ap.error("--background and --accounts must be at least 1")
    a.dovecot_steps = a.dovecot_steps.split(",")
    if "recall" not in a.dovecot_steps or not set(a.dovecot_steps) <= {"search", "recall", "undo"}:
        ap.error("--dovecot-steps: recall and optionally search, undo")
    os.environ["MAILROOM_BIN"] = a.bin
    targets = a.only.split(",")
    if "dovecot" in targets and not os.path.exists("/usr/lib/dovecot/lmtp"):
        sys.exit("dovecot-imapd and dovecot-lmtpd are not installed (scripts/setup --bench)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    background = corpus.make_messages(a.background, seed=13)
    samples = random.Random(5).sample(range(a.accounts), min(a.samples, a.accounts))
    print(f"{a.accounts} mailboxes, {a.background} background messages each "
          f"({sum(map(len, background)) / 1e3:.0f} KB per mailbox), LMTP {a.batch} RCPTs per "
          f"transaction over {a.loaders} connections; load {a.clients} IMAP clients, a probe "
          f"every {a.probe_ms:.0f} ms; load average {os.getloadavg()[0]:.1f}", flush=True)
    t0 = time.monotonic()
    res = {}
    for target in targets:
        fn = run_mailroom if target == "mailroom" else run_dovecot
        try:
            res[target] = fn(a, background, samples)
        except Exception as e:  # noqa: BLE001 - the other server's figures are still printed
            print(f"!! {target} failed: {e}", flush=True)
            res[target] = None
    report(a, res)
    print(f"total run {time.monotonic() - t0:.0f} s; load average at the end "
          f"{os.getloadavg()[0]:.1f} (2 cores)")
    if any(r is None for r in res.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
