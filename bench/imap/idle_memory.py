#!/usr/bin/python3
"""Memory of idle authenticated IMAP IDLE sessions (issue 20): mailroomd, plain and implicit TLS,
against Dovecot with IMAP hibernation, in the same run, in two shapes:

- big: every session logs in as the same user and selects one INBOX of --big messages;
- users: --users users, each with its own INBOX of --user-messages messages; session k logs in
  as user k mod --users (with --users = --sessions, one session per INBOX).

    cmake --build build/release --target mailroomd mailroomctl imap_load
    /usr/bin/python3 bench/imap/idle_memory.py --bin build/release/bin \\
        --sessions 1000 --big 20000 --users 1000 --user-messages 1000 \\
        [--bin-before DIR] [--only mailroom,dovecot-hibernate]

Each measurement starts right after a restart of the server; `imap_load idle` compares the Rss
and Pss of the server's whole process tree before the sessions and --hold seconds after they
all idle (Dovecot: --hibernate-hold, so its sessions can move into imap-hibernate, which takes
2 s of IDLE). --bin-before DIR runs the same measurements with DIR/mailroomd (an older build)
on the same data, so a change is measured before and after in one run. Mailroom loads its users
through mailroomctl (import mbox) once for both binaries; Dovecot gets maildir files (hard links
for the many users). Needs root and Dovecot (`scripts/setup --bench`).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import read_corpus  # noqa: E402
import read_path  # noqa: E402
from read_path import log  # noqa: E402


class DovecotHibernate(read_path.DovecotServer):
    name = "dovecot-hibernate"
    label = "Dovecot hibernate"
    confs = ("dovecot.conf.in", "dovecot-hibernate.conf.in")


def idle(a, server, port, users, tls):
    hibernating = isinstance(server, DovecotHibernate)
    r = read_path.idle(a, port, server.pid, server.login("testuser%d"), users, a.sessions,
                       hold=a.hibernate_hold if hibernating else a.hold,
                       extra=["--tls"] if tls else [])
    log(json.dumps(r))
    return r


def clone_mailroom_users(server, users, messages):
    """Imports `messages` for users[0] and gives every other user a copy of its store: the
    index copied, the message files hard-linked (mail/<account id>/, src/store/FORMAT.md). One
    import instead of one per user (1,000 imports of 1,000 messages take most of an hour)."""
    server.load_messages(users[0], messages)
    ids = {u["address"]: u["id"] for u in server.m.ctl("user", "list")}
    root = os.path.join(server.m.data, "mail")
    src = os.path.join(root, ids[server.login(users[0])])
    for u in users[1:]:
        dst = os.path.join(root, ids[server.login(u)])
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(src):
            path = os.path.join(src, name)
            if name.startswith("index.db"):
                shutil.copy2(path, os.path.join(dst, name))
            elif name == "msg":
                subprocess.run(["cp", "-al", path, os.path.join(dst, name)], check=True)


def load_server(server, a, big, user_corpus):
    users = [f"testuser{i}" for i in range(1, a.users + 1)]
    t = time.time()
    mailroom = isinstance(server, read_path.MailroomServer)
    server.add_user(users[0])  # alone: the first run creates the data directory's databases

    def add(u):  # mailroomctl runs may still meet one another's WAL files: try again
        for attempt in range(5):
            try:
                return server.add_user(u)
            except RuntimeError as e:
                if attempt > 0 and "exist" in str(e):
                    return None  # the failed run had added it after all
                if attempt == 4:
                    raise
                time.sleep(0.2)
    # Dovecot's users file is rewritten by each add_user: one at a time there.
    with concurrent.futures.ThreadPoolExecutor(4 if mailroom else 1) as pool:
        list(pool.map(add, users[1:]))
    server.load_messages(users[0], big)  # testuser1: the big INBOX
    if mailroom:  # the others: their own smaller INBOX
        clone_mailroom_users(server, users[1:], user_corpus)
    else:
        server.load_shared(users[1:], user_corpus)
    log(f"{server.name}: loaded in {time.time() - t:.0f} s")


LOADED = "idle-memory-loaded.json"  # in --data: what was loaded there


def data_key(a):
    return {"users": a.users, "big": a.big, "user_messages": a.user_messages, "seed": a.seed}


def reuse_data(a):
    """True when --data holds a complete load of the same shapes (a load cut short left no
    marker: the directory must be emptied first)."""
    if not a.data or not os.path.isdir(a.data) or not os.listdir(a.data):
        return False
    try:
        with open(os.path.join(a.data, LOADED)) as f:
            key = json.load(f)
    except (OSError, ValueError):
        sys.exit(f"--data {a.data}: not empty and not a finished load of this script")
    if key != data_key(a):
        sys.exit(f"--data {a.data}: loaded with {key}, not {data_key(a)}")
    log(f"mailroom: data of {a.data} reused")
    return True


def measure(a, server, runs, results, label):
    for shape, users in (("big", 1), ("users", a.users)):
        if shape not in a.shapes:
            continue
        for tls in runs:
            if ("tls" if tls else "plain") not in a.modes:
                continue
            server.start()
            try:
                port = server.m.port("imaps") if tls else server.port
                r = idle(a, server, port, users, tls)
            finally:
                server.stop()
            key = f"{label} {shape}{' tls' if tls else ''}"
            results[key] = r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(read_path.ROOT, "build", "release", "bin"))
    ap.add_argument("--bin-before", help="also measure DIR/mailroomd (an older build)")
    ap.add_argument("--load", help="imap_load binary (default: BIN/imap_load)")
    ap.add_argument("--only", default="mailroom,dovecot-hibernate")
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--big", type=int, default=20000, help="messages in the shared big INBOX")
    ap.add_argument("--users", type=int, default=1000, help="users of the many-INBOX shape")
    ap.add_argument("--user-messages", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=5)
    ap.add_argument("--hibernate-hold", type=float, default=30)
    ap.add_argument("--hibernate", type=int,
                    help="mailroomd [imap] idle_hibernate in seconds (default: its own, 30 s); "
                         "Dovecot's configuration here hibernates after 2 s")
    ap.add_argument("--before-without-hibernate", action="store_true",
                    help="--bin-before is older than [imap] idle_hibernate: run it without")
    ap.add_argument("--malloc-mmap-threshold", type=int,
                    help="mailroomd [server] malloc_mmap_threshold (default: its own)")
    ap.add_argument("--workers", type=int, default=8, help="mailroomd [server] worker_threads")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--data", help="mailroomd's data directory, kept: loaded on the first run, "
                                   "used as it is by the next ones with the same shapes")
    ap.add_argument("--shapes", default="big,users", help="which shapes to measure")
    ap.add_argument("--modes", default="plain,tls", help="mailroomd: plain, TLS or both")
    ap.add_argument("--json", default=f"idle-memory-{time.strftime('%Y%m%d-%H%M%S')}.json")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    a.load = os.path.abspath(a.load or os.path.join(a.bin, "imap_load"))
    a.data = os.path.abspath(a.data) if a.data else None
    a.scratch = tempfile.mkdtemp(prefix="imap-idlemem-")
    only = [x for x in a.only.split(",") if x]
    a.shapes = a.shapes.split(",")
    a.modes = a.modes.split(",")
    corpora = []

    def load(server):  # the corpora are made on first use (not when --data is reused)
        if not corpora:
            corpora.append(read_corpus.make_corpus(a.big, a.seed))
            corpora.append(read_corpus.make_corpus(a.user_messages, a.seed + 1))
        load_server(server, a, *corpora)
    results = {}
    for target in only:
        if target == "mailroom":
            os.environ["MAILROOM_BIN"] = a.bin
            reuse = reuse_data(a)  # before the server makes anything there
            server = read_path.MailroomServer(a, tls=True, data_dir=a.data)
            try:
                if not reuse:
                    load(server)
                    if a.data:
                        with open(os.path.join(a.data, LOADED), "w") as f:
                            json.dump(data_key(a), f)
                serving = server.serving_config
                if a.hibernate is not None:
                    serving += f"\n[imap]\nidle_hibernate = {a.hibernate}\n"
                if a.bin_before:
                    # --before-without-hibernate: a build older than [imap] idle_hibernate
                    if not a.before_without_hibernate:
                        server.serving_config = serving
                    os.environ["MAILROOM_BIN"] = os.path.abspath(a.bin_before)
                    measure(a, server, (False, True), results, "mailroom before")
                    os.environ["MAILROOM_BIN"] = a.bin
                if a.malloc_mmap_threshold is not None:  # not for --bin-before: a newer key
                    serving = serving.replace(
                        "[server]\n",
                        f"[server]\nmalloc_mmap_threshold = {a.malloc_mmap_threshold}\n", 1)
                server.serving_config = serving
                measure(a, server, (False, True), results, "mailroom")
            finally:
                server.close()
        elif target == "dovecot-hibernate":
            server = DovecotHibernate(a)
            try:
                load(server)
                measure(a, server, (False,), results, "dovecot-hibernate")
                for line in server.log_tail():  # why sessions did not hibernate, if any
                    log("dovecot: " + line)
            finally:
                server.close()
        else:
            sys.exit(f"--only: unknown server {target}")
    with open(a.json, "w") as f:
        json.dump({"args": {k: v for k, v in vars(a).items() if k != "scratch"},
                   "results": results}, f, indent=1)
    print(f"\n{a.sessions} idle IDLE sessions; big = one INBOX of {a.big}; users = {a.users} "
          f"INBOXes of {a.user_messages}\n")
    print("| server, shape | sessions | Rss KiB per session | Pss KiB per session | processes |")
    print("|---|---|---|---|---|")
    for k, r in results.items():
        print(f"| {k} | {r['connections']} | {r['kib_per_connection']:.1f} | "
              f"{r['pss_kib_per_connection']:.1f} | {r['procs_after']} |")
    log(f"figures in {a.json}")


if __name__ == "__main__":
    main()
