#!/usr/bin/python3
"""Memory per open JMAP EventSource stream (RFC 8620 7.3, src/jmap/push.h), and how long one
delivery takes to reach every open stream.

    flock /tmp/mailroom-bench.lock /usr/bin/python3 bench/jmap/push_memory_bench.py \\
        --bin build/release/bin [--streams 1000]

mailroomd with a plain HTTP and an HTTPS listener, started afresh for each measurement (freed
memory is kept by the allocator, so phases must not follow each other in one process). alice
signs in (the web client's cookie); 20 connections of the kind measured are opened and kept
(bob's),
then the baseline RSS, then --streams connections each open
GET /jmap/eventsource/?types=Email,Mailbox&closeafter=no&ping=60 with that cookie and read the
response head. Memory: mailroomd's VmRSS after all are open minus the baseline, per stream.
The anchor from the same run: as many keep-alive connections that each made one
GET /webmail/session and stay idle (what any open HTTP connection costs). Fan-out: one message
delivered by SMTP, then the time until every stream has read its "state" event (each stream
renders its account's states on a worker).
"""
import argparse
import json
import os
import selectors
import smtplib
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import DEFAULT_LISTENERS, Mailroom  # noqa: E402
sys.path.insert(0, HERE)
from jmap_list_bench import rss_kb  # noqa: E402


def settle(pid):
    """RSS once it stops moving (the server has finished the work the clients caused)."""
    last = rss_kb(pid)
    for _ in range(50):
        time.sleep(0.2)
        now = rss_kb(pid)
        if now == last:
            return now
        last = now
    return last


def connect(port, tls_ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname="127.0.0.1")
    return s


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit(f"closed before the head: {data!r}")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    return head.split("\r\n")[0], data.split(b"\r\n\r\n", 1)[1]


def open_many(port, tls_ctx, cookie, n, path):
    conns = []
    for _ in range(n):
        s = connect(port, tls_ctx)
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n").encode())
        status, rest = read_head(s)
        if " 200 " not in status:
            raise SystemExit(f"{path}: {status}")
        conns.append([s, rest])
    return conns


def fan_out(m, conns):
    sel = selectors.DefaultSelector()
    pending = {}
    for c in conns:
        c[0].setblocking(False)
        sel.register(c[0], selectors.EVENT_READ, c)
        pending[id(c)] = c
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30) as s:
        s.sendmail("carol@remote.example", ["alice@example.com"],
                   b"From: carol@remote.example\r\nTo: alice@example.com\r\nSubject: fan-out\r\n\r\nx\r\n")
    deadline = time.time() + 300
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            c = key.data
            try:
                chunk = c[0].recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            c[1] += chunk
            if b"event: state" in c[1] and id(c) in pending:
                del pending[id(c)]
                sel.unregister(c[0])
    took = time.perf_counter() - t0
    for c in conns:
        try:
            sel.unregister(c[0])
        except (KeyError, ValueError):
            pass
    return took, len(conns) - len(pending)


def sign_in(m, user="alice@example.com", password="wonderland"):
    """The web client's cookie (one sign-in)."""
    s = connect(m.port("https"), m.ssl_context())
    body = json.dumps({"username": user, "password": password})
    origin = f"https://127.0.0.1:{m.port('https')}"
    s.sendall((f"POST /webmail/login HTTP/1.1\r\nHost: 127.0.0.1:{m.port('https')}\r\n"
               f"Origin: {origin}\r\nSec-Fetch-Site: same-origin\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    s.close()
    head = data.split(b"\r\n\r\n")[0].decode()
    if " 200 " not in head.split("\r\n")[0]:
        raise SystemExit("sign-in: " + head)
    return [line.split(":", 1)[1].strip().split(";")[0] for line in head.split("\r\n")
            if line.lower().startswith("set-cookie:")][0]


PUSH = "/jmap/eventsource/?types=Email,Mailbox&closeafter=no&ping=60"
WARM = 20  # connections of the same kind opened (and kept, by bob) before the baseline


def phase(m, listener, path, n):
    """A fresh mailroomd: RSS growth per connection for n connections of one kind (a push
    stream, or an idle keep-alive connection after one GET), after WARM of them."""
    m.start()
    try:
        pid = m.proc.pid
        tls = m.ssl_context() if listener == "https" else None
        cookie = sign_in(m)
        # The warm-up is bob's (alice's streams alone reach the per-user cap).
        warm = open_many(m.port(listener), tls, sign_in(m, "bob@example.com", "builder"), WARM, path)
        before = settle(pid)
        conns = open_many(m.port(listener), tls, cookie, n, path)
        after = settle(pid)
        row = {"listener": listener, "what": "stream" if path == PUSH else "idle keep-alive",
               "connections": n, "rss_before_kb": before, "rss_after_kb": after,
               "kb_per_connection": round((after - before) / n, 2)}
        if path == PUSH:
            took, reached = fan_out(m, conns)
            row.update(fan_out_seconds=round(took, 3), fan_out_reached=reached)
        for c in conns + warm:
            c[0].close()
        print(json.dumps(row), flush=True)
        return row
    finally:
        m.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--streams", type=int, default=1000)
    args = ap.parse_args()
    os.environ["MAILROOM_BIN"] = os.path.abspath(args.bin)
    n = args.streams
    m = Mailroom(listeners=dict(DEFAULT_LISTENERS, http=("http", "none"), https=("http", "implicit")),
                 extra_config=f"[limits]\nmax_connections_per_ip = {n + WARM + 50}\n"
                              f"[http]\nmax_streams = {n + WARM + 10}\n"
                              f"max_streams_per_user = {min(n, 1000)}\n")
    rows = {}
    try:
        m.seed_demo()
        for listener in ("http", "https"):
            for path in (PUSH, "/webmail/session"):
                rows[(listener, path)] = phase(m, listener, path, n)
        print("\nsummary: " + "; ".join(
            "%s: %.1f KB per open EventSource (an idle keep-alive connection: %.1f KB); one "
            "delivery reached %d streams in %.2f s" % (
                "plain" if listener == "http" else "TLS", rows[(listener, PUSH)]["kb_per_connection"],
                rows[(listener, "/webmail/session")]["kb_per_connection"],
                rows[(listener, PUSH)]["fan_out_reached"], rows[(listener, PUSH)]["fan_out_seconds"])
            for listener in ("http", "https")))
    finally:
        m.close()


if __name__ == "__main__":
    main()
