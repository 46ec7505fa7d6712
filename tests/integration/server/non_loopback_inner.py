"""Runs inside a private network namespace (test_non_loopback.py): mailroomd listens on
192.0.2.10, an address of the namespace's own lo, and the client connects from that address,
so mailroomd sees a peer that is not loopback. allow_plaintext_on_loopback is ON: plain-text
logins must still be refused before TLS, because the decision follows the peer's address.
A control on 127.0.0.1 of the same server logs in without TLS."""
import base64
import imaplib
import poplib
import smtplib
import ssl
import unittest

from harness import Mailroom

ADDR = "192.0.2.10"
PLAIN = base64.b64encode(b"\0alice@example.com\0wonderland").decode()


class NonLoopbackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        listeners = {"imap": ("imap", "starttls"), "submission": ("submission", "starttls"),
                     "pop3": ("pop3", "starttls"), "imap_lo": ("imap", "none")}
        cls.m = Mailroom(listeners=listeners, plaintext_on_loopback=True,
                         listener_config={n: f'address = "{ADDR}"'
                                          for n in ("imap", "submission", "pop3")})
        cls.m.start()
        cls.m.seed_demo()
        ctx = ssl.create_default_context(cafile=cls.m.ca)
        ctx.check_hostname = False  # the test certificate names localhost, not 192.0.2.10
        cls.ctx = ctx

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_imap(self):
        c = imaplib.IMAP4(ADDR, self.m.port("imap"))
        caps = c.capabilities
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        self.assertIn("STARTTLS", caps)
        typ, data = c._simple_command("LOGIN", "alice@example.com", "wonderland")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[PRIVACYREQUIRED]", c.untagged_responses.get("NO", [b""])[-1] +
                      (data[0] if data and data[0] else b""))
        typ, _ = c._simple_command("AUTHENTICATE", "PLAIN", PLAIN)
        self.assertEqual(typ, "NO")
        c.starttls(ssl_context=self.ctx)
        self.assertEqual(c.login("alice@example.com", "wonderland")[0], "OK")
        c.logout()

    def test_imap_loopback_control(self):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap_lo"))
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertEqual(c.login("alice@example.com", "wonderland")[0], "OK")
        c.logout()

    def test_submission(self):
        s = smtplib.SMTP(ADDR, self.m.port("submission"), timeout=15)
        code, text = s.ehlo("laptop")
        self.assertEqual(code, 250)
        self.assertNotIn(b"PLAIN", text)
        code, text = s.docmd("AUTH", "PLAIN " + PLAIN)
        self.assertEqual((code, text[:6]), (538, b"5.7.11"))
        s.starttls(context=self.ctx)
        s.ehlo("laptop")
        self.assertEqual(s.login("alice@example.com", "wonderland")[0], 235)
        s.quit()

    def test_pop3(self):
        p = poplib.POP3(ADDR, self.m.port("pop3"), timeout=15)
        self.assertNotIn("USER", p.capa())
        with self.assertRaises(poplib.error_proto) as e:
            p.user("alice@example.com")
        self.assertIn(b"-ERR", e.exception.args[0])
        p.stls(context=self.ctx)
        p.user("alice@example.com")
        self.assertTrue(p.pass_("wonderland").startswith(b"+OK"))
        p.quit()


if __name__ == "__main__":
    unittest.main()
