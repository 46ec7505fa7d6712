#!/usr/bin/python3
"""The web client's list view on a big folder (issue 19): Email/query + Email/get of one page
(50) of a 100,000-message mailbox against the same page of a 100-message one, on one
mailroomd over HTTPS, measured in one run; and the memory one signed-in web session with its
connection costs the server.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/jmap/jmap_list_bench.py \\
        --bin build/release/bin [--messages 100000] [--requests 300] [--sessions 500]

What one "page" is: the request the web client sends when a folder opens or scrolls
(web/src: Email/query inMailbox, sorted by receivedAt descending, position P, limit 50,
calculateTotal, then Email/get of the result ids by back-reference with the list's
properties). Three positions per folder: the top (a folder opening), the middle and the end
(the virtual list scrolled). Each figure is the round trip of one keep-alive HTTPS request,
p50 and p99 over --requests requests, after one untimed request (the first, cold one is
reported on its own). The same page over IMAP on the same server (UID SORT REVERSE ARRIVAL,
then UID FETCH of 50 with ENVELOPE, FLAGS, RFC822.SIZE) is measured too, as a reference for
the store's cost under the protocol. The web client authenticates by its session cookie; the
same page with HTTP Basic (what a third-party JMAP client sends) is reported apart, since it
checks the password on every request.

Memory: RSS of mailroomd (VmRSS) with --sessions web sessions signed in (POST /webmail/login),
each on its own open keep-alive connection after one page request, minus the RSS before; per
session. Sign-in runs the account's password hash each time (the demo's scheme).

The messages are bench/imap/mailbox_corpus.py's office mail (threads, English and Chinese,
attachments), without the ones over 64 KB so that 100,000 fit on a small disk; imported with
`mailroomctl import mbox` (timed and reported too).
"""
import argparse
import base64
import http.client
import imaplib
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench", "imap"))
import mailbox_corpus  # noqa: E402
from harness import DEFAULT_LISTENERS, Mailroom  # noqa: E402

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
# web/src/main.ts SUMMARY_PROPS
LIST_PROPERTIES = ["id", "subject", "from", "receivedAt", "keywords", "size", "preview",
                   "hasAttachment", "mailboxIds"]


def write_mbox(path, count, seed):
    """count messages of the corpus (over 64 KB skipped) as an mboxrd file."""
    written = 0
    batch = 0
    with open(path, "wb") as f:
        while written < count:
            for m in mailbox_corpus.make_mailbox(count=2000, seed=seed * 1000 + batch):
                if len(m) > 65536:
                    continue
                f.write(b"From bench@example.com Thu Jan  1 00:00:00 2026\n")
                for line in m.replace(b"\r\n", b"\n").split(b"\n"):
                    if re.match(rb"^>*From ", line):
                        line = b">" + line
                    f.write(line + b"\n")
                f.write(b"\n")
                written += 1
                if written == count:
                    break
            batch += 1
    return os.path.getsize(path)


class Client:
    """One keep-alive HTTPS connection; Basic auth or a web session cookie."""

    def __init__(self, m, auth=None):
        self.conn = http.client.HTTPSConnection("127.0.0.1", m.port("https"), timeout=120,
                                                context=m.ssl_context())
        self.headers = {"Authorization": auth} if auth else {}
        self.origin = f"https://127.0.0.1:{m.port('https')}"
        self.account = None

    def request(self, method, path, body=None, extra=None):
        headers = dict(self.headers, **(extra or {}))
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, r, data

    def sign_in(self, user, password):
        status, r, data = self.request(
            "POST", "/webmail/login", json.dumps({"username": user, "password": password}),
            {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"})
        if status != 200:
            raise SystemExit(f"sign-in: {status} {data[:200]!r}")
        cookie = r.getheader("Set-Cookie").split(";")[0]
        token = json.loads(data).get("csrf")
        self.headers = {"Cookie": cookie, "X-Mailroom-CSRF": token or "",
                        "Origin": self.origin, "Sec-Fetch-Site": "same-origin"}

    def api(self, calls):
        if self.account is None:
            status, _, data = self.request("GET", "/.well-known/jmap")
            if status != 200:
                raise SystemExit(f"session: {status} {data[:200]!r}")
            self.account = json.loads(data)["primaryAccounts"][MAIL]
        method_calls = []
        for i, (name, args) in enumerate(calls):
            method_calls.append([name, dict(args, accountId=self.account), str(i)])
        status, _, data = self.request("POST", "/jmap/api", json.dumps(
            {"using": [CORE, MAIL], "methodCalls": method_calls}))
        if status != 200:
            raise SystemExit(f"api: {status} {data[:300]!r}")
        return json.loads(data)["methodResponses"]


def page_calls(mailbox_id, position):
    return [("Email/query", {"filter": {"inMailbox": mailbox_id},
                             "sort": [{"property": "receivedAt", "isAscending": False}],
                             "position": position, "limit": 50, "calculateTotal": True}),
            ("Email/get", {"#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"},
                           "properties": LIST_PROPERTIES})]


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def timed_pages(client, mailbox_id, position, requests):
    t0 = time.perf_counter()
    first = client.api(page_calls(mailbox_id, position))
    cold = time.perf_counter() - t0
    got = first[1][1]["list"]
    if len(got) == 0:
        raise SystemExit(f"empty page at {position}: {first}")
    lat = []
    for _ in range(requests):
        t0 = time.perf_counter()
        r = client.api(page_calls(mailbox_id, position))
        lat.append(time.perf_counter() - t0)
        if r[1][0] != "Email/get" or len(r[1][1]["list"]) != len(got):
            raise SystemExit(f"bad answer: {r[:1]}")
    return cold, lat, first[0][1].get("total")


def imap_pages(m, mailbox, total, position, requests):
    ctx = ssl.create_default_context(cafile=m.ca)
    imap = imaplib.IMAP4_SSL("127.0.0.1", m.port("imaps"), ssl_context=ctx)
    imap.login("alice@example.com", "wonderland")
    imap.select(mailbox, readonly=True)
    lat = []
    for _ in range(requests + 1):
        t0 = time.perf_counter()
        typ, data = imap.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")
        uids = data[0].split()[position:position + 50]
        typ, data = imap.uid("FETCH", b",".join(uids).decode(), "(ENVELOPE FLAGS RFC822.SIZE)")
        lat.append(time.perf_counter() - t0)
        if typ != "OK" or len(uids) == 0:
            raise SystemExit(f"imap: {typ} {data[:1]}")
    imap.logout()
    return lat[1:]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--sessions", type=int, default=500)
    args = ap.parse_args()
    os.environ["MAILROOM_BIN"] = os.path.abspath(args.bin)

    # --sessions connections from one address: above the default per-IP limit (100).
    m = Mailroom(listeners=dict(DEFAULT_LISTENERS, https=("http", "implicit")),
                 extra_config="[limits]\nmax_connections_per_ip = %d\n" % (args.sessions + 50))
    work = tempfile.mkdtemp(prefix="mr-jmap-bench-")
    try:
        m.seed_demo()
        results = {"messages": args.messages}
        for name, count, seed in (("Big", args.messages, 1), ("Small", args.small, 2)):
            path = os.path.join(work, name + ".mbox")
            size = write_mbox(path, count, seed)
            m.ctl("mailbox", "create", "alice@example.com", name)
            t0 = time.perf_counter()
            # Not m.ctl(): 100,000 messages take longer than its timeout.
            subprocess.run([os.path.join(args.bin, "mailroomctl"), "--config", m.config_path,
                            "import", "mbox", "alice@example.com", name, path], check=True,
                           stdout=subprocess.DEVNULL)
            took = time.perf_counter() - t0
            results[f"import_{name.lower()}"] = {"messages": count, "mbox_mb": round(size / 2**20, 1),
                                                 "seconds": round(took, 1),
                                                 "messages_per_s": round(count / took)}
            os.unlink(path)
            print(json.dumps({"import": name, **results[f"import_{name.lower()}"]}), flush=True)
        m.start()
        # The web client's way: a session cookie (one sign-in), CSRF header on POST.
        c = Client(m)
        c.sign_in("alice@example.com", "wonderland")
        boxes = c.api([("Mailbox/get", {"properties": ["name", "totalEmails"]})])[0][1]["list"]
        ids = {b["name"]: b["id"] for b in boxes}
        for name, count in (("Big", args.messages), ("Small", args.small)):
            for where, position in (("top", 0), ("middle", count // 2), ("end", max(count - 50, 0))):
                cold, lat, total = timed_pages(c, ids[name], position, args.requests)
                row = {"folder": name, "messages": count, "total": total, "page": where,
                       "cold_ms": round(cold * 1000, 1),
                       "p50_ms": round(percentile(lat, 50) * 1000, 2),
                       "p99_ms": round(percentile(lat, 99) * 1000, 2),
                       "mean_ms": round(statistics.mean(lat) * 1000, 2)}
                results[f"jmap_{name.lower()}_{where}"] = row
                print(json.dumps(row), flush=True)
            lat = imap_pages(m, name, count, 0, max(args.requests // 3, 20))
            row = {"imap_folder": name, "page": "top", "p50_ms": round(percentile(lat, 50) * 1000, 2),
                   "p99_ms": round(percentile(lat, 99) * 1000, 2)}
            results[f"imap_{name.lower()}_top"] = row
            print(json.dumps(row), flush=True)
        c.conn.close()
        # A third-party JMAP client with HTTP Basic: the password is checked on every request.
        basic = Client(m, "Basic " + base64.b64encode(b"alice@example.com:wonderland").decode())
        basic.api([("Mailbox/get", {"ids": []})])
        _, lat, _ = timed_pages(basic, ids["Small"], 0, max(args.requests // 3, 20))
        row = {"folder": "Small", "auth": "basic", "page": "top",
               "p50_ms": round(percentile(lat, 50) * 1000, 2),
               "p99_ms": round(percentile(lat, 99) * 1000, 2)}
        results["jmap_basic_small_top"] = row
        print(json.dumps(row), flush=True)
        basic.conn.close()

        pid = m.proc.pid
        time.sleep(1)
        before = rss_kb(pid)
        sessions = []
        for i in range(args.sessions):
            s = Client(m)
            s.sign_in("alice@example.com", "wonderland")
            s.api(page_calls(ids["Small"], 0))
            sessions.append(s)
        time.sleep(1)
        after = rss_kb(pid)
        per = (after - before) / max(len(sessions), 1)
        results["web_sessions"] = {"sessions": len(sessions), "rss_before_kb": before,
                                   "rss_after_kb": after, "kb_per_session": round(per, 1)}
        print(json.dumps(results["web_sessions"]), flush=True)
        for s in sessions:
            s.conn.close()

        big = results["jmap_big_top"]
        small = results["jmap_small_top"]
        print("\nsummary: first page of a %d-message folder p50 %.1f ms p99 %.1f ms; of a %d-message "
              "folder p50 %.1f ms p99 %.1f ms (ratio big/small p50 %.2f); %.1f KB per web session"
              % (args.messages, big["p50_ms"], big["p99_ms"], args.small, small["p50_ms"],
                 small["p99_ms"], big["p50_ms"] / small["p50_ms"], per))
    finally:
        m.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
