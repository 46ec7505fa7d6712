"""A deterministic mailbox for POP3 download tests and the POP3 benchmark: mixed sizes,
8-bit bodies, Big5 and UTF-8 subjects (raw 8-bit and RFC 2047 encoded), lines that begin
with '.' (byte-stuffing) and with 'From ' (mboxrd quoting on import).

Messages are CRLF bytes, end with CRLF and never end with an empty line, and contain no NUL or
bare CR, so `mailroomctl import mbox` of write_mboxrd() stores exactly these bytes.
"""
import base64
import random

SUBJECTS_UTF8 = ["會議通知 第{}次", "Grüße aus Köln #{}", "日本語の件名 {}", "Ελληνικά {}",
                 "емодзи 🙂 тест {}"]
SUBJECTS_BIG5 = ["季度報告 第{}號", "請查收附件 {}", "員工旅遊通知 {}"]


def _subject(rng, i):
    kind = i % 5
    if kind == 0:
        return b"Subject: plain ASCII subject %d" % i
    if kind == 1:  # raw UTF-8 header (RFC 6532 style)
        return b"Subject: " + rng.choice(SUBJECTS_UTF8).format(i).encode("utf-8")
    if kind == 2:  # RFC 2047 UTF-8
        text = rng.choice(SUBJECTS_UTF8).format(i).encode("utf-8")
        return b"Subject: =?UTF-8?B?" + base64.b64encode(text) + b"?="
    if kind == 3:  # raw Big5 bytes, as old Taiwanese clients send them
        return b"Subject: " + rng.choice(SUBJECTS_BIG5).format(i).encode("big5")
    text = rng.choice(SUBJECTS_BIG5).format(i).encode("big5")
    return b"Subject: =?Big5?B?" + base64.b64encode(text) + b"?="


def _body_line(rng, n):
    r = rng.random()
    if r < 0.03:
        return b"." + b"dot-start line %d" % n
    if r < 0.05:
        return b"From the desk of line %d" % n
    if r < 0.06:
        return b"."
    if r < 0.20:  # 8-bit Latin-1 and UTF-8 bytes
        return ("Ünïcödé línë %d 中文內容 " % n).encode(rng.choice(["utf-8", "utf-8", "big5", "latin-1"]),
                                                     errors="replace")
    if r < 0.22:
        return b""
    width = rng.randint(1, 76)
    return bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789,;:-")
                 for _ in range(width))


def make_messages(count=1000, seed=7):
    """Returns a list of messages (bytes, CRLF)."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        # Mixed sizes: mostly small, some medium, a few large (up to ~600 KB).
        r = rng.random()
        target = (rng.randint(300, 4000) if r < 0.7 else
                  rng.randint(4000, 60000) if r < 0.97 else rng.randint(100000, 600000))
        headers = [
            b"Return-Path: <sender%d@example.org>" % i,
            b"From: Sender %d <sender%d@example.org>" % (i, i),
            b"To: alice@example.com",
            _subject(rng, i),
            b"Date: Mon, 2 Nov 2026 10:%02d:%02d +0800" % (i // 60 % 60, i % 60),
            b"Message-ID: <pop3-corpus-%d@example.org>" % i,
            b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=" + rng.choice([b"utf-8", b"big5", b"iso-8859-1"]),
            b"Content-Transfer-Encoding: 8bit",
        ]
        lines = headers + [b""]
        size = sum(len(l) + 2 for l in lines)
        n = 0
        while size < target:
            line = _body_line(rng, n)
            lines.append(line)
            size += len(line) + 2
            n += 1
        if lines[-1] == b"":
            lines.append(b"end")
        messages.append(b"\r\n".join(lines) + b"\r\n")
    return messages


def write_mboxrd(path, messages, line_ending=b"\n"):
    """An mboxrd file (">From " quoting) with the given line ending."""
    with open(path, "wb") as f:
        for m in messages:
            f.write(b"From MAILER-DAEMON Mon Nov  2 10:00:00 2026" + line_ending)
            for line in m[:-2].split(b"\r\n"):
                stripped = line.lstrip(b">")
                if stripped.startswith(b"From "):
                    line = b">" + line
                f.write(line + line_ending)
            f.write(line_ending)
