#!/usr/bin/python3
"""IMAP: mailroomd against Dovecot 2.3 from Debian in the same run, same mailbox contents, same
load generator (imap_load, C++/Asio; built with `cmake --build DIR --target imap_load`).

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/imap/compare.py \
        --bin build/release/bin [--seconds 20] [--clients 32] [--idle-count 1000] \
        [--big-idle 19900] [--only mailroom,dovecot,dovecot-perf,dovecot-hibernate]

Every server gets U users (testuser1..U, password "pass", stored as the same {SSHA512} hash on
both sides so LOGIN costs the same; --hash default keeps each server's default) whose INBOX
holds the same M
messages (tests/integration/pop3/corpus.py). For each server: a warm-up, then the mixed load
(sessions/s, operations/s, and the CPU of the generator and of the server's process tree to
show the generator was not the bottleneck), then N idle authenticated IDLE sessions (RSS delta
of the whole process tree per connection). Dovecot runs with the project's anchor
configuration (dovecot.conf.in), default, tuned (dovecot-perf.conf.in) and with IMAP
hibernation (dovecot-hibernate.conf.in, idle only). Mailroom's idle sessions are measured
without TLS and with implicit TLS. --big-idle N holds N idle IDLE sessions on mailroomd alone
(the fd hard limit of the process caps N; see README.md). Needs root and dovecot-imapd.
"""
import argparse
import base64
import hashlib
import json
import os
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "pop3"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop3"))
import corpus  # noqa: E402
import mailbox_corpus  # noqa: E402
from harness import Mailroom  # noqa: E402
from pop3_bench import free_port  # noqa: E402


def ssha512(password, salt=b"mrbench1"):
    """{SSHA512}: salted SHA-512, verified by both servers (Dovecot and mailroomd)."""
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not come up")


def start_dovecot(conf_path, scratch, port):
    """Starts Dovecot with `conf_path`, waits for `port` and its master pid file; returns the
    master's pid (the caller stops it with `doveadm stop` or a signal)."""
    subprocess.run(["/usr/sbin/dovecot", "-c", conf_path], check=True)
    wait_port(port)
    pid_file = os.path.join(scratch, "run", "dovecot", "master.pid")
    for _ in range(200):
        if os.path.exists(pid_file) and os.path.getsize(pid_file) > 0:
            break
        time.sleep(0.05)
    with open(pid_file) as f:
        return int(f.read())


def load(a, mode, port, pid, extra=(), user_fmt="testuser%d"):
    cmd = [a.load, mode, "--port", str(port), "--pid", str(pid), "--users", str(a.users),
           "--user-fmt", user_fmt, "--password", "pass"] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.stderr.strip():
        print("   imap_load: " + p.stderr.strip().replace("\n", "\n   imap_load: "), flush=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"imap_load {mode} failed ({p.returncode}): {p.stdout}{p.stderr}")
    r = json.loads(lines[-1])
    print("   " + json.dumps(r), flush=True)
    return r


def measure(a, name, port, pid, user_fmt, idle_runs, hold=None):
    out = {}
    if "mixed" in idle_runs:
        # --shape mailbox: the independent load's shape (imap_load mailbox); reported as "mixed".
        mode = "mailbox" if a.shape == "mailbox" else "mixed"
        extra = ["--append-dir", a.append_dir] if mode == "mailbox" else []
        if mode == "mailbox":
            # Every INBOX opened and its envelopes read once: Dovecot builds its index and cache
            # on first use, which a running server has long done (mailroomd at import).
            out["prime"] = load(a, "prime", port, pid, ["--clients", "8"], user_fmt)
        load(a, mode, port, pid, ["--clients", str(a.clients), "--seconds", str(a.warmup),
                                  "--threads", str(a.threads)] + extra, user_fmt)
        out["mixed"] = load(a, mode, port, pid,
                            ["--clients", str(a.clients), "--seconds", str(a.seconds),
                             "--threads", str(a.threads)] + extra, user_fmt)
    if a.idle_count <= 0:
        return out
    for label, iport, extra in idle_runs.get("idle", []):
        out[label] = load(a, "idle", iport, pid,
                          ["--count", str(a.idle_count), "--hold", str(hold or a.hold)] + extra,
                          user_fmt)
    return out


# --- Dovecot ---
def run_dovecot(a, messages, variant):
    scratch = tempfile.mkdtemp(prefix=f"imap-bench-{variant}-")
    os.chmod(scratch, 0o755)
    mail_user = "mail"
    pw = pwd.getpwnam(mail_user)
    port = free_port()
    for d in ("etc", "run", "state/dovecot", "log", "mail"):
        os.makedirs(os.path.join(scratch, d))
    render = lambda text: (text.replace("@SCRATCH@", scratch).replace("@IMAP_PORT@", str(port))
                           .replace("@MAIL_USER@", mail_user))
    with open(os.path.join(HERE, "dovecot.conf.in")) as f:
        conf = render(f.read())
    if variant != "dovecot":
        with open(os.path.join(HERE, f"dovecot-{variant.split('-', 1)[1]}.conf.in")) as f:
            conf += "\n" + render(f.read())
    conf_path = os.path.join(scratch, "etc", "dovecot.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    with open(os.path.join(scratch, "etc", "users"), "w") as f:
        for i in range(1, a.users + 1):
            f.write(f"testuser{i}:{ssha512('pass') if a.hash == 'ssha512' else 'pass'}\n")
    now = int(time.time())
    for i in range(1, a.users + 1):
        maildir = os.path.join(scratch, "mail", f"testuser{i}", "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(maildir, sub))
        for k, m in enumerate(messages):
            with open(os.path.join(maildir, "new", f"{now}.M{k}P1.bench"), "wb") as f:
                f.write(m.replace(b"\r\n", b"\n"))  # maildir convention: LF
    for dirpath, dirnames, filenames in os.walk(os.path.join(scratch, "mail")):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), pw.pw_uid, pw.pw_gid)
    os.chown(os.path.join(scratch, "mail"), pw.pw_uid, pw.pw_gid)
    try:
        pid = start_dovecot(conf_path, scratch, port)
        print(f"== {variant} (pid {pid}, port {port})", flush=True)
        runs = {"idle": [("idle", port, [])]}
        if variant != "dovecot-hibernate":
            runs["mixed"] = True
        # Hibernation moves a session 2 s after it starts to IDLE; let all 1,000 settle.
        hold = a.hibernate_hold if variant == "dovecot-hibernate" else None
        return measure(a, variant, port, pid, "testuser%d", runs, hold)
    finally:
        subprocess.run(["/usr/sbin/dovecot", "-c", conf_path, "stop"], check=False)
        time.sleep(1)
        shutil.rmtree(scratch, ignore_errors=True)


# --- Mailroom ---
def run_mailroom(a, messages):
    limits = (f"[limits]\nmax_connections = {max(a.big_idle, a.idle_count) + 100}\n"
              f"max_connections_per_ip = {max(a.big_idle, a.idle_count) + 100}\n")
    m = Mailroom(listeners={"imap": ("imap", "none"), "imaps": ("imap", "implicit")},
                 extra_config=limits)
    # Product defaults (README [server]): worker_threads = 8 (the test harness uses 4); quiet log.
    with open(m.config_path) as f:
        cfg = (f.read().replace('level = "debug"', 'level = "warn"')
               .replace("worker_threads = 4", f"worker_threads = {a.workers}"))
    with open(m.config_path, "w") as f:
        f.write(cfg)
    try:
        fd, path = tempfile.mkstemp(suffix=".mbox")
        os.close(fd)
        corpus.write_mboxrd(path, messages)
        m.ctl("domain", "add", "example.com")
        for i in range(1, a.users + 1):
            if a.hash == "ssha512":
                m.ctl("user", "add", f"testuser{i}@example.com", "--password-hash", ssha512("pass"))
            else:
                m.ctl("user", "add", f"testuser{i}@example.com", "--password", "pass")
            m.ctl("import", "mbox", f"testuser{i}@example.com", "INBOX", path, json_output=False)
        os.unlink(path)
        m.start()
        pid = m.proc.pid
        print(f"== mailroom (pid {pid}, ports {m.ports})", flush=True)
        runs = {"mixed": True,
                "idle": [("idle", m.port("imap"), []), ("idle_tls", m.port("imaps"), ["--tls"])]}
        out = measure(a, "mailroom", m.port("imap"), pid, "testuser%d@example.com", runs)
        if a.big_idle:
            procs = max(1, (a.big_idle + 9000) // 9500)
            r = load(a, "idle", m.port("imap"), pid,
                     ["--count", str(a.big_idle), "--hold", str(a.hold), "--procs", str(procs),
                      "--sources", "8"], "testuser%d@example.com")
            out["big_idle"] = r
        return out
    finally:
        m.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"),
                    help="directory with mailroomd, mailroomctl and imap_load (Release)")
    ap.add_argument("--load", help="imap_load binary (default: BIN/imap_load)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="generator threads")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--idle-count", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=5)
    ap.add_argument("--big-idle", type=int, default=0)
    ap.add_argument("--hibernate-hold", type=float, default=30)
    ap.add_argument("--workers", type=int, default=8, help="mailroomd [server] worker_threads")
    ap.add_argument("--hash", choices=["ssha512", "default"], default="ssha512",
                    help="password storage on both servers: the same {SSHA512} hash (default), "
                         "or each server's default (Dovecot anchor: PLAIN; mailroomd: ARGON2ID)")
    ap.add_argument("--only", default="mailroom,dovecot,dovecot-perf,dovecot-hibernate")
    ap.add_argument("--shape", choices=["mixed", "mailbox"], default="mixed",
                    help="mixed: the 13-command session on the small corpus; mailbox: the "
                         "independent load's shape (mailbox_corpus.py INBOX, LIST, envelopes, "
                         "bodies, STORE, APPEND with attachments, EXPUNGE; imap_load mailbox)")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    os.environ["MAILROOM_BIN"] = a.bin
    a.load = os.path.abspath(a.load or os.path.join(a.bin, "imap_load"))
    if not os.path.exists("/usr/sbin/dovecot"):
        sys.exit("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.shape == "mailbox":
        messages = mailbox_corpus.make_mailbox(a.messages, seed=13)
        a.append_dir = tempfile.mkdtemp(prefix="imap-bench-append-")
        for k, m in enumerate(mailbox_corpus.make_mailbox(40, seed=99)):
            with open(os.path.join(a.append_dir, f"{k:03d}.eml"), "wb") as f:
                f.write(m)
    else:
        messages = corpus.make_messages(a.messages, seed=13)
    print(f"{a.users} users x {len(messages)} messages ({sum(map(len, messages)) / 1e6:.1f} MB "
          f"each), {a.clients} clients for {a.seconds:.0f} s, {a.idle_count} idle sessions, "
          f"fd limit {hard}", flush=True)
    res = {}
    try:
        for target in a.only.split(","):
            res[target] = run_mailroom(a, messages) if target == "mailroom" else run_dovecot(
                a, messages, target)
    finally:
        if a.shape == "mailbox":
            shutil.rmtree(a.append_dir, ignore_errors=True)

    print("\n| server | sessions/s | ops/s | server CPU % | generator CPU % |")
    print("|---|---|---|---|---|")
    for t, r in res.items():
        if "mixed" in r:
            x = r["mixed"]
            print(f"| {t} | {x['sessions_per_s']:.1f} | {x['ops_per_s']:.0f} | "
                  f"{x['server_cpu_pct']:.0f} | {x['generator_cpu_pct']:.0f} |")
    print("\n| server | idle IDLE sessions | KiB per session |")
    print("|---|---|---|")
    for t, r in res.items():
        for k in ("idle", "idle_tls", "big_idle"):
            if k in r:
                label = t + {"idle": "", "idle_tls": " (TLS)", "big_idle": " (big)"}[k]
                print(f"| {label} | {r[k]['connections']} | {r[k]['kib_per_connection']:.1f} |")
    if "mailroom" in res:
        ours = res["mailroom"]
        print()
        for t, r in res.items():
            if t == "mailroom":
                continue
            if "mixed" in r and "mixed" in ours:
                print(f"mailroom/{t}: sessions/s x{ours['mixed']['sessions_per_s'] / r['mixed']['sessions_per_s']:.2f}"
                      f", ops/s x{ours['mixed']['ops_per_s'] / r['mixed']['ops_per_s']:.2f}")
            if "idle" in r and "idle" in ours and ours["idle"]["kib_per_connection"] > 0:
                print(f"{t} idle KiB / mailroom idle KiB: "
                      f"{r['idle']['kib_per_connection'] / ours['idle']['kib_per_connection']:.1f}")


if __name__ == "__main__":
    main()
