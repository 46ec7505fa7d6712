"""Per-session protocol trace (issue 24): off by default; on for connections from
[log] trace_ips and, from their login on, for sessions of [log] trace_users. Credentials never
reach the log: IMAP LOGIN, SASL initial and continuation responses, POP3 PASS."""
import base64
import imaplib
import poplib
import re
import smtplib
import socket
import unittest

from harness import Mailroom

PASSWORD = "wonderland"
BODY_TOKEN = b"body-token-7f3a9c"
B64 = base64.b64encode(b"\0alice@example.com\0" + PASSWORD.encode()).decode()


def trace_lines(log):
    return [l for l in log.splitlines() if "event=protocol.trace" in l]


class TraceTest(unittest.TestCase):
    def test_trace_by_ip_masks_credentials(self):
        m = Mailroom(log_config='trace_ips = ["127.0.0.0/8"]')
        try:
            m.start()
            m.seed_demo()
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.login("alice@example.com", PASSWORD)
            c.select("INBOX")
            c.logout()
            # IMAP AUTHENTICATE with the response in a continuation (RFC 3501 6.2.2).
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.authenticate("PLAIN", lambda _: b"\0alice@example.com\0" + PASSWORD.encode())
            c.logout()
            # The password as a synchronizing literal, and a message body as a literal: the
            # trace shows their sizes, never their octets.
            raw = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=15)
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"L1 LOGIN alice@example.com {%d}\r\n" % len(PASSWORD))
            self.assertTrue(f.readline().startswith(b"+"))
            raw.sendall(PASSWORD.encode() + b"\r\n")
            self.assertTrue(f.readline().startswith(b"L1 OK"))
            body = b"Subject: t\r\n\r\n" + BODY_TOKEN + b"\r\n"
            raw.sendall(b"L2 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
            self.assertTrue(f.readline().startswith(b"L2 OK"))
            raw.sendall(b"L3 LOGOUT\r\n")
            raw.close()
            s = smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=15)
            s.starttls(context=m.ssl_context())
            s.ehlo("t")
            # A continuation response (not an initial response): must show as <secret>.
            code, _ = s.docmd("AUTH", "PLAIN")
            self.assertEqual(code, 334)
            code, _ = s.docmd(B64)
            self.assertEqual(code, 235)
            s.quit()
            s = smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=15)
            s.starttls(context=m.ssl_context())
            s.ehlo("t")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + B64)[0], 235)
            s.quit()
            p = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=15)
            p.user("alice@example.com")
            p.pass_(PASSWORD)
            p.quit()
            log = m.log()
            lines = trace_lines(log)
            self.assertTrue(any('line="a0001 SELECT INBOX"' in l or "SELECT INBOX" in l
                                for l in lines), lines[:20])
            self.assertTrue(any("dir=S" in l and "OK" in l for l in lines))
            self.assertTrue(any("LOGIN alice@example.com <secret>" in l for l in lines), lines)
            self.assertTrue(any("AUTH PLAIN <secret>" in l for l in lines), lines)
            self.assertTrue(any('line=<secret>' in l for l in lines), lines)
            self.assertTrue(any("PASS <secret>" in l for l in lines), lines)
            self.assertTrue(any("literal_octets=%d" % len(PASSWORD) in l for l in lines), lines)
            self.assertTrue(any("literal_octets=%d" % len(body) in l for l in lines), lines)
            self.assertNotIn(BODY_TOKEN.decode(), log)
            self.assertNotIn(PASSWORD, log)
            self.assertNotIn(B64, log)
        finally:
            m.close()

    def test_trace_by_user_starts_at_login(self):
        m = Mailroom(log_config='trace_users = ["Alice@Example.com"]')
        try:
            m.start()
            m.seed_demo()
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.capability()
            c.login("alice@example.com", PASSWORD)
            c.select("INBOX")
            c.logout()
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.login("bob@example.com", "builder")
            c.select("INBOX")
            c.logout()
            lines = trace_lines(m.log())
            self.assertTrue(any("SELECT INBOX" in l for l in lines), lines)
            self.assertFalse(any("CAPABILITY" in l and "dir=C" in l for l in lines), lines)
            accounts = {re.search(r"account=(\S+)", l).group(1) for l in lines}
            self.assertEqual(len(accounts), 1, accounts)  # alice's session only
            self.assertNotIn(PASSWORD, m.log())
        finally:
            m.close()

    def test_off_by_default(self):
        with Mailroom() as m:
            m.seed_demo()
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.login("alice@example.com", PASSWORD)
            c.logout()
            self.assertEqual(trace_lines(m.log()), [])


if __name__ == "__main__":
    unittest.main()
