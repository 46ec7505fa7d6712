"""SMTP smuggling (issue 13, item 1): only <CR><LF>.<CR><LF> ends DATA (RFC 5321 4.1.1.4,
2.3.8), on MX, submission and LMTP, with bare_lf = "reject" (the default) and "accept".

Each attack writes, in one segment, a message whose data contains a fake end of data
followed by a complete forged transaction (MAIL, RCPT, DATA, a message, the real end), then
NOOP. A vulnerable server ends the message at the fake end, answers the forged commands and
delivers the forged message. Here the forged transaction must be part of the message: exactly
one reply for it (554 when bare LF is refused, 250 when accepted), then NOOP's 250, and the
victim's mailbox gets no message with the forged Subject.
"""
import base64
import email
import imaplib
import time
import unittest
import uuid

from harness import Mailroom
from smtp_util import Raw, tls_client_context

# Fake ends of data a smuggler uses (SEC Consult, 2023), and whether they carry a bare LF.
FAKE_ENDS = [
    (b"\n.\r\n", True),
    (b"\n.\n", True),
    (b"\r\n.\n", True),
    (b"\r.\r\n", False),
    (b"\r\n.\r\r\n", False),
    (b"\n.\r\r\n", True),
]

VICTIM = "victim@example.com"
VICTIM_PASSWORD = "victim-pw"


class VictimInbox:
    """The victim's INBOX over IMAP (one session per check: no mailroomctl process per look,
    which cost about a second of make test per attack)."""

    def __init__(self, m):
        self.imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
        self.imap.login(VICTIM, VICTIM_PASSWORD)
        self.imap.select("INBOX", readonly=True)

    def close(self):
        self.imap.logout()

    def count(self):
        self.imap.noop()  # the session reports new messages after every command
        typ, data = self.imap.search(None, "ALL")
        return len(data[0].split())

    def wait_count(self, want, timeout=30):
        deadline = time.time() + timeout
        n = self.count()
        while n < want and time.time() < deadline:
            time.sleep(0.05)
            n = self.count()
        return n

    def messages(self):
        """Every message's bytes, line ends as LF."""
        typ, data = self.imap.fetch("1:*", "(BODY.PEEK[])")
        return [part[1].replace(b"\r\n", b"\n") for part in data if isinstance(part, tuple)]


def subjects(messages):
    return [str(email.message_from_bytes(m)["Subject"]) for m in messages]


def forged_transaction(token):
    return (b"MAIL FROM:<ceo@example.com>\r\nRCPT TO:<" + VICTIM.encode() + b">\r\nDATA\r\n"
            b"From: ceo@example.com\r\nSubject: smuggled " + token.encode() +
            b"\r\n\r\nwire the money\r\n.\r\n")


class SmugglingBase:
    bare_lf = "reject"

    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(extra_config=f'[smtp]\nbare_lf = "{cls.bare_lf}"\n')
        cls.m.start()
        cls.m.seed_demo()
        cls.m.ctl("user", "add", VICTIM, "--password", VICTIM_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def open(self, listener):
        r = Raw(self.m.port(listener))
        self.addCleanup(r.close)
        self.assertEqual(r.read_reply()[0], 220)
        if listener == "lmtp":
            self.assertEqual(r.cmd("LHLO gateway.example")[0], 250)
        else:
            self.assertEqual(r.cmd("EHLO relay.example")[0], 250)
        if listener == "submission":
            r.cmd("STARTTLS")
            r.starttls(tls_client_context(self.m))
            r.cmd("EHLO relay.example")
            plain = base64.b64encode(b"\0alice@example.com\0wonderland").decode()
            self.assertEqual(r.cmd(f"AUTH PLAIN {plain}")[0], 235)
        return r

    def attack(self, listener, fake_end, bare):
        token = uuid.uuid4().hex[:12]
        inbox = VictimInbox(self.m)
        self.addCleanup(inbox.close)
        before = inbox.count()
        r = self.open(listener)
        sender = "alice@example.com" if listener == "submission" else "partner@remote.example"
        self.assertEqual(r.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        self.assertEqual(r.cmd(f"RCPT TO:<{VICTIM}>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        outer = (b"From: " + sender.encode() + b"\r\nSubject: outer " + token.encode() +
                 b"\r\n\r\nhello")
        r.send(outer + fake_end + forged_transaction(token) + b"NOOP\r\n")
        code, lines = r.read_reply()
        refused = bare and self.bare_lf == "reject"
        if refused:
            self.assertEqual((code, lines[0][:5]), (554, b"5.6.0"), lines)
        else:
            self.assertEqual(code, 250, lines)
        # The very next reply is NOOP's: nothing answered MAIL/RCPT/DATA of the forgery.
        code, lines = r.read_reply()
        self.assertEqual(code, 250, lines)
        self.assertIn(b"Ok", lines[0])
        # Synchronise on a marker message, then look at the mailbox.
        self.assertEqual(r.cmd(f"MAIL FROM:<{sender}>")[0], 250)
        self.assertEqual(r.cmd(f"RCPT TO:<{VICTIM}>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: marker " + token.encode() + b"\r\n\r\nm\r\n.\r\n")
        self.assertEqual(r.read_reply()[0], 250)
        want = before + (1 if refused else 2)
        self.assertEqual(inbox.wait_count(want), want)
        messages = inbox.messages()
        mbox = b"".join(messages)
        got = subjects(messages)
        self.assertNotIn("smuggled " + token, got)
        self.assertIn("marker " + token, got)
        if not refused:
            # The forged transaction is content of the outer message, never commands.
            self.assertIn("outer " + token, got)
            self.assertIn(b"RCPT TO:<" + VICTIM.encode() + b">\nDATA\nFrom: ceo@example.com\n"
                          b"Subject: smuggled " + token.encode(), mbox)

    def test_mx(self):
        for fake_end, bare in FAKE_ENDS:
            with self.subTest(fake_end=fake_end):
                self.attack("smtp", fake_end, bare)

    def test_submission(self):
        for fake_end, bare in FAKE_ENDS:
            with self.subTest(fake_end=fake_end):
                self.attack("submission", fake_end, bare)

    def test_lmtp(self):
        for fake_end, bare in FAKE_ENDS:
            with self.subTest(fake_end=fake_end):
                self.attack("lmtp", fake_end, bare)

    def test_bdat_with_bare_lf(self):
        """BDAT has no end line; a chunk with <LF>.<CR><LF> would smuggle at the next hop
        that speaks DATA. Refused with bare_lf = reject; stored with CRLF with accept."""
        token = uuid.uuid4().hex[:12]
        inbox = VictimInbox(self.m)
        self.addCleanup(inbox.close)
        before = inbox.count()
        r = self.open("smtp")
        self.assertEqual(r.cmd("MAIL FROM:<partner@remote.example>")[0], 250)
        self.assertEqual(r.cmd(f"RCPT TO:<{VICTIM}>")[0], 250)
        body = (b"Subject: bdat " + token.encode() + b"\r\n\r\nhello\n.\r\n" +
                forged_transaction(token))
        r.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, lines = r.read_reply()
        if self.bare_lf == "reject":
            self.assertEqual((code, lines[0][:5]), (554, b"5.6.0"), lines)
            self.assertEqual(r.cmd("NOOP")[0], 250)
            self.assertEqual(inbox.count(), before)
        else:
            self.assertEqual(code, 250, lines)
            self.assertEqual(inbox.wait_count(before + 1), before + 1)
            messages = inbox.messages()
            mbox = b"".join(messages)
            self.assertNotIn("smuggled " + token, subjects(messages))
            # Stored with CRLF (read here with LF): the fake end is a content line.
            self.assertIn(b"hello\n.\nMAIL FROM:<ceo@example.com>", mbox)

    def test_long_line_then_real_end(self):
        """A line over the limit followed by CRLF.CRLF still ends the data (554, in sync);
        followed by <LF>.<CR><LF> it does not."""
        r = self.open("smtp")
        self.assertEqual(r.cmd("MAIL FROM:<partner@remote.example>")[0], 250)
        self.assertEqual(r.cmd(f"RCPT TO:<{VICTIM}>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: long\r\n\r\n" + b"x" * 5000 + b"\r\n.\r\nNOOP\r\n")
        self.assertEqual(r.read_reply()[0], 554)
        self.assertEqual(r.read_reply()[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<partner@remote.example>")[0], 250)
        self.assertEqual(r.cmd(f"RCPT TO:<{VICTIM}>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: long\r\n\r\n" + b"x" * 5000 + b"\n.\r\nRSET\r\n.\r\nNOOP\r\n")
        code, lines = r.read_reply()
        self.assertEqual(code, 554, lines)  # one reply for everything up to the real end
        self.assertEqual(r.read_reply()[0], 250)  # NOOP


class SmugglingRejectTest(SmugglingBase, unittest.TestCase):
    bare_lf = "reject"


class SmugglingAcceptTest(SmugglingBase, unittest.TestCase):
    bare_lf = "accept"


if __name__ == "__main__":
    unittest.main()
