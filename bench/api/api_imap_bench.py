#!/usr/bin/python3
"""Does admin-API traffic slow IMAP? One mailroomd, the IMAP mixed load of bench/imap
(imap_load, C++/Asio: logins, SELECT, FETCH, STORE, EXPUNGE, APPEND ...) measured three times in
one run: alone, with a concurrent admin-API load, and alone again (the two "alone" runs bound
the machine's noise). Issue 17.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/api/api_imap_bench.py \\
        --bin build/release/bin [--seconds 20] [--clients 32] [--api-clients 4]

The API load: --api-clients processes, each a closed loop on one keep-alive connection with a
global-admin token, mixing reads and writes as an HR script and a dashboard would: list a page
of users (50), show a user, change a user's display name (a directory write), search the
delivery log by recipient, read the account's quota (a store read), GET /metrics. Prints JSON
lines and a summary with IMAP ops/s in each phase, the ratio, and the API's requests/s, p50, p99.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "pop3"))
sys.path.insert(0, os.path.join(ROOT, "bench", "imap"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop3"))
import corpus  # noqa: E402
from compare import load, ssha512  # noqa: E402
from harness import Mailroom  # noqa: E402


def api_worker(port, token, users, seconds, seed, out):
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    lat = []
    errors = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        u = f"testuser{rnd.randint(1, users)}@example.com"
        k = i % 6
        i += 1
        if k == 0:
            req = ("GET", f"/api/v1/users?limit=50&offset={rnd.randint(0, max(users - 50, 0))}", None)
        elif k == 1:
            req = ("GET", f"/api/v1/users/{u}", None)
        elif k == 2:
            req = ("PATCH", f"/api/v1/users/{u}", json.dumps({"display_name": f"User {i}"}))
        elif k == 3:
            req = ("GET", f"/api/v1/delivery-log?recipient={u}&limit=20", None)
        elif k == 4:
            req = ("GET", f"/api/v1/users/{u}/quota", None)
        else:
            req = ("GET", "/metrics", None)
        t0 = time.monotonic()
        try:
            conn.request(req[0], req[1], body=req[2], headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status >= 400:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat.append(time.monotonic() - t0)
    out.put((lat, errors))


def pct(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--load", help="imap_load binary (default: BIN/imap_load)")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--api-clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=8)
    a = ap.parse_args()
    a.load = a.load or os.path.join(a.bin, "imap_load")
    os.environ["MAILROOM_BIN"] = a.bin
    messages = corpus.make_messages(a.messages)
    m = Mailroom(listeners={"imap": ("imap", "none"), "http": ("http", "none")},
                 extra_config="[limits]\nmax_connections = 2000\nmax_connections_per_ip = 2000\n")
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
        rows = "".join(f"testuser{i}@example.com\t{ssha512('pass')}\tUser {i}\n"
                       for i in range(1, a.users + 1))
        users_file = os.path.join(m.base, "users.tsv")
        with open(users_file, "w") as f:
            f.write(rows)
        m.ctl("user", "import", "--file", users_file, json_output=False)
        for i in range(1, a.users + 1):
            m.ctl("import", "mbox", f"testuser{i}@example.com", "INBOX", path, json_output=False)
        os.unlink(path)
        token = m.ctl("api-token", "create", "bench", "--role", "global_admin")["token"]
        m.start()
        pid = m.proc.pid
        imap_port, http_port = m.port("imap"), m.port("http")
        extra = ["--clients", str(a.clients), "--threads", str(a.threads)]
        print(f"== mailroomd pid {pid}: {a.users} users x {a.messages} messages; "
              f"IMAP clients {a.clients}, API clients {a.api_clients}", flush=True)
        load(a, "mixed", imap_port, pid, extra + ["--seconds", str(a.warmup)], "testuser%d@example.com")
        results = {}
        results["alone_1"] = load(a, "mixed", imap_port, pid, extra + ["--seconds", str(a.seconds)],
                                  "testuser%d@example.com")
        q = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=api_worker,
                                         args=(http_port, token, a.users, a.seconds + 2, k, q))
                 for k in range(a.api_clients)]
        for p in procs:
            p.start()
        time.sleep(1)
        results["with_api"] = load(a, "mixed", imap_port, pid, extra + ["--seconds", str(a.seconds)],
                                   "testuser%d@example.com")
        lat, errors = [], 0
        for _ in procs:
            l, e = q.get()
            lat += l
            errors += e
        for p in procs:
            p.join()
        results["alone_2"] = load(a, "mixed", imap_port, pid, extra + ["--seconds", str(a.seconds)],
                                  "testuser%d@example.com")
        api = {"requests": len(lat), "per_second": round(len(lat) / (a.seconds + 2), 1),
               "p50_ms": round(pct(lat, 50) * 1000, 2), "p99_ms": round(pct(lat, 99) * 1000, 2),
               "errors": errors}
        print(json.dumps({"api_load": api}), flush=True)

        def ops(r):
            return r.get("ops_per_s") or r.get("operations_per_s") or r.get("ops_s") or 0

        alone = (ops(results["alone_1"]) + ops(results["alone_2"])) / 2
        print("== summary", flush=True)
        for k in ("alone_1", "with_api", "alone_2"):
            print(f"   IMAP {k:9s}: {ops(results[k]):10.1f} ops/s", flush=True)
        if alone:
            print(f"   IMAP with API load / alone (mean of both): {ops(results['with_api']) / alone:.3f}",
                  flush=True)
        print(f"   API: {api['per_second']} req/s, p50 {api['p50_ms']} ms, p99 {api['p99_ms']} ms, "
              f"errors {api['errors']}", flush=True)
    finally:
        m.close()


if __name__ == "__main__":
    main()
