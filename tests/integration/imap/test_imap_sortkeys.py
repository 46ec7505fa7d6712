"""The per-mailbox IMAP caches through the real mailroomd.

The sort/search key cache (src/imap/sort_keys.h, FORMAT.md "Sort key cache"): SORT, THREAD and
header SEARCH answer the same with a cold cache (files deleted, server restarted) and a warm
one; a kill -9 while a key file is being written leaves answers that match a cold recomputation
(rebuilt or correct, never stale); a message delivered by LMTP shows in the next SORT of a
session that has the mailbox open; fsck removes the key files of deleted mailboxes and never
calls them inconsistent. SORT keeps the last order per mailbox and criteria in memory
(src/imap/sort_order.h) and merges new mail into it: after appends, expunges and with programs
that select a subset, a session whose orders are warm answers byte for byte what a restarted
server (nothing kept) answers.
(The fetch cache's tests are in test_imap_fetchcache.py.)"""
import os
import random
import shutil
import signal
import smtplib
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from imapwire import Wire  # noqa: E402
from harness import Mailroom  # noqa: E402

COMMANDS = [
    "UID SORT (SUBJECT) UTF-8 ALL",
    "UID SORT (REVERSE DATE) UTF-8 ALL",
    "SORT (FROM DATE) UTF-8 ALL",
    "SORT (REVERSE TO CC SIZE) UTF-8 ALL",
    "UID SORT (ARRIVAL SUBJECT) UTF-8 SUBJECT topic",
    "UID THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "UID SEARCH SUBJECT \"re\"",
    "UID SEARCH FROM \"user1\"",
    "UID SEARCH OR TO \"team3\" CC \"\"",
    "UID SEARCH BCC \"\"",
    "UID SEARCH SENTSINCE 10-Nov-2026 SENTBEFORE 20-Nov-2026",
    "UID SEARCH SENTON 5-Nov-2026",
    "UID SEARCH NOT SUBJECT \"status\"",
]

KEPT_ORDER_COMMANDS = [
    "UID SORT (SUBJECT) UTF-8 ALL",
    "UID SORT (REVERSE DATE) UTF-8 ALL",
    "SORT (FROM DATE) UTF-8 ALL",
    "UID SORT (REVERSE TO CC SIZE) US-ASCII ALL",
    "UID SORT (ARRIVAL SUBJECT) UTF-8 ALL",
    "UID SORT (SUBJECT) UTF-8 SUBJECT topic",  # most messages: picked from the kept order
    "UID SORT (SUBJECT) UTF-8 UID 1:20",  # a few: sorted alone
    "SORT (REVERSE DATE) UTF-8 NOT FROM \"user3\"",
    "UID SORT (SIZE) UTF-8 ALL",
]


def message(i):
    """Conversations of five, varied senders, some without Date or Cc, one non-ASCII subject."""
    thread, pos = divmod(i, 5)
    subject = ("Re: " if pos else "") + "Project %d topic %d" % (thread % 13, thread)
    if i % 37 == 0:
        subject = "=?UTF-8?B?w4lsw6h2ZQ==?= [list] fwd: " + subject
    lines = ["From: User %d <user%d@example.com>" % (i % 11, i % 11),
             "To: team%d@example.com" % (i % 7),
             "Subject: " + subject,
             "Message-ID: <m%d@example.com>" % i]
    if i % 9:
        lines.append("Date: %d Nov 2026 %02d:%02d:00 +0%d00" % (1 + i * 7 % 28, i % 24, i % 60, i % 5))
    if i % 4 == 0:
        lines.append("Cc: cc%d@example.com" % (i % 3))
    if pos:
        lines.append("References: <m%d@example.com>" % (i - 1))
    return ("\r\n".join(lines) + "\r\n\r\nbody %d\r\n" % i).encode()


def mbox(messages):
    out = b""
    for m in messages:
        out += b"From MAILER-DAEMON Fri Nov 27 10:00:00 2026\n" + m.replace(b"\r\n", b"\n") + b"\n"
    return out


class CacheCase(unittest.TestCase):
    """A server of its own with the demo users; `cache` is alice's cache directory."""
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.m = Mailroom()
        cls.m.seed_demo()
        cls.m.start()
        cls.account = cls.m.account_id("alice@example.com")
        cls.cache = os.path.join(cls.m.data, "mail", cls.account, "cache")

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "m"):
            cls.m.close()

    def login(self):
        w = Wire(self.m.port("imap"))
        self.assertIn(b" OK ", w.cmd("LOGIN alice@example.com wonderland")[1])
        return w


class SortKeyCache(CacheCase):

    def fill(self, name, count, start=0):
        with tempfile.NamedTemporaryFile(suffix=".mbox", delete=False) as f:
            f.write(mbox(message(i) for i in range(start, start + count)))
        try:
            self.m.ctl("import", "mbox", "alice@example.com", name, f.name)
        finally:
            os.unlink(f.name)

    def answers(self, name):
        w = self.login()
        self.assertIn(b" OK ", w.cmd("SELECT %s" % name)[1])
        out = []
        for c in COMMANDS:
            u, t = w.cmd(c)
            self.assertIn(b" OK ", t, c)
            out.append((c, u))
        w.cmd("LOGOUT")
        w.close()
        return out

    def cold_answers(self, name):
        """Stops the server, deletes every key file, starts it and asks: the reference."""
        self.m.stop()
        shutil.rmtree(self.cache, ignore_errors=True)
        self.m.start()
        return self.answers(name)

    def key_files(self):
        return sorted(os.listdir(self.cache)) if os.path.isdir(self.cache) else []

    def test_cold_and_warm_answers_are_identical(self):
        self.fill("Same", 120)
        cold = self.cold_answers("Same")
        self.assertTrue(any(f.endswith(".keys") for f in self.key_files()), self.key_files())
        self.assertEqual(self.answers("Same"), cold)  # warm, in memory
        self.m.restart()
        self.assertEqual(self.answers("Same"), cold)  # warm, mapped from the file
        # The ASCII subjects sort as RFC 5256 2.1 says: base subject, then sequence number.
        sort = dict(cold)["UID SORT (SUBJECT) UTF-8 ALL"][0]
        self.assertTrue(sort.startswith(b"* SORT "), sort)
        uids = [int(x) for x in sort.split()[2:]]
        self.assertEqual(len(uids), 120)
        # A torn file is discarded, never trusted: the answers stay the same.
        self.m.stop()
        for f in self.key_files():
            path = os.path.join(self.cache, f)
            with open(path, "r+b") as fh:
                fh.truncate(os.path.getsize(path) // 2)
        self.m.start()
        self.assertEqual(self.answers("Same"), cold)

    def test_kill_during_a_key_file_write_is_never_stale(self):
        self.fill("Killed", 1500)
        reference = None
        landed = 0
        for attempt in range(6):
            if landed and attempt >= 3:
                break  # a kill landed mid-write and the rewrites after it were checked too
            # A big fill (first attempt) or a rewrite after new messages (later ones).
            if attempt:
                self.fill("Killed", 400, start=1500 + 400 * (attempt - 1))
            w = self.login()
            w.cmd("SELECT Killed")
            w.send(w.tag().encode() + b" UID SORT (SUBJECT) UTF-8 ALL\r\n")
            deadline = time.time() + 60
            seen_tmp = False
            while time.time() < deadline:
                if any(f.endswith(".tmp") for f in self.key_files()):
                    seen_tmp = True
                    break
                time.sleep(0.0005)
            self.m.kill()
            w.close()
            if seen_tmp and any(f.endswith(".tmp") for f in self.key_files()):
                landed += 1  # the process died with the new file half written
            self.m.start()
            warm = self.answers("Killed")
            reference = self.cold_answers("Killed")
            self.assertEqual(warm, reference, "attempt %d" % attempt)
        self.assertGreater(landed, 0, "no kill landed while a key file was being written")

    def test_lmtp_delivery_shows_in_the_next_sort_of_an_open_session(self):
        w = self.login()
        w.cmd("SELECT INBOX")
        before = w.cmd("UID SORT (SUBJECT) UTF-8 ALL")[0]
        with smtplib.LMTP("127.0.0.1", self.m.port("lmtp")) as lmtp:
            lmtp.sendmail("someone@example.org", ["alice@example.com"],
                          b"From: someone@example.org\r\nTo: alice@example.com\r\n"
                          b"Subject: Aaaa first of all\r\nMessage-ID: <lmtp@x>\r\n\r\nhi\r\n")
        deadline = time.time() + 10
        while True:
            u, t = w.cmd("UID SORT (SUBJECT) UTF-8 ALL")
            sort = [l for l in u if l.startswith(b"* SORT")]
            if sort != before or time.time() > deadline:
                break
            time.sleep(0.1)
        uids = [int(x) for x in sort[0].split()[2:]]
        u, _ = w.cmd("UID SEARCH SUBJECT \"aaaa first\"")
        new = int([l for l in u if l.startswith(b"* SEARCH")][0].split()[2])
        self.assertEqual(uids[0], new)
        u, _ = w.cmd("UID THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"(%d)" % new, u[-1])

    def test_fsck_removes_key_files_of_deleted_mailboxes(self):
        self.fill("Gone", 10)
        self.answers("Gone")
        files = self.key_files()
        self.assertTrue(files)
        w = self.login()
        self.assertIn(b" OK ", w.cmd("DELETE Gone")[1])
        w.close()
        report = self.m.ctl("fsck", "alice@example.com", check=False)
        self.assertTrue(report["accounts"][0]["consistent"], report)
        self.assertGreaterEqual(report["accounts"][0]["stale_cache_files"], 1)
        self.m.ctl("fsck", "alice@example.com", "--repair")
        report = self.m.ctl("fsck", "alice@example.com")
        self.assertEqual(report["accounts"][0]["stale_cache_files"], 0)
        self.assertLess(len(self.key_files()), len(files))

    def test_fsck_removes_fetch_cache_files_of_deleted_mailboxes(self):
        self.fill("GoneToo", 10)
        w = self.login()
        w.cmd("SELECT GoneToo")
        self.assertIn(b" OK ", w.cmd("FETCH 1:* (ENVELOPE)")[1])
        fetch_files = [f for f in self.key_files() if f.endswith(".fetch")]
        self.assertTrue(fetch_files)
        self.assertIn(b" OK ", w.cmd("DELETE GoneToo")[1])
        w.close()
        report = self.m.ctl("fsck", "alice@example.com", check=False)
        self.assertTrue(report["accounts"][0]["consistent"], report)
        self.m.ctl("fsck", "alice@example.com", "--repair")
        for f in fetch_files:
            self.assertNotIn(f, self.key_files())

    def sorts(self, w):
        out = []
        for c in KEPT_ORDER_COMMANDS:
            u, t = w.cmd(c)
            self.assertIn(b" OK ", t, c)
            out.append((c, [line for line in u if line.startswith(b"* SORT")]))
        return out

    def fresh_sorts(self, name):
        """A restarted server keeps no order: the reference."""
        self.m.restart()
        w = self.login()
        self.assertIn(b" OK ", w.cmd("SELECT %s" % name)[1])
        out = self.sorts(w)
        w.cmd("LOGOUT")
        w.close()
        return out

    def test_kept_orders_answer_as_a_fresh_sort(self):
        self.fill("Kept", 400)
        w = self.login()
        w.cmd("SELECT Kept")
        first = self.sorts(w)  # computes and keeps the orders
        self.assertEqual(self.sorts(w), first)  # from the kept orders
        w.cmd("LOGOUT")
        w.close()
        self.assertEqual(self.fresh_sorts("Kept"), first)
        rounds = [
            (3, ""),                   # a few new messages: merged in
            (0, "5,17,200:210"),       # expunges only
            (2, "1:3,399"),            # both
            (60, ""),                  # more than n / 32 new: sorted afresh
            (1, "50:120"),
        ]
        start = 400
        for added, expunge in rounds:
            w = self.login()
            w.cmd("SELECT Kept")
            self.sorts(w)  # warm: keeps the orders of the mailbox as it is now
            other = self.login()  # appends and expunges through the server, which tells `w`
            for i in range(start, start + added):
                tag = other.tag()
                other.send("%s APPEND Kept {%d}\r\n" % (tag, len(message(i))))
                self.assertTrue(other.read_response_line().startswith(b"+"))
                other.send(message(i) + b"\r\n")
                self.assertIn(b" OK ", other.until(tag)[1])
            start += added
            if expunge:
                other.cmd("SELECT Kept")
                _, t = other.cmd("UID STORE %s +FLAGS.SILENT (\\Deleted)" % expunge)
                self.assertIn(b" OK ", t)
                self.assertIn(b" OK ", other.cmd("EXPUNGE")[1])
            other.cmd("LOGOUT")
            other.close()
            w.cmd("NOOP")  # the open session sees the new mail and the expunges
            warm = self.sorts(w)
            w.cmd("LOGOUT")
            w.close()
            self.assertEqual(warm, self.fresh_sorts("Kept"), (added, expunge))


if __name__ == "__main__":
    unittest.main()
