"""The fetch cache (src/imap/fetch_cache.h, FORMAT.md "Fetch cache") through the real
mailroomd: FETCH of ENVELOPE, BODYSTRUCTURE, BODY and HEADER.FIELDS answered from it is byte
for byte what reading the message gives, cold, warm and after a restart, for hostile headers; a
corrupt file is rebuilt; mail delivered to an open mailbox is fetched right. (A module of its
own so that ctest runs it beside the sort key cache's.)"""
import imaplib
import os
import smtplib
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from test_imap_sortkeys import CacheCase  # noqa: E402

# Messages whose headers stress HEADER.FIELDS: folding, repeats, odd names and junk lines, a
# header without a body, 8-bit and encoded words, a multipart with an attached message.
HOSTILE = [
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: plain\r\n\r\nbody\r\n",
    b"Subject: folded\r\n over\r\n\tthree lines\r\nTo: x@example.com\r\nTo: again@example.com"
    b"\r\nX-Other: not cached\r\n continued\r\nCc: c@example.com\r\n\r\nbody\r\n",
    b"Subject : spaced name\r\nsubject: lower\r\nMESSAGE-ID: <id@x>\r\nX-Priority: 1\r\n"
    b"List-Id: <list.example.com>\r\n\r\nbody\r\n",
    b"From: first@example.com\r\njunk line without colon\r\n continuation of junk\r\n"
    b"Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nbody\r\n",
    b"From: header-only@example.com\r\nSubject: no body at all\r\n",
    b"Subject: =?UTF-8?B?w4lsw6h2ZQ==?=\r\nFrom: \xe7\x8e\x8b <w@example.com>\r\n\r\n\xe4\xbd\xa0\r\n",
    b"From:\r\nTo:\r\nSubject:x\r\nReferences: <a@x>\r\n <b@x>\r\nIn-Reply-To: <b@x>\r\n"
    b"Content-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\n",
    b"From: m@example.com\r\nSubject: with parts\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
    b"hello\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.com\r\n"
    b"Subject: inner\r\n\r\ninner body\r\n--XX--\r\n",
    b"Subject: " + b"long " * 1200 + b"\r\nFrom: long@example.com\r\n\r\nbody\r\n",
]
FIELDS = "From To Cc Subject Date Message-ID References In-Reply-To Content-Type X-Priority List-Id"


class FetchCache(CacheCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = imaplib.IMAP4("127.0.0.1", cls.m.port("imap"))
        c.login("alice@example.com", "wonderland")
        c.create("Odd")
        for i in range(3):
            for raw in HOSTILE:
                typ, data = c.append("Odd", None, None, raw)
                assert typ == "OK", data
        c.logout()

    def fetch_files(self):
        if not os.path.isdir(self.cache):
            return []
        return sorted(f for f in os.listdir(self.cache) if f.endswith(".fetch"))

    def answers(self):
        """The cached form (listed fields only) and the same asked with one unlisted field,
        which reads every message; the unlisted name removed from the labels."""
        w = self.login()
        self.assertIn(b" OK ", w.cmd("EXAMINE Odd")[1])
        cached = "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER.FIELDS (%s)] " \
                 "BODY.PEEK[HEADER.FIELDS (Subject)]<3.9>)"
        u1, t1 = w.cmd(cached % FIELDS)
        u2, t2 = w.cmd((cached % (FIELDS + " X-Not-Listed")).replace("(Subject)", "(Subject X-Not-Listed)"))
        w.cmd("LOGOUT")
        w.close()
        self.assertIn(b" OK ", t1)
        self.assertIn(b" OK ", t2)
        u2 = [l.replace(b" X-Not-Listed", b"") for l in u2]
        return u1, u2

    def test_cached_answers_equal_reading_the_messages(self):
        cold, read = self.answers()  # the first FETCH builds the cache as it goes
        self.assertEqual(len(cold), 3 * len(HOSTILE))
        self.assertEqual(cold, read)
        self.assertTrue(self.fetch_files())
        warm, read = self.answers()
        self.assertEqual(warm, cold)
        self.assertEqual(read, cold)
        # Spot checks of what the form must hold: folding kept, repeats kept, nothing unlisted.
        folded = cold[1]
        self.assertIn(b"Subject: folded\r\n over\r\n\tthree lines\r\nTo: x@example.com\r\n"
                      b"To: again@example.com\r\nCc: c@example.com\r\n\r\n", folded)
        self.assertNotIn(b"X-Other", folded)
        self.assertIn(b"X-Priority: 1\r\nList-Id: <list.example.com>\r\n", cold[2])
        self.m.restart()  # mapped from the file
        warm, read = self.answers()
        self.assertEqual(warm, cold)
        self.assertEqual(read, cold)

    def test_corrupt_file_is_rebuilt(self):
        reference, _ = self.answers()
        files = self.fetch_files()
        self.assertTrue(files)
        self.m.stop()
        for f in files:
            path = os.path.join(self.cache, f)
            with open(path, "r+b") as fh:
                fh.seek(os.path.getsize(path) - 7)
                b = fh.read(1)
                fh.seek(-1, os.SEEK_CUR)
                fh.write(bytes([b[0] ^ 0x41]))
        self.m.start()
        got, read = self.answers()
        self.assertEqual(got, reference)
        self.assertEqual(read, reference)
        self.assertRegex(self.m.log(), r"event=cache_file_rejected path=\S+\.fetch\S* reason=checksum")

    def test_delivery_to_an_open_mailbox_and_seen_by_a_non_peek_fetch(self):
        w = self.login()
        w.cmd("SELECT INBOX")
        w.cmd("UID FETCH 1:* (ENVELOPE BODY.PEEK[HEADER.FIELDS (Subject)])")
        with smtplib.LMTP("127.0.0.1", self.m.port("lmtp")) as lmtp:
            lmtp.sendmail("someone@example.org", ["alice@example.com"],
                          b"From: someone@example.org\r\nTo: alice@example.com\r\n"
                          b"Subject: fresh one\r\nMessage-ID: <fresh@x>\r\n\r\nhi\r\n")
        deadline = time.time() + 10
        while True:
            u, _ = w.cmd("UID SEARCH HEADER Message-ID fresh@x")
            hits = [l for l in u if l.startswith(b"* SEARCH")][0].split()[2:]
            if hits or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(hits)
        uid = int(hits[0])
        u, t = w.cmd("UID FETCH %d (ENVELOPE BODY[HEADER.FIELDS (Subject)])" % uid)
        self.assertIn(b" OK ", t)
        line = [l for l in u if b" FETCH " in l][0]
        self.assertIn(b'"fresh one"', line)
        self.assertIn(b"BODY[HEADER.FIELDS (Subject)] {22}\r\nSubject: fresh one\r\n\r\n", line)
        # RFC 3501 6.4.5: a non-peek BODY[...] sets \Seen, and the response says so.
        self.assertRegex(line, rb"FLAGS \([^)]*\\Seen")
        w.close()



def big_message(i):
    """About 40 KB (20 KB to 120 KB), a unique marker at both ends so a reordered, cut or
    spliced answer shows."""
    body = "".join("line %d of message %d %s\n" % (k, i, "x" * (k % 50))
                   for k in range(400 + (i * 137) % 1800))
    return ("From: bulk%d@example.com\nSubject: bulk %d\nMessage-ID: <bulk%d@x>\n\nBEGIN-%d\n%s"
            "END-%d\n" % (i, i, i, i, body, i)).encode()


class BulkBodyFetch(CacheCase):
    """UID FETCH 1:* BODY.PEEK[] sends megabytes in batches: a worker formats the next batch
    while the last one is written from its own buffer (fetch.cpp, net::Transport::flush_with).
    Every message must arrive whole, in order, over plain text and TLS, with pipelined commands
    answered after it, and a client that leaves in the middle must not hurt the server."""
    COUNT = 240

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.originals = [big_message(i).replace(b"\n", b"\r\n") for i in range(cls.COUNT)]
        with tempfile.NamedTemporaryFile(suffix=".mbox", delete=False) as f:
            for raw in cls.originals:
                f.write(b"From MAILER-DAEMON Fri Nov 27 10:00:00 2026\n" +
                        raw.replace(b"\r\n", b"\n") + b"\n")
        try:
            cls.m.ctl("import", "mbox", "alice@example.com", "Bulk", f.name)
        finally:
            os.unlink(f.name)

    def check_all(self, conn):
        typ, _ = conn.select("Bulk", readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(bodies), self.COUNT)
        self.assertGreater(sum(map(len, bodies)), 8 << 20)  # several flush batches
        for i, (got, want) in enumerate(zip(bodies, self.originals)):
            self.assertTrue(got.endswith(want), "message %d differs" % i)
            self.assertTrue(got.startswith(b"From: bulk%d@" % i) or
                            b"\r\nFrom: bulk%d@" % i in got, "message %d" % i)

    def test_plaintext(self):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        c.login("alice@example.com", "wonderland")
        self.check_all(c)
        c.logout()

    def test_tls(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        c.login("alice@example.com", "wonderland")
        self.check_all(c)
        c.logout()

    def test_pipelined_commands_come_after_the_whole_answer(self):
        w = self.login()
        w.cmd("EXAMINE Bulk")
        w.sock.sendall(b"p1 UID FETCH 1:* (UID BODY.PEEK[])\r\np2 NOOP\r\n")
        uids = []
        while True:
            line = w.read_response_line()
            if line.startswith(b"p1 "):
                self.assertIn(b"p1 OK", line)
                break
            self.assertTrue(line.startswith(b"* "), line[:80])
            if b" FETCH " in line:
                uids.append(int(line.split(b"UID ")[1].split()[0]))
        self.assertEqual(uids, sorted(uids))
        self.assertEqual(len(uids), self.COUNT)
        self.assertTrue(w.read_response_line().startswith(b"p2 OK"))
        w.close()

    def test_client_leaving_mid_answer(self):
        for _ in range(3):
            w = self.login()
            w.cmd("EXAMINE Bulk")
            w.sock.sendall(b"x UID FETCH 1:* BODY.PEEK[]\r\n")
            w.sock.recv(100000)
            w.sock.close()
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        c.login("alice@example.com", "wonderland")
        typ, data = c.select("Bulk", readonly=True)
        self.assertEqual((typ, int(data[0])), ("OK", self.COUNT))
        typ, data = c.uid("FETCH", "1", "(BODY.PEEK[])")
        self.assertTrue(data[0][1].endswith(self.originals[0]))
        c.logout()
        self.assertIsNone(self.m.proc.poll())


if __name__ == "__main__":
    unittest.main()
