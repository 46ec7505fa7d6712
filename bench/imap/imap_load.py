#!/usr/bin/env python3
"""IMAP load generator: mixed sessions (LOGIN, SELECT, FETCH headers and bodies, SEARCH,
STORE, APPEND, EXPUNGE, LOGOUT) and idle-memory measurement (N authenticated IDLE
connections; RSS delta of the server process tree per connection).

  imap_load.py mixed --port 10143 --users 20 --user-fmt testuser%d --password pass \
               --clients 16 --seconds 20
  imap_load.py idle --port 10143 --pid <server pid> --count 2000 ...

Prints one JSON line of results. Works against mailroomd, tests/integration/imap/imap_driver
and Dovecot alike (only standard IMAP4rev1 + IDLE)."""
import argparse
import asyncio
import json
import os
import sys
import time

MSG = (b"From: load@example.com\r\nTo: user@example.com\r\nSubject: load test %d\r\n"
       b"Message-ID: <load%d@example.com>\r\n\r\n" + b"body line of the load test\r\n" * 40)


class Client:
    def __init__(self, reader, writer):
        self.r, self.w, self.n = reader, writer, 0

    @classmethod
    async def connect(cls, host, port):
        r, w = await asyncio.open_connection(host, port, limit=1 << 22)
        c = cls(r, w)
        await r.readline()
        return c

    async def cmd(self, text, literal=None):
        self.n += 1
        tag = b"a%d" % self.n
        if literal is None:
            self.w.write(tag + b" " + text + b"\r\n")
        else:
            self.w.write(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        await self.w.drain()
        while True:
            line = await self.r.readline()
            if not line:
                raise EOFError
            if line.endswith(b"}\r\n") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
                await self.r.readexactly(n)
                continue
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line)
                return line

    def close(self):
        self.w.close()


async def session(args, user, counters, seq):
    c = await Client.connect(args.host, args.port)
    await c.cmd(b"LOGIN %s %s" % ((args.user_fmt % (user + 1)).encode(), args.password.encode()))
    await c.cmd(b"SELECT INBOX")
    ops = 2
    tag_line = await c.cmd(b"APPEND INBOX", MSG % (seq, seq))
    uid = tag_line.split(b"APPENDUID ")[1].split(b"]")[0].split()[1] if b"APPENDUID" in tag_line else None
    await c.cmd(b"NOOP")
    await c.cmd(b"FETCH 1:20 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
    await c.cmd(b"FETCH 1:3 BODY.PEEK[]")
    await c.cmd(b"SEARCH UNSEEN SUBJECT load")
    await c.cmd(b"STORE 1:5 +FLAGS (\\Seen)")
    await c.cmd(b"STORE 6:10 -FLAGS.SILENT (\\Seen)")
    if uid:
        await c.cmd(b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uid)
        await c.cmd(b"UID EXPUNGE %s" % uid)
    else:
        await c.cmd(b"SEARCH HEADER Message-ID <load%d@example.com>" % seq)
        await c.cmd(b"NOOP")
    ops += 9
    await c.cmd(b"LOGOUT")
    c.close()
    counters["sessions"] += 1
    counters["ops"] += ops + 1


async def mixed(args):
    counters = {"sessions": 0, "ops": 0, "errors": 0}
    # seed: 20 messages per user
    for u in range(args.users):
        c = await Client.connect(args.host, args.port)
        await c.cmd(b"LOGIN %s %s" % ((args.user_fmt % (u + 1)).encode(), args.password.encode()))
        for i in range(20):
            await c.cmd(b"APPEND INBOX", MSG % (i, i))
        await c.cmd(b"LOGOUT")
        c.close()
    deadline = time.monotonic() + args.seconds
    seq = [1000]

    async def worker(k):
        while time.monotonic() < deadline:
            seq[0] += 1
            try:
                await session(args, (k + seq[0]) % args.users, counters, seq[0])
            except Exception as e:  # counted and the first few shown
                counters["errors"] += 1
                if counters["errors"] <= 3:
                    print("error:", repr(e)[:200], file=sys.stderr)
    start = time.monotonic()
    await asyncio.gather(*[worker(k) for k in range(args.clients)])
    elapsed = time.monotonic() - start
    return {"mode": "mixed", "clients": args.clients, "seconds": round(elapsed, 1),
            "sessions_per_s": round(counters["sessions"] / elapsed, 1),
            "ops_per_s": round(counters["ops"] / elapsed, 1), "errors": counters["errors"]}


def tree_rss_kib(pid):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                children.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
            except OSError:
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def idle(args):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    before = tree_rss_kib(args.pid)
    conns = []
    for i in range(args.count):
        c = await Client.connect(args.host, args.port)
        await c.cmd(b"LOGIN %s %s" % ((args.user_fmt % (i % args.users + 1)).encode(), args.password.encode()))
        await c.cmd(b"SELECT INBOX")
        c.w.write(b"i IDLE\r\n")
        await c.w.drain()
        await c.r.readline()
        conns.append(c)
    await asyncio.sleep(args.hold)
    after = tree_rss_kib(args.pid)
    for c in conns:
        c.close()
    return {"mode": "idle", "connections": args.count, "rss_before_kib": before,
            "rss_after_kib": after, "kib_per_connection": round((after - before) / args.count, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["mixed", "idle"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--user-fmt", default="testuser%d")
    ap.add_argument("--password", default="pass")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--hold", type=float, default=3)
    args = ap.parse_args()
    result = asyncio.run(mixed(args) if args.mode == "mixed" else idle(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
