"""Inbound SPF, DKIM and DMARC on the MX of a real mailroomd (issue 15), records served by a
real dnsmasq: each result is read back from the Authentication-Results header of the stored
message (IMAP), a DMARC p=reject failure is refused with 550 5.7.1, a forged
Authentication-Results in our name is removed, and a trusted gateway is looked through.
Clients connect from chosen loopback addresses (127.0.0.x) so SPF sees different senders.
"""
import email
import email.policy
import imaplib
import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid

import dkim

from harness import Mailroom
from peers import DNSMASQ, Dnsmasq


def dkim_key(directory):
    """An RSA key pair: (private PEM bytes, the p= value)."""
    key = os.path.join(directory, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    with open(key, "rb") as f:
        return f.read(), base64.b64encode(pub).decode()


@unittest.skipUnless(os.path.exists(DNSMASQ), "needs dnsmasq-base (scripts/setup)")
class InboundAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mr-inbound-")
        cls.key, p = dkim_key(cls.tmp)
        cls.dns = Dnsmasq()
        (cls.dns
         .txt("spf-pass.test", "v=spf1 ip4:127.0.0.2 -all")
         .txt("spf-fail.test", "v=spf1 ip4:127.0.0.3 -all")
         .txt("spf-soft.test", "v=spf1 ~all")
         .txt("spf-perm.test", "v=spf1 include:no-such-domain.test -all")
         .txt("signed.test", "v=spf1 -all")
         .txt("sel._domainkey.signed.test", f"v=DKIM1; k=rsa; p={p}")
         .txt("_dmarc.signed.test", "v=DMARC1; p=reject")
         .txt("strict.test", "v=spf1 ip4:127.0.0.3 -all")
         .txt("_dmarc.strict.test", "v=DMARC1; p=reject"))
        cls.dns.start()
        cls.m = Mailroom(extra_config=f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = 2
tries = 1
""", listener_config={})
        with open(cls.m.config_path) as f:
            config = f.read()
        config = config.replace("[auth]", '[smtp]\ntrusted_networks = ["127.0.0.5/32"]\n\n[auth]', 1)
        with open(cls.m.config_path, "w") as f:
            f.write(config)
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.dns.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def send(self, source_ip, mail_from, body, rcpt="bob@example.com"):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30,
                          source_address=(source_ip, 0)) as s:
            s.ehlo("client.sender.test")
            return s.sendmail(mail_from, [rcpt], body)

    def message(self, from_addr, extra_headers="", body="Hello.\r\n"):
        token = uuid.uuid4().hex[:12]
        text = (f"{extra_headers}From: <{from_addr}>\r\nTo: <bob@example.com>\r\n"
                f"Subject: inbound {token}\r\nMessage-ID: <{token}@sender.test>\r\n"
                f"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n{body}")
        return token, text.encode()

    def stored(self, token, folder="INBOX"):
        """The message whose subject holds `token`, polled for up to 60 s: SMTP's 250 means the
        message is in the spool (fsync'd), and local delivery follows on a queue thread
        (README "[queue]"), so under load a search right after the 250 can come before it.
        None when it never arrives."""
        deadline = time.monotonic() + 60
        while True:
            msg = self.search(token, folder)
            if msg is not None or time.monotonic() > deadline:
                return msg
            time.sleep(0.05)

    def search(self, token, folder="INBOX"):
        """One look: the message whose subject holds `token`, or None."""
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        imap.starttls(ssl.create_default_context(cafile=self.m.ca))
        imap.login("bob@example.com", "builder")
        try:
            typ, _ = imap.select(folder, readonly=True)
            if typ != "OK":
                return None
            _, data = imap.uid("SEARCH", None, "SUBJECT", token)
            uids = data[0].split()
            if not uids:
                return None
            _, parts = imap.uid("FETCH", uids[-1], "(BODY.PEEK[])")
            return email.message_from_bytes(parts[0][1], policy=email.policy.default)
        finally:
            imap.logout()

    def results(self, token, folder="INBOX"):
        msg = self.stored(token, folder)
        self.assertIsNotNone(msg, self.m.log()[-3000:])
        ours = [v for v in msg.get_all("Authentication-Results", [])
                if str(v).lower().startswith("mail.example.com")]
        self.assertEqual(len(ours), 1, msg.get_all("Authentication-Results"))
        return " ".join(str(ours[0]).split())

    def test_spf_pass_fail_softfail_permerror(self):
        cases = [("127.0.0.2", "a@spf-pass.test", "spf=pass"),
                 ("127.0.0.2", "a@spf-fail.test", "spf=fail"),
                 ("127.0.0.2", "a@spf-soft.test", "spf=softfail"),
                 ("127.0.0.2", "a@spf-perm.test", "spf=permerror")]
        for ip, sender, want in cases:
            with self.subTest(sender=sender):
                token, text = self.message(sender)
                self.send(ip, sender, text)
                ar = self.results(token)
                self.assertIn(want, ar)
                self.assertIn("smtp.mailfrom=" + sender, ar)

    def test_dkim_pass_and_fail(self):
        token, text = self.message("news@signed.test")
        signed = dkim.sign(text, b"sel", b"signed.test", self.key,
                           include_headers=[b"from", b"to", b"subject", b"message-id"])
        self.send("127.0.0.2", "news@signed.test", signed + text)
        ar = self.results(token)
        self.assertIn("dkim=pass", ar)
        self.assertIn("header.d=signed.test", ar)
        self.assertIn("dmarc=pass", ar)  # aligned DKIM carries DMARC although SPF fails
        token2, text2 = self.message("news@signed.test")
        signed2 = dkim.sign(text2, b"sel", b"signed.test", self.key)
        tampered = (signed2 + text2).replace(b"Hello.", b"Hullo.")
        with self.assertRaises(smtplib.SMTPDataError) as refused:  # p=reject, nothing aligned
            self.send("127.0.0.2", "news@signed.test", tampered)
        self.assertEqual(refused.exception.smtp_code, 550)

    def test_dmarc_reject_is_refused_with_550(self):
        token, text = self.message("ceo@strict.test")
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            self.send("127.0.0.2", "ceo@strict.test", text)
        self.assertEqual(refused.exception.smtp_code, 550)
        self.assertIn(b"5.7.1", refused.exception.smtp_error)
        self.assertIn(b"DMARC", refused.exception.smtp_error)
        self.assertIsNone(self.search(token))  # refused at DATA: never queued, nothing to wait for
        # From the address its SPF allows, the same message passes DMARC (aligned SPF).
        token, text = self.message("ceo@strict.test")
        self.send("127.0.0.3", "ceo@strict.test", text)
        self.assertIn("dmarc=pass", self.results(token))

    def test_forged_results_in_our_name_are_removed(self):
        forged = ("Authentication-Results: mail.example.com;\r\n\tspf=pass "
                  "smtp.mailfrom=ceo@strict.test;\r\n\tdmarc=pass header.from=strict.test\r\n"
                  "Authentication-Results: other.example.net; spf=pass\r\n")
        token, text = self.message("a@spf-fail.test", extra_headers=forged)
        self.send("127.0.0.2", "a@spf-fail.test", text)
        msg = self.stored(token)
        self.assertIsNotNone(msg, self.m.log()[-3000:])
        values = [" ".join(str(v).split()) for v in msg.get_all("Authentication-Results")]
        self.assertEqual(len(values), 2, values)  # ours, and the other server's
        self.assertTrue(any(v.startswith("other.example.net") for v in values))
        ours = [v for v in values if v.startswith("mail.example.com")]
        self.assertIn("spf=fail", ours[0])

    def test_trusted_gateway_is_looked_through(self):
        # The gateway (127.0.0.5) received the message from 127.0.0.2, which spf-pass.test
        # allows; the gateway itself is not in the record.
        hop = ("Received: from mx.spf-pass.test (mx.spf-pass.test [127.0.0.2])\r\n"
               "\tby gateway.example.com with ESMTP id 1; Fri, 04 Dec 2026 12:00:00 +0000\r\n")
        token, text = self.message("a@spf-pass.test", extra_headers=hop)
        self.send("127.0.0.5", "a@spf-pass.test", text)
        self.assertIn("spf=pass", self.results(token))
        # Without the gateway in trusted_networks the connecting address is judged.
        token, text = self.message("a@spf-pass.test", extra_headers=hop)
        self.send("127.0.0.6", "a@spf-pass.test", text)
        self.assertIn("spf=fail", self.results(token))


if __name__ == "__main__":
    unittest.main()
