"""TLS records that arrive together are all served (issue 24), on every protocol and both
TLS modes, and a Thunderbird-style session runs over TLS with TCP segments coalesced.

Before the fix, the server handled the first record of a segment and then waited on the
socket for bytes its TLS layer already held: the second command was answered only by the
autologout, 30-60 s later. Each test here fails on a read timeout in that case.
"""
import base64
import time
import unittest

from harness import Mailroom
from tlsrecords import RecordClient

LISTENERS = {
    "smtp": ("smtp", "starttls"),
    "submission": ("submission", "starttls"),
    "submissions": ("submission", "implicit"),
    "lmtp": ("lmtp", "starttls"),
    "imap": ("imap", "starttls"),
    "imaps": ("imap", "implicit"),
    "pop3": ("pop3", "starttls"),
    "pop3s": ("pop3", "implicit"),
}


def smtp_reply(client):
    """A complete (possibly multi-line) SMTP reply."""
    return client.read_until(lambda l: len(l) >= 4 and l[3:4] == b" ")


class TlsRecordsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(listeners=LISTENERS)
        cls.m.start()
        cls.m.seed_demo()
        cls.ctx = cls.m.ssl_context()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def connect(self, name):
        c = RecordClient.connect(self.m.port(name), self.ctx)
        self.addCleanup(c.close)
        return c

    # --- IMAP ---
    def test_imaps_two_records_in_one_segment(self):
        c = self.connect("imaps")
        c.handshake(hold_finished=False)
        self.assertTrue(c.readline().startswith(b"* OK"))
        c.send_together("a NOOP\r\n", "b NOOP\r\n")
        self.assertTrue(c.readline().startswith(b"a OK"))
        self.assertTrue(c.readline().startswith(b"b OK"))

    def test_imaps_finished_with_first_commands(self):
        c = self.connect("imaps")
        c.handshake(hold_finished=True)
        c.send_together("a CAPABILITY\r\n", "b NOOP\r\n")
        self.assertTrue(c.readline().startswith(b"* OK"))
        self.assertTrue(c.readline().startswith(b"* CAPABILITY"))
        self.assertTrue(c.readline().startswith(b"a OK"))
        self.assertTrue(c.readline().startswith(b"b OK"))

    def test_imap_starttls_finished_with_first_commands(self):
        c = self.connect("imap")
        self.assertTrue(c.raw_line().startswith(b"* OK"))
        c.raw_send(b"s STARTTLS\r\n")
        self.assertTrue(c.raw_line().startswith(b"s OK"))
        c.handshake(hold_finished=True)
        c.send_together("a CAPABILITY\r\n", "b NOOP\r\n")
        self.assertTrue(c.readline().startswith(b"* CAPABILITY"))
        self.assertTrue(c.readline().startswith(b"a OK"))
        self.assertTrue(c.readline().startswith(b"b OK"))

    # --- SMTP, submission, LMTP ---
    def smtp_starttls(self, name, hello):
        c = self.connect(name)
        self.assertTrue(c.raw_line().startswith(b"220 "))
        c.raw_send(hello.encode() + b" client.example\r\n")
        while not c.raw_line().startswith(b"250 "):
            pass
        c.raw_send(b"STARTTLS\r\n")
        self.assertTrue(c.raw_line().startswith(b"220 "))
        c.handshake(hold_finished=True)
        c.send_together(hello + " client.example\r\n", "NOOP\r\n")
        ehlo = smtp_reply(c)
        self.assertTrue(ehlo[-1].startswith(b"250 "), ehlo)
        self.assertTrue(smtp_reply(c)[-1].startswith(b"250 "))

    def test_smtp_starttls_ehlo_and_noop_together(self):
        self.smtp_starttls("smtp", "EHLO")

    def test_submission_starttls_ehlo_and_noop_together(self):
        self.smtp_starttls("submission", "EHLO")

    def test_lmtp_starttls_lhlo_and_noop_together(self):
        self.smtp_starttls("lmtp", "LHLO")

    def test_submissions_finished_with_first_commands(self):
        c = self.connect("submissions")
        c.handshake(hold_finished=True)
        c.send_together("EHLO client.example\r\n", "NOOP\r\n")
        self.assertTrue(smtp_reply(c)[-1].startswith(b"220 "))
        self.assertTrue(smtp_reply(c)[-1].startswith(b"250 "))
        self.assertTrue(smtp_reply(c)[-1].startswith(b"250 "))

    # --- POP3 ---
    def test_pop3_stls_finished_with_first_commands(self):
        c = self.connect("pop3")
        self.assertTrue(c.raw_line().startswith(b"+OK"))
        c.raw_send(b"STLS\r\n")
        self.assertTrue(c.raw_line().startswith(b"+OK"))
        c.handshake(hold_finished=True)
        c.send_together("CAPA\r\n", "NOOP\r\n")
        capa = c.read_until(lambda l: l == b".\r\n")
        self.assertTrue(capa[0].startswith(b"+OK"))
        # NOOP before login is a protocol error, but it must be answered.
        self.assertTrue(c.readline().startswith((b"+OK", b"-ERR")))

    def test_pop3s_two_records_in_one_segment(self):
        c = self.connect("pop3s")
        c.handshake(hold_finished=False)
        self.assertTrue(c.readline().startswith(b"+OK"))
        c.send_together("CAPA\r\n", "CAPA\r\n")
        for _ in range(2):
            capa = c.read_until(lambda l: l == b".\r\n")
            self.assertTrue(capa[0].startswith(b"+OK"))

    # --- Thunderbird-style session ---
    def test_thunderbird_style_session(self):
        """STARTTLS, CAPABILITY+ID, login, NAMESPACE+LIST (SPECIAL-USE), SELECT+UID FETCH,
        IDLE woken by a message sent through submission (EHLO pipelined after STARTTLS),
        and the Sent copy by APPEND with a non-synchronizing literal, every step written as
        several records in one segment."""
        imap = self.connect("imap")
        self.assertTrue(imap.raw_line().startswith(b"* OK"))
        imap.raw_send(b"1 STARTTLS\r\n")
        self.assertTrue(imap.raw_line().startswith(b"1 OK"))
        imap.handshake(hold_finished=True)
        imap.send_together("2 capability\r\n",
                           '3 ID ("name" "Thunderbird" "version" "153.0")\r\n')
        lines = imap.read_until(lambda l: l.startswith(b"3 "))
        self.assertTrue(any(l.startswith(b"* CAPABILITY") for l in lines))
        self.assertTrue(lines[-1].startswith(b"3 OK"), lines)
        ir = base64.b64encode(b"\0alice@example.com\0wonderland").decode()
        imap.send_together(f"4 AUTHENTICATE PLAIN {ir}\r\n", "5 namespace\r\n",
                           '6 LIST (SPECIAL-USE) "" "*"\r\n')
        lines = imap.read_until(lambda l: l.startswith(b"6 "))
        self.assertTrue(any(l.startswith(b"4 OK") for l in lines), lines)
        self.assertTrue(any(l.startswith(b"* NAMESPACE") for l in lines), lines)
        self.assertTrue(any(b"\\Sent" in l for l in lines if l.startswith(b"* LIST")), lines)
        self.assertTrue(lines[-1].startswith(b"6 OK"), lines)
        imap.send_together("7 select INBOX\r\n", "8 UID fetch 1:* (FLAGS)\r\n", "9 IDLE\r\n")
        lines = imap.read_until(lambda l: l.startswith(b"+ "))
        self.assertTrue(any(l.startswith(b"7 OK") for l in lines), lines)
        self.assertTrue(any(l.startswith(b"8 OK") for l in lines), lines)

        # Submission: STARTTLS, then EHLO+AUTH+MAIL+RCPT+DATA pipelined in one segment.
        sub = self.connect("submission")
        self.assertTrue(sub.raw_line().startswith(b"220 "))
        sub.raw_send(b"EHLO tb.example\r\n")
        while not sub.raw_line().startswith(b"250 "):
            pass
        sub.raw_send(b"STARTTLS\r\n")
        self.assertTrue(sub.raw_line().startswith(b"220 "))
        sub.handshake(hold_finished=True)
        message = ("From: Alice <alice@example.com>\r\nTo: alice@example.com\r\n"
                   "Subject: coalesced\r\nMessage-ID: <tb-1@example.com>\r\n\r\nhello\r\n")
        sub.send_together("EHLO tb.example\r\n", f"AUTH PLAIN {ir}\r\n",
                          "MAIL FROM:<alice@example.com>\r\n", "RCPT TO:<alice@example.com>\r\n",
                          "DATA\r\n")
        replies = [smtp_reply(sub)[-1] for _ in range(5)]
        self.assertEqual([r[:3] for r in replies], [b"250", b"235", b"250", b"250", b"354"],
                         replies)
        sub.send_together(message + ".\r\n", "QUIT\r\n")
        self.assertTrue(smtp_reply(sub)[-1].startswith(b"250 "))
        self.assertTrue(smtp_reply(sub)[-1].startswith(b"221 "))

        # IDLE sees the delivery.
        lines = imap.read_until(lambda l: l.endswith(b"EXISTS\r\n"))
        self.assertTrue(lines[-1].startswith(b"* 1 EXISTS"), lines)
        data = message.encode()
        imap.send_together("DONE\r\n",
                           f"10 APPEND Sent (\\Seen) {{{len(data)}+}}\r\n",
                           data + b"\r\n", "11 STATUS Sent (MESSAGES)\r\n")
        lines = imap.read_until(lambda l: l.startswith(b"11 "))
        self.assertTrue(any(l.startswith(b"9 OK") for l in lines), lines)
        self.assertTrue(any(l.startswith(b"10 OK") for l in lines), lines)
        self.assertIn(b'* STATUS "Sent" (MESSAGES 1)\r\n', lines)
        imap.send_together("12 LOGOUT\r\n")
        self.assertTrue(imap.read_until(lambda l: l.startswith(b"12 "))[-1].startswith(b"12 OK"))


if __name__ == "__main__":
    unittest.main()
