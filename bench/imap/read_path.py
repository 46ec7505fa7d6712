#!/usr/bin/python3
"""IMAP read path on big folders: mailroomd against Dovecot 2.3 in its high-performance mode
(dovecot.conf.in + dovecot-perf.conf.in) in the same run, from the same corpus (issue 25).

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/imap/read_path.py \
        --bin build/release/bin --sizes 3000,100000 [--only mailroom,dovecot-perf] \
        [--repeat 3] [--sessions 200] [--users 200] [--user-messages 1000] [--json FILE]

For each server, one after the other on loopback: one user per size whose INBOX holds that
many messages of bench/imap/read_corpus.py (threads, multipart, attachments, encoded-word
subjects, ~1/3 unseen), and --users users with --user-messages messages each (for the memory
of sessions on many mailboxes). mailroomd gets its messages through `mailroomctl import mbox`
(the store's append, as LMTP delivery) and its flags through IMAP STORE; Dovecot gets maildir
files written directly (LF endings, S=/W= sizes and flags in the names, as Dovecot's own
delivery writes them) and indexes them at the first SELECT. Both check the same {SSHA512}
password hash.

Then, per size, one client (imap_load readpath, C++/Asio) runs each command of READ_COMMANDS on
one connection: a warm-up session runs every command once (its answers are kept to compare the
two servers' results), then the timed session runs each command once more untimed and
--repeat times timed; the table shows the best run. Finally the memory of the server's whole
process tree (Rss and Pss from /proc/PID/smaps_rollup) before and after --sessions idle IDLE
sessions on the biggest INBOX, and on --sessions different mailboxes, each measured right
after a restart of the server; and the peak Rss/Pss of the run (sampled once a second outside
the timed runs, and after every timed run). Needs root and dovecot-imapd.
"""
import argparse
import concurrent.futures
import datetime
import imaplib
import json
import os
import platform
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop3"))
import read_corpus  # noqa: E402
from compare import ssha512, start_dovecot  # noqa: E402
from harness import Mailroom  # noqa: E402
from pop3_bench import free_port  # noqa: E402

HEADER_FIELDS = "From To Cc Subject Date Message-ID References In-Reply-To Content-Type"
# (key, label, command); {all} is "1:*", {body} the UID range of the bulk body fetch.
READ_COMMANDS = [
    ("fetch_open", "`UID FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (...)])`",
     "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (%s)])" % HEADER_FIELDS),
    ("fetch_body", "`UID FETCH {body} BODY.PEEK[]`", "UID FETCH {body} BODY.PEEK[]"),
    ("sort_subject", "`UID SORT (SUBJECT) UTF-8 ALL`", "UID SORT (SUBJECT) UTF-8 ALL"),
    ("sort_rdate", "`UID SORT (REVERSE DATE) UTF-8 ALL`", "UID SORT (REVERSE DATE) UTF-8 ALL"),
    ("thread", "`UID THREAD REFERENCES UTF-8 ALL`", "UID THREAD REFERENCES UTF-8 ALL"),
    ("search_subject", '`UID SEARCH SUBJECT "re"`', 'UID SEARCH SUBJECT "re"'),
    ("search_from", '`UID SEARCH FROM "example"`', 'UID SEARCH FROM "example"'),
    ("search_body", '`UID SEARCH BODY "meeting"` (no index)', 'UID SEARCH BODY "meeting"'),
    ("status", "`STATUS INBOX (MESSAGES UNSEEN UIDNEXT)` (selected)",
     "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)"),
    ("select", "`SELECT INBOX` (re-select)", "SELECT INBOX"),
    ("fetch_flags", "`UID FETCH 1:* (FLAGS)`", "UID FETCH 1:* (FLAGS)"),
    ("search_unseen", "`UID SEARCH UNSEEN`", "UID SEARCH UNSEEN"),
    # Not a target: the loopback round trip under which no command can be answered, to read
    # the rows of a few tens of microseconds against.
    ("noop", "`NOOP` (the round-trip floor, for reference)", "NOOP"),
]
# Timed outside the session above: the first SELECT of a new session (what a client pays when
# it opens the folder; a re-SELECT may find the mailbox still open, as Dovecot's does).
SELECT_NEW = ("select_new", "`SELECT INBOX` (first in a new session)")
TABLE_ROWS = [(k, l) for k, l, _ in READ_COMMANDS] + [SELECT_NEW]
# First command of the warm-up session: checks that both servers hold the same messages under
# the same UIDs (and lets Dovecot index the maildir).
VERIFY = "UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
BODY_RANGE = 3000  # the bulk body fetch covers at most this many messages


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- memory of a process tree ---
def tree_pids(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                children.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
            except (OSError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_memory(root):
    """(Rss KiB, Pss KiB, HWM KiB, processes) of the tree: smaps_rollup, VmHWM from status."""
    rss = pss = hwm = procs = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            procs += 1
        except (OSError, ValueError):
            pass
    return rss, pss, hwm, procs


class PeakSampler:
    """Samples the tree's Rss/Pss once a second while running (paused during timed runs)."""

    def __init__(self):
        self.pid = None
        self.rss = self.pss = 0
        self.active = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def note(self, rss, pss):
        self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)

    def _run(self):
        while not self.stop.wait(1.0):
            if self.active.is_set() and self.pid:
                rss, pss, _, _ = tree_memory(self.pid)
                self.note(rss, pss)


# --- the client ---
def readpath(a, port, user, commands, save_dir=None, warmup=1, repeat=3, pid=None,
             select="INBOX"):
    path = os.path.join(a.scratch, "commands.txt")
    with open(path, "w") as f:
        f.write("\n".join(commands) + "\n")
    cmd = [a.load, "readpath", "--port", str(port), "--user", user, "--password", "pass",
           "--commands", path, "--warmup", str(warmup), "--repeat", str(repeat),
           "--select", select]
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
        cmd += ["--save-dir", save_dir, "--save-max", str(16 << 20)]
    if pid:
        cmd += ["--pid", str(pid)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.stderr.strip():
        log("imap_load: " + p.stderr.strip())
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if len(out) != len(commands):
        raise RuntimeError(f"imap_load readpath failed ({p.returncode}): {p.stdout}{p.stderr}")
    return out


def idle(a, port, pid, user_fmt, users, count, hold=None, extra=()):
    cmd = [a.load, "idle", "--port", str(port), "--pid", str(pid), "--count", str(count),
           "--users", str(users), "--user-fmt", user_fmt, "--password", "pass",
           "--hold", str(a.hold if hold is None else hold)] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.stderr.strip():
        log("imap_load: " + p.stderr.strip())
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"imap_load idle failed ({p.returncode}): {p.stdout}{p.stderr}")
    return json.loads(lines[-1])


def uid_set(uids):
    """Compact UID set strings, each at most ~4000 characters."""
    out, parts, length = [], [], 0
    i = 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        part = str(uids[i]) if i == j else f"{uids[i]}:{uids[j]}"
        if length + len(part) > 4000:
            out.append(",".join(parts))
            parts, length = [], 0
        parts.append(part)
        length += len(part) + 1
        i = j + 1
    if parts:
        out.append(",".join(parts))
    return out


# --- comparing answers ---
def parse_answer(key, text):
    """What must agree between the servers, from a saved answer (None: nothing to compare)."""
    if key.startswith("search") or key.startswith("sort"):
        word = "SORT" if key.startswith("sort") else "SEARCH"
        uids = []
        for line in text.split("\r\n"):
            if line.startswith(f"* {word}"):
                uids += [int(x) for x in line.split()[2:] if x.isdigit()]
        return {"count": len(uids), "uids": uids}
    if key == "thread":
        line = next((l for l in text.split("\r\n") if l.startswith("* THREAD")), "* THREAD")
        body = line[len("* THREAD"):].strip()
        depth, roots = 0, 0
        for ch in body:
            if ch == "(":
                if depth == 0:
                    roots += 1
                depth += 1
            elif ch == ")":
                depth -= 1
        return {"count": len(re.findall(r"\d+", body)), "threads": roots, "text": body}
    if key == "status":
        m = re.search(r"\* STATUS \S+ \(([^)]*)\)", text)
        items = m.group(1).split() if m else []
        return {"status": dict(zip(items[::2], items[1::2]))}
    if key == "select":
        m = re.search(r"\* (\d+) EXISTS", text)
        return {"exists": int(m.group(1)) if m else None}
    if key == "fetch_flags":
        flags = {}
        for m in re.finditer(r"\* \d+ FETCH \(([^\r\n]*)\)\r\n", text):
            item = m.group(1)
            u = re.search(r"UID (\d+)", item)
            f = re.search(r"FLAGS \(([^)]*)\)", item)
            if u and f:
                flags[int(u.group(1))] = " ".join(sorted(x for x in f.group(1).split()
                                                         if x != "\\Recent"))
        return {"count": len(flags), "flags": flags}
    return None


def verify_corpus(text, messages):
    """Checks the VERIFY answer against the corpus: the k-th UID holds message k, of its size."""
    found = []
    starts = [m.start() for m in re.finditer(r"(?:^|\r\n)\* \d+ FETCH \(", text)] + [len(text)]
    for b, e in zip(starts, starts[1:]):
        block = text[b:e]
        uid = re.search(r"\bUID (\d+)", block)
        size = re.search(r"RFC822\.SIZE (\d+)", block)
        mid = re.search(r"Message-ID:\s*(\S+)", block, re.I)
        if uid and size:
            found.append((int(uid.group(1)), int(size.group(1)), mid.group(1) if mid else ""))
    found.sort()
    problems = []
    if len(found) != len(messages):
        problems.append(f"{len(found)} messages, expected {len(messages)}")
    for k, (uid, size, mid) in enumerate(found[:len(messages)]):
        want = messages[k].data
        want_mid = re.search(rb"\r\nMessage-ID: (\S+)", want).group(1).decode()
        if size != len(want) or mid != want_mid:
            problems.append(f"UID {uid}: size {size} Message-ID {mid}, expected message {k} "
                            f"({len(want)} bytes, {want_mid})")
            if len(problems) > 5:
                break
    return [u for u, _, _ in found], problems


# --- servers ---
class DovecotServer:
    name = "dovecot-perf"
    label = "Dovecot"
    confs = ("dovecot.conf.in", "dovecot-perf.conf.in")  # concatenated, in this order

    def __init__(self, a):
        self.a = a
        self.scratch = tempfile.mkdtemp(prefix="imap-readpath-dovecot-")
        os.chmod(self.scratch, 0o755)
        self.port = free_port()
        self.pid = None
        self.pw = pwd.getpwnam("mail")
        for d in ("etc", "run", "state/dovecot", "log", "mail"):
            os.makedirs(os.path.join(self.scratch, d))
        render = lambda t: (t.replace("@SCRATCH@", self.scratch)
                            .replace("@IMAP_PORT@", str(self.port)).replace("@MAIL_USER@", "mail"))
        conf = ""
        for name in self.confs:
            with open(os.path.join(HERE, name)) as f:
                conf += render(f.read()) + "\n"
        self.conf_path = os.path.join(self.scratch, "etc", "dovecot.conf")
        with open(self.conf_path, "w") as f:
            f.write(conf)
        self.users = []

    def login(self, user):
        return user

    def add_user(self, user):
        self.users.append(user)
        with open(os.path.join(self.scratch, "etc", "users"), "w") as f:
            for u in self.users:
                f.write(f"{u}:{ssha512('pass')}\n")

    def _maildir(self, user):
        md = os.path.join(self.scratch, "mail", user, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        return md

    @staticmethod
    def file_name(k, m):
        # Dovecot's own delivery names: S= (file size, LF) and W= (RFC822.SIZE, CRLF) spare it
        # a stat and a size count; the seconds part orders new files by arrival (UID order).
        lf = m.data.replace(b"\r\n", b"\n")
        flags = ("F" if m.flagged else "") + ("S" if m.seen else "")
        name = f"{1600000000 + k}.M{k % 1000000}P4242.bench,S={len(lf)},W={len(m.data)}:2,{flags}"
        return name, lf

    def load_messages(self, user, messages):
        cur = os.path.join(self._maildir(user), "cur")
        for k, m in enumerate(messages):
            name, lf = self.file_name(k, m)
            path = os.path.join(cur, name)
            with open(path, "wb") as f:
                f.write(lf)
            os.utime(path, (m.date, m.date))  # maildir: the internal date is the mtime
        self._chown(os.path.join(self.scratch, "mail", user))

    def load_shared(self, users, messages):
        """Many users with the same messages: one set of files, hard-linked into each maildir."""
        master = os.path.join(self.scratch, "mail", "_shared")
        os.makedirs(master)
        names = []
        for k, m in enumerate(messages):
            name, lf = self.file_name(k, m)
            with open(os.path.join(master, name), "wb") as f:
                f.write(lf)
            os.utime(os.path.join(master, name), (m.date, m.date))
            names.append(name)
        self._chown(master)
        for u in users:
            cur = os.path.join(self._maildir(u), "cur")
            for n in names:
                os.link(os.path.join(master, n), os.path.join(cur, n))
            self._chown(os.path.join(self.scratch, "mail", u))

    def _chown(self, top):
        os.chown(os.path.join(self.scratch, "mail"), self.pw.pw_uid, self.pw.pw_gid)
        os.chown(top, self.pw.pw_uid, self.pw.pw_gid)
        for dirpath, dirnames, filenames in os.walk(top):
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), self.pw.pw_uid, self.pw.pw_gid)

    def start(self):
        pid_file = os.path.join(self.scratch, "run", "dovecot", "master.pid")
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        self.pid = start_dovecot(self.conf_path, self.scratch, self.port)
        time.sleep(1)  # the pre-forked imap processes (process_min_avail)

    def stop(self):
        if self.pid:
            subprocess.run(["/usr/sbin/dovecot", "-c", self.conf_path, "stop"], check=False)
            for _ in range(100):
                if not os.path.exists(f"/proc/{self.pid}"):
                    break
                time.sleep(0.1)
            self.pid = None

    def set_flags(self, user, messages, uids):
        pass  # in the maildir file names

    def close(self):
        self.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def log_tail(self):
        try:
            with open(os.path.join(self.scratch, "log", "dovecot.log"), errors="replace") as f:
                found = [l.rstrip() for l in f if ("rror" in l or "atal" in l or "anic" in l
                                                   or "arning" in l) and "signal 15" not in l]
        except OSError:
            return []
        # The same warning from many sessions: once, with a count.
        counts = {}
        for l in found:
            text = re.sub(r"^\w+ \d+ [\d:]+ ", "", l)
            text = re.sub(r"^(imap|imap-login)\([^)]*\)(<[^>]*>)*", r"\1", text)
            counts[text] = counts.get(text, 0) + 1
        return [f"{t} (x{c})" if c > 1 else t for t, c in counts.items()][-10:]


class MailroomServer:
    name = "mailroom"
    label = "Mailroom"

    def __init__(self, a, tls=False, data_dir=None):
        """data_dir: the data directory to use instead of a new one under the scratch
        directory (kept after close; a non-empty one is used as it is, without a new domain)."""
        self.a = a
        n = a.sessions + 100
        limits = f"[limits]\nmax_connections = {n * 2}\nmax_connections_per_ip = {n * 2}\n"
        listeners = {"imap": ("imap", "none")}
        if tls:  # also an implicit-TLS listener (port 993 style), "imaps"
            listeners["imaps"] = ("imap", "implicit")
        self.m = Mailroom(listeners=listeners, extra_config=limits)
        reuse = False
        if data_dir:
            os.makedirs(data_dir, exist_ok=True)
            reuse = bool(os.listdir(data_dir))
            self.m.data = os.path.abspath(data_dir)
            self.m.write_config()
        with open(self.m.config_path) as f:
            cfg = (f.read().replace('level = "debug"', 'level = "warn"')
                   .replace("worker_threads = 4", f"worker_threads = {a.workers}"))
        self.serving_config = cfg
        # Loading only: appends without fsync (the read path never syncs; Dovecot's maildir
        # files are written without fsync too). The server runs with the default fsync = true.
        with open(self.m.config_path, "w") as f:
            f.write(cfg + "\n[store]\nfsync = false\n")
        if not reuse:
            self.m.ctl("domain", "add", "example.com")
        self.scratch = self.m.base
        self.pid = None
        self.port = None

    def login(self, user):
        return f"{user}@example.com"

    def add_user(self, user):
        self.m.ctl("user", "add", self.login(user), "--password-hash", ssha512("pass"))

    def _import(self, user, messages):
        chunk = 10000
        for i in range(0, len(messages), chunk):
            path = os.path.join(self.m.base, f"import-{user}-{i}.mbox")
            read_corpus.write_mboxrd(path, messages[i:i + chunk])
            r = self.m.ctl("import", "mbox", self.login(user), "INBOX", path)
            os.unlink(path)
            if r.get("imported") != len(messages[i:i + chunk]):
                raise RuntimeError(f"import into {user}: {r}")

    def load_messages(self, user, messages):
        self._import(user, messages)

    def load_shared(self, users, messages):
        # Two imports at a time (2 cores): each user has its own index.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(self._import, u, messages) for u in users]:
                f.result()

    def start(self):
        with open(self.m.config_path, "w") as f:
            f.write(self.serving_config)
        self.m.start()
        self.pid = self.m.proc.pid
        self.port = self.m.port("imap")

    def stop(self):
        self.m.stop()
        self.pid = None

    def set_flags(self, user, messages, uids):
        """\\Seen and \\Flagged through IMAP STORE (what a client does as mail is read)."""
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login(self.login(user), "pass")
        c.select("INBOX")
        for flag, pick in (("\\Seen", lambda m: m.seen), ("\\Flagged", lambda m: m.flagged)):
            chosen = [u for u, m in zip(uids, messages) if pick(m)]
            for s in uid_set(chosen):
                typ, data = c.uid("STORE", s, "+FLAGS.SILENT", f"({flag})")
                if typ != "OK":
                    raise RuntimeError(f"STORE on {user}: {typ} {data}")
        c.logout()

    def close(self):
        self.m.close()

    def log_tail(self):
        counts = {}
        for l in self.m.log().splitlines():
            if re.search(r"level=(warning|warn|error|critical)", l):
                text = re.sub(r"^\S+ ", "", l)  # the time stamp
                text = re.sub(r"\b(session|conn|id)=\S+", r"\1=...", text)
                counts[text] = counts.get(text, 0) + 1
        return [f"{t} (x{c})" if c > 1 else t for t, c in counts.items()][-10:]


def bench_server(a, cls, sizes, corpora, user_corpus, sampler):
    s = cls(a)
    res = {"load": {}, "sizes": {}, "memory": {}, "answers": {}, "problems": []}
    try:
        log(f"== {s.name}: loading")
        t0 = time.time()
        for n in sizes:
            s.add_user(f"big{n}")
            t = time.time()
            s.load_messages(f"big{n}", corpora[n])
            res["load"][f"big{n}_s"] = round(time.time() - t, 1)
            log(f"   big{n}: {len(corpora[n])} messages in {time.time() - t:.1f} s")
        users = [f"user{i}" for i in range(1, a.users + 1)]
        t = time.time()
        for u in users:
            s.add_user(u)
        if users:
            s.load_shared(users, user_corpus)
        res["load"]["users_s"] = round(time.time() - t, 1)
        log(f"   {len(users)} users x {len(user_corpus)} messages in {time.time() - t:.1f} s")
        s.start()
        sampler.pid, sampler.rss, sampler.pss = s.pid, 0, 0
        sampler.active.set()
        log(f"   started (pid {s.pid}, port {s.port})")
        # Flags (mailroomd: IMAP STORE) and the first SELECT of every mailbox (Dovecot indexes
        # its maildir there), with the check that UIDs and messages agree with the corpus.
        for n in sizes:
            t = time.time()
            save = os.path.join(a.scratch, s.name, f"verify{n}")
            readpath(a, s.port, s.login(f"big{n}"), [VERIFY], save_dir=save, repeat=0)
            with open(os.path.join(save, "0.txt"), encoding="utf-8", errors="replace",
                      newline="") as f:
                uids, problems = verify_corpus(f.read(), corpora[n])
            res["problems"] += [f"big{n}: {p}" for p in problems]
            s.set_flags(f"big{n}", corpora[n], uids)
            res["load"][f"big{n}_first_open_s"] = round(time.time() - t, 1)
            res["uids"] = res.get("uids", {})
            res["uids"][str(n)] = [uids[0], uids[-1]] if uids else []
            log(f"   big{n}: first open, check{' and flags' if s.name == 'mailroom' else ''} "
                f"in {time.time() - t:.1f} s{'; ' + '; '.join(problems) if problems else ''}")
        t = time.time()
        if users:
            first_uids = list(range(1, len(user_corpus) + 1))
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda u: s.set_flags(u, user_corpus, first_uids), users))
            # First SELECT of every mailbox (idle: 200 sessions at once, closed at once).
            idle(a, s.port, s.pid, s.login("user%d"), len(users), len(users))
        res["load"]["users_first_open_s"] = round(time.time() - t, 1)
        res["load"]["total_s"] = round(time.time() - t0, 1)
        log(f"   users: flags and first open in {time.time() - t:.1f} s; loading took "
            f"{time.time() - t0:.1f} s in all")

        for n in sizes:
            uids = res["uids"][str(n)]
            body = "1:*" if n <= BODY_RANGE else f"{max(uids[0], uids[1] - BODY_RANGE + 1)}:*"
            commands = [c.replace("{body}", body) for _, _, c in READ_COMMANDS]
            t = time.time()
            save = os.path.join(a.scratch, s.name, f"answers{n}")
            readpath(a, s.port, s.login(f"big{n}"), commands, save_dir=save, repeat=0)
            answers = {}
            for i, (key, _, _) in enumerate(READ_COMMANDS):
                p = os.path.join(save, f"{i}.txt")
                if os.path.exists(p):
                    with open(p, encoding="utf-8", errors="replace", newline="") as f:
                        answers[key] = parse_answer(key, f.read())
            res["answers"][str(n)] = answers
            log(f"   {n}: warm-up session in {time.time() - t:.1f} s")
            sampler.active.clear()
            t = time.time()
            rows = readpath(a, s.port, s.login(f"big{n}"), commands, repeat=a.repeat, pid=s.pid)
            sampler.active.set()
            for r in rows:
                sampler.note(r["tree_rss_kib"], r["tree_pss_kib"])
            res["sizes"][str(n)] = {key: r for (key, _, _), r in zip(READ_COMMANDS, rows)}
            fresh = [readpath(a, s.port, s.login(f"big{n}"), ["SELECT INBOX"], warmup=0,
                              repeat=1, select="")[0] for _ in range(a.repeat)]
            rows.append({"command": "SELECT INBOX", "status": fresh[-1]["status"],
                         "ms": [r["ms"][0] for r in fresh if r["ms"]],
                         "bytes": [r["bytes"][0] for r in fresh if r["bytes"]],
                         "client_cpu_ms": [r["client_cpu_ms"][0] for r in fresh if r["ms"]],
                         "untagged": fresh[-1]["untagged"]})
            res["sizes"][str(n)][SELECT_NEW[0]] = rows[-1]
            log(f"   {n}: timed session in {time.time() - t:.1f} s")
            for (key, _), r in zip(TABLE_ROWS, rows):
                log(f"      {key}: {r['status'][:40]} best {min(r['ms'] or [0]):.1f} ms, "
                    f"{r['bytes'][0] if r['bytes'] else 0} bytes, client CPU "
                    f"{min(r['client_cpu_ms'] or [0]):.1f} ms")

        # Memory: each measurement right after a restart, so no session of an earlier phase
        # (nor Dovecot's reusable imap processes) is in the "before".
        big = max(sizes)
        phases = [(f"one_inbox_{big}", s.login(f"big{big}"), 1)]
        if users:
            phases.append((f"{len(users)}_mailboxes", s.login("user%d"), len(users)))
        for label, fmt, nusers in phases:
            s.stop()
            s.start()
            sampler.pid = s.pid
            r = idle(a, s.port, s.pid, fmt, nusers, a.sessions)
            res["memory"][label] = r
            log(f"   {label}: {r['connections']} sessions, Rss {r['rss_before_kib']} -> "
                f"{r['rss_after_kib']} KiB ({r['kib_per_connection']:.1f} KiB each), Pss "
                f"{r['pss_before_kib']} -> {r['pss_after_kib']} KiB "
                f"({r['pss_kib_per_connection']:.1f} KiB each)")
            sampler.note(r["rss_after_kib"], r["pss_after_kib"])
        rss, pss, hwm, procs = tree_memory(s.pid)
        sampler.note(rss, pss)
        sampler.active.clear()
        res["peak"] = {"rss_kib": sampler.rss, "pss_kib": sampler.pss}
        res["problems"] += [f"log: {l}" for l in s.log_tail()]
        return res
    finally:
        sampler.active.clear()
        s.close()


# --- report ---
def fmt_ms(r):
    if not r or not r.get("ms"):
        return "failed: " + (r or {}).get("status", "")[:40]
    return f"{min(r['ms']):.1f}"


def header(messages, uid, key):
    """The header line a SEARCH key looks at, of the message with this UID (UID k is the k-th
    message: verify_corpus checked it)."""
    if not 1 <= uid <= len(messages):
        return "?"
    name = {"search_from": b"From", "sort_rdate": b"Date"}.get(key, b"Subject")
    m = re.search(rb"\r\n" + name + rb": ([^\r\n]*)", messages[uid - 1].data)
    return m.group(1).decode(errors="replace") if m else ""


def report(a, sizes, results, corpora):
    lines = []
    names = [n for n in ("mailroom", "dovecot-perf") if n in results]
    for n in sizes:
        lines += ["", f"### {n:,} messages in INBOX (best of {a.repeat}, warm caches, one client)",
                  "", "| command | " + " | ".join(f"{LABELS[x]} ms" for x in names) +
                  (" | ratio Dovecot/Mailroom |" if len(names) == 2 else " |"),
                  "|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else "")]
        for key, label in TABLE_ROWS:
            rs = [results[x]["sizes"].get(str(n), {}).get(key) for x in names]
            cells = [fmt_ms(r) for r in rs]
            if key == "fetch_body":
                body = "1:*" if n <= BODY_RANGE else f"last {BODY_RANGE:,} UIDs"
                label = f"`UID FETCH {body} BODY.PEEK[]`"
                for i, r in enumerate(rs):
                    if r and r.get("ms"):
                        cells[i] += f" ({r['bytes'][0] / 1e6:.1f} MB, " \
                                    f"{r['bytes'][0] / 1e6 / (min(r['ms']) / 1000):.0f} MB/s)"
            ratio = ""
            if len(names) == 2:
                ok = all(r and r.get("ms") for r in rs)
                ratio = f" {min(rs[1]['ms']) / min(rs[0]['ms']):.2f}x |" if ok else " - |"
            lines.append(f"| {label} | " + " | ".join(cells) + " |" + ratio)
        worst = max(((min(r["client_cpu_ms"]) / min(r["ms"]), LABELS[x], key)
                     for x in names for key, r in results[x]["sizes"].get(str(n), {}).items()
                     if r.get("ms") and min(r["ms"]) >= 5), default=None)
        if worst:
            lines += ["", f"The client's CPU time was at most {100 * worst[0]:.0f} % of a "
                          f"command's wall time ({worst[1]}, {worst[2]}; commands of 5 ms or "
                          "more): the client was not the bottleneck."]
    lines += ["", f"### Memory: {a.sessions} idle IDLE sessions (server's whole process tree, "
                  "measured right after a restart)", "",
              "| server | sessions on | Rss before -> after (MiB) | Rss per session (KiB) | "
              "Pss before -> after (MiB) | Pss per session (KiB) |", "|---|---|---|---|---|---|"]
    for x in names:
        for label, r in results[x]["memory"].items():
            what = (f"one INBOX of {label.rsplit('_', 1)[1]} messages" if label.startswith("one")
                    else f"{label.split('_')[0]} mailboxes of {a.user_messages} messages")
            lines.append(
                f"| {LABELS[x]} | {what} | {r['rss_before_kib'] / 1024:.1f} -> "
                f"{r['rss_after_kib'] / 1024:.1f} | {r['kib_per_connection']:.1f} | "
                f"{r['pss_before_kib'] / 1024:.1f} -> {r['pss_after_kib'] / 1024:.1f} | "
                f"{r['pss_kib_per_connection']:.1f} |")
    lines += ["", "| server | peak Rss (MiB) | peak Pss (MiB) | loading |", "|---|---|---|---|"]
    for x in names:
        r = results[x]
        load = ", ".join(f"{k.replace('_s', '')} {v} s" for k, v in r["load"].items())
        lines.append(f"| {LABELS[x]} | {r['peak']['rss_kib'] / 1024:.0f} | "
                     f"{r['peak']['pss_kib'] / 1024:.0f} | {load} |")
    # Answers that differ between the servers
    if len(names) == 2:
        lines += ["", "### Do the answers agree?", ""]
        for n in sizes:
            a0 = results[names[0]]["answers"].get(str(n), {})
            a1 = results[names[1]]["answers"].get(str(n), {})
            for key, label, _ in READ_COMMANDS:
                x, y = a0.get(key), a1.get(key)
                if x is None and y is None:
                    continue
                same = x == y
                summary = lambda v: ", ".join(f"{k} {v[k]}" for k in ("count", "threads",
                                              "exists", "status") if v and k in v)
                text = "same" if same else \
                    f"DIFFERENT: Mailroom {summary(x)}; Dovecot {summary(y)}"
                if not same and x and y and "uids" in x and "uids" in y:
                    only = [sorted(set(x["uids"]) - set(y["uids"])),
                            sorted(set(y["uids"]) - set(x["uids"]))]
                    if not only[0] and not only[1]:
                        text += " (same UIDs, other order)"
                    for who, us in zip(("Mailroom", "Dovecot"), only):
                        if us:
                            text += f"; only {who}: " + ", ".join(
                                f"UID {u} {header(corpora[n], u, key)!r}" for u in us[:3])
                if not same and x and y and "flags" in x and "flags" in y:
                    diff = [u for u in set(x["flags"]) | set(y["flags"])
                            if x["flags"].get(u) != y["flags"].get(u)]
                    text += f" ({len(diff)} UIDs differ, e.g. " + ", ".join(
                        f"{u}: {x['flags'].get(u)!r} / {y['flags'].get(u)!r}"
                        for u in sorted(diff)[:3]) + ")"
                lines.append(f"- {n:,}: {label}: {text}")
    for x in names:
        for p in results[x]["problems"]:
            lines.append(f"- {LABELS[x]}: {p}")
    return "\n".join(lines)


LABELS = {"mailroom": "Mailroom", "dovecot-perf": "Dovecot"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory with mailroomd, mailroomctl and imap_load (Release)")
    ap.add_argument("--load", help="imap_load binary (default: BIN/imap_load)")
    ap.add_argument("--sizes", default="3000,100000", help="messages in the big INBOX, per run")
    ap.add_argument("--only", default="mailroom,dovecot-perf",
                    help="servers: mailroom, dovecot-perf (comma-separated)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each command (best shown)")
    ap.add_argument("--sessions", type=int, default=200, help="idle IDLE sessions per memory test")
    ap.add_argument("--users", type=int, default=200,
                    help="users with their own INBOX for the many-mailboxes memory test (0: skip)")
    ap.add_argument("--user-messages", type=int, default=1000, help="messages in each such INBOX")
    ap.add_argument("--hold", type=float, default=5, help="seconds the idle sessions are held")
    ap.add_argument("--workers", type=int, default=8, help="mailroomd [server] worker_threads")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--json", help="write every figure here (default: read-path-<time>.json "
                                   "in the current directory)")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    os.environ["MAILROOM_BIN"] = a.bin
    a.load = os.path.abspath(a.load or os.path.join(a.bin, "imap_load"))
    if os.geteuid() != 0:
        sys.exit("needs root (Dovecot drops privileges to mail)")
    if not os.path.exists("/usr/sbin/dovecot"):
        sys.exit("dovecot-imapd is not installed (scripts/setup --bench)")
    sizes = sorted(int(x) for x in a.sizes.split(","))
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    for x in only:
        if x not in LABELS:
            sys.exit(f"--only: unknown server {x} (mailroom, dovecot-perf)")
    a.scratch = tempfile.mkdtemp(prefix="imap-readpath-")
    t = time.time()
    corpora = {n: read_corpus.make_corpus(n, a.seed) for n in sizes}
    user_corpus = read_corpus.make_corpus(a.user_messages, a.seed + 1) if a.users else []
    for n in sizes:
        ms = corpora[n]
        log(f"corpus {n}: {sum(len(m.data) for m in ms) / 1e6:.1f} MB, mean "
            f"{sum(len(m.data) for m in ms) / n / 1024:.1f} KiB, "
            f"{sum(not m.seen for m in ms)} unseen")
    log(f"corpora made in {time.time() - t:.1f} s; {a.users} users x {a.user_messages} messages")
    sampler = PeakSampler()
    results = {}
    try:
        for x in only:
            cls = MailroomServer if x == "mailroom" else DovecotServer
            results[x] = bench_server(a, cls, sizes, corpora, user_corpus, sampler)
    finally:
        sampler.stop.set()
        shutil.rmtree(a.scratch, ignore_errors=True)
    text = report(a, sizes, results, corpora)
    print(text, flush=True)
    out = a.json or f"read-path-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "sizes": sizes, "repeat": a.repeat, "sessions": a.sessions, "users": a.users,
            "user_messages": a.user_messages, "seed": a.seed, "workers": a.workers,
            "load_average": os.getloadavg(), "kernel": platform.release(),
            "dovecot": subprocess.run(["/usr/sbin/dovecot", "--version"], capture_output=True,
                                      text=True).stdout.strip(),
            "corpus_mb": {n: round(sum(len(m.data) for m in corpora[n]) / 1e6, 1) for n in sizes}}
    for r in results.values():  # keep the compared answers small: counts, not UID lists
        for per_size in r["answers"].values():
            for v in per_size.values():
                if v:
                    v.pop("uids", None), v.pop("flags", None), v.pop("text", None)
    with open(out, "w") as f:
        json.dump({"meta": meta, "results": results, "report": text}, f, indent=1)
    log(f"figures in {out}")


if __name__ == "__main__":
    main()
