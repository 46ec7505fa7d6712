"""Spam verdicts from a real rspamd (peers_rspamd.py), the "Ads" folder, personal block and
allow lists, rspamd being down, and spam/ham learning from IMAP moves, end to end: SMTP in,
IMAP and mailroomctl out.

One rspamd (and its redis) for the module: it takes ~15 s to start."""
import imaplib
import os
import re
import smtplib
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "smtp"))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

from api_common import Http, admin_token, api_server  # noqa: E402
from harness import Mailroom  # noqa: E402
from peers_common import free_port  # noqa: E402
from peers_rspamd import Rspamd, available  # noqa: E402
from smtp_util import mailbox_count, wait_for  # noqa: E402

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

RSPAMD = None


def setUpModule():
    global RSPAMD
    if not available():
        raise unittest.SkipTest("rspamd or redis-server is not installed (scripts/setup)")
    RSPAMD = Rspamd().start()


def tearDownModule():
    if RSPAMD is not None:
        RSPAMD.close()


def message(subject, sender="someone@sender.example", to="alice@example.com", body=None,
            headers=""):
    body = body or ("Hello Alice,\r\n\r\nthe quarterly figures are attached as promised; "
                    "tell me what you think about the numbers for the northern region.\r\n")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{time.time_ns()}@sender.example>\r\n"
            f"Date: Sat, 05 Dec 2026 18:00:00 +0000\r\n{headers}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}")


def spam_config(url, controller="", extra=""):
    return ("[mailauth]\nenabled = false\n\n"
            f'[spam]\nurl = "{url}"\ncontroller_url = "{controller}"\ntimeout = "20s"\n{extra}\n')


def fetch_all(m, user, password, mailbox):
    """Every message of `mailbox` as bytes, in UID order."""
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
        typ, _ = imap.select(f'"{mailbox}"', readonly=True)
        if typ != "OK":
            return []
        typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
        return [part[1] for part in data if isinstance(part, tuple)]
    finally:
        imap.logout()


class SpamVerdicts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(extra_config=spam_config(RSPAMD.url, RSPAMD.controller_url))
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def send(self, msg, sender="someone@sender.example", rcpts=("alice@example.com",)):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=60) as s:
            s.sendmail(sender, list(rcpts), msg.encode())

    def wait_in(self, user, password, mailbox, subject):
        def find():
            for raw in fetch_all(self.m, user, password, mailbox):
                if f"Subject: {subject}".encode() in raw:
                    return raw
            return None
        raw = wait_for(find, timeout=60)
        self.assertIsNotNone(raw, f"{subject!r} not in {user}'s {mailbox}\n" + self.m.log()[-3000:])
        return raw

    def wait_delivery_logged(self, subject_marker):
        return wait_for(lambda: subject_marker in self.m.log(), timeout=60)

    def test_gtube_is_refused_with_554_and_nothing_stored(self):
        before = {b: mailbox_count(self.m, "alice@example.com", b) for b in ("INBOX", "Junk")}
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=60) as s:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("someone@sender.example", ["alice@example.com"],
                           message("gtube", body=GTUBE + "\r\n").encode())
        self.assertEqual(e.exception.smtp_code, 554)
        self.assertTrue(e.exception.smtp_error.startswith(b"5.7.1"), e.exception.smtp_error)
        after = {b: mailbox_count(self.m, "alice@example.com", b) for b in ("INBOX", "Junk")}
        self.assertEqual(before, after)
        self.assertIn("event=spam_scanned", self.m.log())

    def test_mid_score_goes_to_junk_with_headers(self):
        self.send(message("MAILROOM-SPAMMY offer one"))
        raw = self.wait_in("alice", "wonderland", "Junk", "MAILROOM-SPAMMY offer one")
        self.assertIn(b"X-Spam-Flag: YES", raw)
        self.assertRegex(raw, rb"X-Spam-Score: \d+\.\d\d")
        self.assertRegex(raw, rb"X-Spam-Status: Yes, score=\d+\.\d\d required=6\.00")
        self.assertIn(b"MAILROOM_TEST_SPAMMY(8.00)", raw)
        inbox = fetch_all(self.m, "alice", "wonderland", "INBOX")
        self.assertFalse(any(b"MAILROOM-SPAMMY offer one" in r for r in inbox))

    def test_clean_mail_goes_to_inbox_with_headers(self):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=60) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("someone@sender.example")[0], 250)
            self.assertEqual(s.rcpt("alice@example.com")[0], 250)
            code, reply = s.data(message("quarterly figures").encode())
        self.assertEqual(code, 250, reply)
        queue_id = reply.decode().rsplit(" ", 1)[-1]
        # The queue id travels to rspamd (Queue-Id) and is in its log beside the verdict.
        self.assertTrue(wait_for(lambda: f"qid: <{queue_id}>" in RSPAMD.log(), timeout=30),
                        RSPAMD.log()[-2000:])
        raw = self.wait_in("alice", "wonderland", "INBOX", "quarterly figures")
        self.assertIn(b"X-Spam-Flag: NO", raw)
        self.assertIn(b"X-Spam-Status: No, score=", raw)

    def test_bulk_mail_goes_to_ads_unless_the_user_keeps_ads(self):
        self.m.ctl("user", "spam-options", "bob@example.com", "--ads", "inbox")
        bulk = message("winter sale", sender="news@shop.example", to="alice@example.com",
                       headers="List-Unsubscribe: <mailto:unsubscribe@shop.example>\r\n"
                               "Precedence: bulk\r\n")
        self.send(bulk, sender="news@shop.example",
                  rcpts=("alice@example.com", "bob@example.com"))
        self.wait_in("alice", "wonderland", "Ads", "winter sale")
        self.wait_in("bob", "builder", "INBOX", "winter sale")
        self.assertEqual(
            [r for r in fetch_all(self.m, "bob", "builder", "Ads") if b"winter sale" in r], [])
        # "Ads" is the special folder the store made, subscribed.
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        imap.login("alice", "wonderland")
        typ, data = imap.lsub('""', "Ads")
        imap.logout()
        self.assertEqual(typ, "OK")
        self.assertTrue(any(b'"Ads"' in d or b" Ads" in d for d in data if d), data)

    def test_personal_block_list_junk_and_discard(self):
        self.m.ctl("user", "blocklist", "add", "alice@example.com", "pest@blocked.example")
        self.m.ctl("user", "blocklist", "add", "bob@example.com", "blocked.example")
        out = self.m.ctl("user", "spam-options", "bob@example.com", "--blocked", "discard")
        self.assertEqual(out["blocked"], "discard")
        listed = self.m.ctl("user", "blocklist", "list", "bob@example.com")
        self.assertEqual(listed["blocklist"], [{"kind": "domain", "value": "blocked.example"}])
        self.send(message("from a pest", sender="pest@blocked.example"),
                  sender="pest@blocked.example", rcpts=("alice@example.com", "bob@example.com"))
        self.wait_in("alice", "wonderland", "Junk", "from a pest")
        discarded = re.compile(r"event=delivery [^\n]*rcpt=bob@example\.com [^\n]*"
                               r"result=rejected")
        self.assertTrue(wait_for(lambda: discarded.search(self.m.log()), timeout=60),
                        self.m.log()[-3000:])
        for box in ("INBOX", "Junk", "Ads"):
            self.assertFalse(any(b"from a pest" in r
                                 for r in fetch_all(self.m, "bob", "builder", box)), box)
        # The file is private to the server's user.
        path = os.path.join(self.m.data, "mail", self.m.account_id("bob@example.com"),
                            "personal-lists.txt")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    def test_allow_list_overrides_a_junk_verdict(self):
        self.m.ctl("user", "allowlist", "add", "alice@example.com", "friend@trusted.example")
        self.send(message("MAILROOM-SPAMMY but from a friend", sender="friend@trusted.example"),
                  sender="friend@trusted.example")
        raw = self.wait_in("alice", "wonderland", "INBOX", "MAILROOM-SPAMMY but from a friend")
        self.assertIn(b"X-Spam-Flag: YES", raw)  # the verdict is still shown
        self.m.ctl("user", "allowlist", "remove", "alice@example.com", "friend@trusted.example")
        self.assertEqual(self.m.ctl("user", "allowlist", "list", "alice@example.com")["allowlist"],
                         [])

    def test_bad_list_entries_are_user_errors(self):
        p = self.m.ctl("user", "blocklist", "add", "alice@example.com", "not an entry",
                       check=False)
        self.assertEqual(p.returncode, 1)
        p = self.m.ctl("user", "allowlist", "remove", "alice@example.com", "nobody@x.example",
                       check=False)
        self.assertEqual(p.returncode, 1)
        p = self.m.ctl("user", "blocklist", "list", "nobody@example.com", check=False)
        self.assertEqual(p.returncode, 1)

    def test_moving_into_and_out_of_junk_trains_rspamd(self):
        subject = "cheap watches and pills"
        body = ("Dear friend, buy cheap replica watches and discount pills online today, "
                "limited offer, best prices guaranteed, order now and save big money.\r\n")
        self.send(message(subject, sender="seller@market.example", body=body),
                  sender="seller@market.example")
        self.wait_in("alice", "wonderland", "INBOX", subject)
        before = RSPAMD.learned()
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        imap.login("alice", "wonderland")
        imap.select("INBOX")
        typ, data = imap.uid("SEARCH", "SUBJECT", '"cheap watches"')
        uid = data[0].split()[-1].decode()
        typ, _ = imap.uid("MOVE", uid, "Junk")
        self.assertEqual(typ, "OK")
        learned = wait_for(lambda: RSPAMD.learned() > before, timeout=60)
        self.assertTrue(learned, "rspamd learned nothing\n" + self.m.log()[-3000:])
        self.assertIn("as=spam", self.m.log())
        # And out of Junk again: learned as ham.
        before = RSPAMD.learned()
        imap.select("Junk")
        typ, data = imap.uid("SEARCH", "SUBJECT", '"cheap watches"')
        uid = data[0].split()[-1].decode()
        typ, _ = imap.uid("MOVE", uid, "INBOX")
        self.assertEqual(typ, "OK")
        imap.logout()
        self.assertTrue(wait_for(lambda: "as=ham" in self.m.log(), timeout=60),
                        self.m.log()[-3000:])
        self.assertTrue(wait_for(lambda: RSPAMD.learned() > before, timeout=60))


class RspamdDown(unittest.TestCase):
    """rspamd not answering: fail open with a header by default, 451 when configured."""

    def dead_url(self):
        return f"http://127.0.0.1:{free_port()}"

    def test_fail_open_adds_unavailable_header(self):
        with Mailroom(extra_config=spam_config(self.dead_url())) as m:
            m.seed_demo()
            with smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=60) as s:
                s.sendmail("someone@sender.example", ["alice@example.com"],
                           message("while rspamd sleeps").encode())
            raw = wait_for(lambda: [r for r in fetch_all(m, "alice", "wonderland", "INBOX")
                                    if b"while rspamd sleeps" in r], timeout=60)
            self.assertTrue(raw, m.log()[-3000:])
            self.assertIn(b"X-Spam-Status: unavailable", raw[0])
            self.assertIn("event=spam_scan_failed", m.log())

    def test_tempfail_when_configured(self):
        with Mailroom(extra_config=spam_config(self.dead_url(),
                                               extra='on_failure = "tempfail"')) as m:
            m.seed_demo()
            with smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=60) as s:
                with self.assertRaises(smtplib.SMTPDataError) as e:
                    s.sendmail("someone@sender.example", ["alice@example.com"],
                               message("try later").encode())
            self.assertEqual(e.exception.smtp_code, 451)
            self.assertEqual(mailbox_count(m, "alice@example.com"), 0)


class PersonalListsApi(unittest.TestCase):
    """The admin API edits the same lists (no rspamd needed: the lists apply at delivery)."""

    @classmethod
    def setUpClass(cls):
        cls.m = api_server(extra_config="[mailauth]\nenabled = false\n", seed=True)
        cls.token = admin_token(cls.m)
        cls.m.ctl("domain", "add", "other.example")
        cls.other = admin_token(cls.m, name="other-admin", role="domain_admin",
                                domains=("other.example",))
        cls.http = Http(cls.m)

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.m.close()

    def call(self, method, path, body=None, token=None):
        return self.http.json(method, path, body, token=token or self.token)

    def test_edit_lists_and_choices_and_see_them_applied(self):
        base = "/api/v1/users/bob@example.com/personal-lists"
        status, doc, _ = self.call("GET", base)
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["ads"], doc["blocked"], doc["blocklist"], doc["allowlist"]),
                         ("folder", "junk", [], []))
        status, doc, _ = self.call("POST", base + "/blocklist", {"entry": "Junk.Example"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["blocklist"], [{"kind": "domain", "value": "junk.example"}])
        status, doc, _ = self.call("POST", base + "/blocklist", {"entry": "junk.example"})
        self.assertEqual(status, 409, doc)
        status, doc, _ = self.call("POST", base + "/greylist", {"entry": "x.example"})
        self.assertEqual(status, 400, doc)
        status, doc, _ = self.call("POST", base + "/blocklist", {"entry": 7})
        self.assertEqual(status, 400, doc)
        status, doc, _ = self.call("PATCH", base, {"blocked": "sometimes"})
        self.assertEqual(status, 400, doc)
        status, doc, _ = self.call("PATCH", base, {"ads": "inbox"})
        self.assertEqual((status, doc["ads"], doc["blocked"]), (200, "inbox", "junk"))
        # Another domain's administrator does not see bob.
        status, doc, _ = self.call("GET", base, token=self.other)
        self.assertEqual(status, 404, doc)
        status, doc, _ = self.call("GET", base, token="not-a-token")
        self.assertEqual(status, 401, doc)

        # Applied at the next delivery: blocked -> Junk.
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=60) as s:
            s.sendmail("promo@junk.example", ["bob@example.com"],
                       message("api blocked", sender="promo@junk.example",
                               to="bob@example.com").encode())
        self.assertTrue(wait_for(lambda: mailbox_count(self.m, "bob@example.com", "Junk") == 1,
                                 timeout=60), self.m.log()[-3000:])
        self.assertEqual(mailbox_count(self.m, "bob@example.com"), 0)

        status, doc, _ = self.call("DELETE", base + "/blocklist/junk.example")
        self.assertEqual((status, doc["blocklist"]), (200, []), doc)
        status, doc, _ = self.call("DELETE", base + "/blocklist/junk.example")
        self.assertEqual(status, 404, doc)


if __name__ == "__main__":
    unittest.main()
