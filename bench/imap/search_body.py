#!/usr/bin/python3
"""SEARCH BODY over one big INBOX: mailroomd with its full-text index (src/fts), mailroomd
with `[fts] enabled = false` (the scan), and Dovecot 2.3 in its high-performance mode without
FTS, in the same run, from the same corpus (issue 20). Also the index's size per MB of mail
and the time `mailroomctl index rebuild` takes.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/imap/search_body.py \
        --bin build/release/bin --messages 100000 [--repeat 3] [--only mailroom,dovecot-perf]

The corpus is bench/imap/read_corpus.py's (threads, multipart, HTML, attachments, Big5/UTF-8
subjects; ~11.7 KB a message) with two needles planted in every 1000th single-part text
message: a Chinese phrase (專案代號青鳥計畫) and an English word (bluebird). Servers and loading
are read_path.py's (mailroomd: `mailroomctl import mbox`, then `mailroomctl index rebuild`;
Dovecot: maildir files, indexed at the first SELECT). The client is a small Python IMAP client on
one connection (UID SEARCH CHARSET UTF-8 BODY with a LITERAL+ literal); each command runs once to warm up and
--repeat times timed; the table shows the best. Every server must give the same UIDs.
Needs root (Dovecot drops privileges) and dovecot-imapd.
"""
import argparse
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import read_corpus  # noqa: E402
from read_path import DovecotServer, MailroomServer  # noqa: E402

USER = "ftsuser"
CJK_NEEDLE = "專案代號青鳥計畫"
QUERIES = [
    ("cjk4", "青鳥計畫", "rare Chinese, 4 characters"),
    ("cjk2", "青鳥", "rare Chinese, 2 characters"),
    ("word", "bluebird", "rare English word"),
    ("common", "meeting", "English word in ~1/3 of the messages"),
    ("frequent", "budget", "English word in most messages"),
    ("absent", "zyxwvutq", "in no message"),
]


def log(text):
    print(time.strftime("%H:%M:%S ") + text, flush=True)


def plant(messages, every=1000):
    """The needles in every `every`th message that is single-part text in 7bit/8bit (so every
    server reads them as body text), marked UTF-8."""
    planted = 0
    for k in range(0, len(messages), every):
        for j in range(k, min(k + every, len(messages))):
            m = messages[j]
            head, sep, body = m.data.partition(b"\r\n\r\n")
            h = head.lower()
            if b"multipart" in h or b"quoted-printable" in h or b"base64" in h:
                continue
            head = head.replace(b"charset=us-ascii", b"charset=utf-8")
            line = f"{CJK_NEEDLE} bluebird\r\n".encode()
            m.data = head + sep + line + body
            planted += 1
            break
    return planted


class Client:
    """One IMAP connection, TCP_NODELAY, the search string as a LITERAL+ literal (RFC 7888;
    both servers offer it): no continuation round trip, which with imaplib's synchronizing
    literal cost a delayed-ACK wait (~40 ms) per command."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.n = 0
        self.line()  # greeting

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(1 << 20)
            if not data:
                raise RuntimeError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def run(self, command, literal=None):
        self.n += 1
        tag = b"t%d" % self.n
        data = tag + b" " + command
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.s.sendall(data + b"\r\n")
        untagged = []
        while True:
            l = self.line()
            if l.startswith(tag + b" "):
                if not l.startswith(tag + b" OK"):
                    raise RuntimeError(f"{command!r}: {l!r}")
                return untagged
            untagged.append(l)


def run_queries(port, login, repeat):
    c = Client(port)
    c.run(b"LOGIN %s pass" % login.encode())
    t0 = time.perf_counter()
    c.run(b"SELECT INBOX")
    out = {"first_select_ms": (time.perf_counter() - t0) * 1000}
    for key, text, _ in QUERIES:
        runs = []
        uids = None
        for run in range(1 + repeat):
            t0 = time.perf_counter()
            lines = c.run(b"UID SEARCH CHARSET UTF-8 BODY", text.encode())
            dt = time.perf_counter() - t0
            found = [l for l in lines if l.startswith(b"* SEARCH")]
            uids = [int(x) for x in found[0].split()[2:]] if found else []
            if run:
                runs.append(dt * 1000)
        out[key] = {"ms": runs, "best_ms": min(runs), "matches": len(uids), "uids": uids}
        log(f"   {key:9} {min(runs):10.1f} ms  {len(uids)} matches")
    c.run(b"LOGOUT")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                  "build", "release", "bin"))
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="mailroom,dovecot-perf")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--json", help="write the results here too")
    a = ap.parse_args()
    a.sessions = 10
    os.environ["MAILROOM_BIN"] = os.path.abspath(a.bin)
    only = a.only.split(",")
    log(f"corpus: {a.messages} messages")
    messages = read_corpus.make_corpus(a.messages)
    planted = plant(messages)
    mail_bytes = sum(len(m.data) for m in messages)
    log(f"   {mail_bytes / 1e6:.1f} MB, needles in {planted} messages")
    results = {"messages": a.messages, "mail_bytes": mail_bytes, "planted": planted}

    if "mailroom" in only:
        srv = MailroomServer(a)
        try:
            srv.add_user(USER)
            t0 = time.time()
            srv.load_messages(USER, messages)
            results["mailroom_import_s"] = time.time() - t0
            log(f"mailroom: imported in {results['mailroom_import_s']:.0f} s; index rebuild")
            t0 = time.time()
            srv.m.ctl("index", "rebuild", srv.login(USER))
            results["mailroom_index_s"] = time.time() - t0
            st = srv.m.ctl("index", "status", srv.login(USER))["users"][0]
            results["index_bytes"] = st["index_bytes"]
            results["store_mail_bytes"] = st["mail_bytes"]
            results["index_documents"] = st["documents"]
            log(f"   indexed in {results['mailroom_index_s']:.0f} s: {st['index_bytes'] / 1e6:.1f} MB"
                f" for {st['mail_bytes'] / 1e6:.1f} MB of mail"
                f" ({st['index_bytes'] / st['mail_bytes']:.3f} MB per MB)")
            srv.start()
            log("mailroom with the index:")
            results["mailroom-fts"] = run_queries(srv.port, srv.login(USER), a.repeat)
            srv.stop()
            srv.serving_config += "\n[fts]\nenabled = false\n"
            srv.start()
            log("mailroom without the index ([fts] enabled = false):")
            results["mailroom-scan"] = run_queries(srv.port, srv.login(USER), a.repeat)
            srv.stop()
        finally:
            srv.close()

    if "dovecot-perf" in only:
        srv = DovecotServer(a)
        try:
            srv.add_user(USER)
            t0 = time.time()
            srv.load_messages(USER, messages)
            results["dovecot_load_s"] = time.time() - t0
            srv.start()
            log("dovecot-perf (no FTS):")
            results["dovecot-perf"] = run_queries(srv.port, srv.login(USER), a.repeat)
            srv.stop()
        finally:
            srv.close()

    servers = [s for s in ("mailroom-fts", "mailroom-scan", "dovecot-perf") if s in results]
    print()
    print("| query | " + " | ".join(servers) + " | matches |")
    print("|---" * (len(servers) + 2) + "|")
    mismatch = []
    for key, text, what in QUERIES:
        cells = [f"{results[s][key]['best_ms']:.1f} ms" for s in servers]
        counts = {s: results[s][key]["uids"] for s in servers}
        ref = counts[servers[0]]
        same = all(v == ref for v in counts.values())
        if not same:
            mismatch.append(key)
        n = "/".join(str(len(v)) for v in counts.values()) if not same else str(len(ref))
        print(f"| `BODY {text}` ({what}) | " + " | ".join(cells) + f" | {n} |")
    if "index_bytes" in results:
        print(f"\nindex: {results['index_bytes'] / 1e6:.1f} MB for "
              f"{results['store_mail_bytes'] / 1e6:.1f} MB of mail = "
              f"{results['index_bytes'] / results['store_mail_bytes']:.3f} MB per MB; "
              f"built in {results['mailroom_index_s']:.0f} s "
              f"({a.messages / results['mailroom_index_s']:.0f} messages/s)")
    if mismatch:
        print("results differ between servers for: " + ", ".join(mismatch))
    if a.json:
        for s in servers:
            for key, _, _ in QUERIES:
                results[s][key].pop("uids", None)
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
