"""Kerberos logins (SASL GSSAPI) with tickets of a Samba Active Directory domain controller's
KDC: what a Windows domain gives its users. A real Samba 4 AD DC is provisioned by the test
(peers_samba.py: realm SAMDOM.EXAMPLE.COM, its KDC alone on a free loopback port), the mail
service's keytab is exported from AD (`samba-tool domain exportkeytab` of the SPNs
imap/, pop/, smtp/localhost registered on a service account), and real clients log in after a
real `kinit` against that KDC: curl on IMAP (implicit TLS and STARTTLS), POP3 and submission,
Python's gssapi on IMAP. The AD principal alice@SAMDOM.EXAMPLE.COM becomes the local account
alice@example.com by kerberos_mapping = "strip_realm" and default_domain. Refused: a disabled
AD account (the KDC gives it no ticket at all), and an AD user with a good ticket but no
Mailroom account (mailroomd says no)."""
import imaplib
import os
import re
import subprocess
import tempfile
import unittest

import peers_samba
from harness import Mailroom
from peers_samba import REALM, SambaDc

try:
    import gssapi
except ImportError:  # python3-gssapi (scripts/setup installs it)
    gssapi = None

HOST = "localhost"  # the test certificate's name, and <host> of the SPNs


def setUpModule():
    why_not = peers_samba.available()
    if why_not:
        raise unittest.SkipTest(why_not)


def curl(m, dc, url_scheme, listener, ccache=None, extra=()):
    """curl logging in with GSSAPI from the ccache; returns the CompletedProcess."""
    port = m.port(listener)
    cmd = ["curl", "-sS", "--max-time", "30", "--cacert", m.ca,
           "--resolve", f"{HOST}:{port}:127.0.0.1",
           # curl wants a user name before it tries SASL; GSSAPI takes the identity from the
           # ticket, the name only has to look like a principal.
           "-u", f"ticket@{REALM}:", "--login-options", "AUTH=GSSAPI",
           *extra, f"{url_scheme}://{HOST}:{port}/"]
    return subprocess.run(cmd, env=dc.client_env(ccache), capture_output=True, text=True,
                          timeout=60)


class SambaKerberosLogins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Provisioning the domain is the slow part (15-60 s with seeding): once for the class.
        cls.dc = SambaDc(host=HOST)
        cls.m = None
        try:
            cls.dc.start()
            print(f"samba AD DC: provisioned in {cls.dc.provision_seconds:.1f} s, seeded in "
                  f"{cls.dc.seed_seconds:.1f} s; KDC on 127.0.0.1:{cls.dc.port} ready "
                  f"{cls.dc.start_seconds:.1f} s after start")
            cls.dc.kinit("alice")
            cls.m = Mailroom(auth_config=(
                f'kerberos_keytab = "{cls.dc.keytab}"\n'
                f'kerberos_hostname = "{HOST}"\n'
                f'kerberos_realms = ["{REALM}"]\n'
                'kerberos_mapping = "strip_realm"\n'
                'default_domain = "example.com"\n'))
            cls.m.seed_demo()
            cls.m.start(env=cls.dc.server_env())
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.m is not None:
                cls.m.close()
        finally:
            cls.dc.close()

    def assert_logged(self, protocol, user, result, reason=None):
        pattern = (rf"event=auth\.attempt session=\S+ protocol={protocol} ip=127\.0\.0\.1 "
                   rf"mechanism=GSSAPI user={re.escape(user)} result={result}")
        if reason:
            pattern += rf" reason=\"?{re.escape(reason)}"
        self.assertRegex(self.m.log(), pattern)

    def service_tickets(self, ccache=None):
        p = subprocess.run(["klist", "-e"], env=self.dc.client_env(ccache), capture_output=True,
                           text=True, timeout=30)
        return p.stdout

    def test_imap_implicit_tls(self):
        p = curl(self.m, self.dc, "imaps", "imaps")
        self.assertEqual(p.returncode, 0, p.stderr + self.m.log()[-3000:])
        self.assertIn('"INBOX"', p.stdout)
        self.assert_logged("imap", f"alice@{REALM}", "success", "ok")
        # The service ticket curl used came from the AD KDC, for the SPN on the service
        # account, AES as the account's msDS-SupportedEncryptionTypes asks.
        tickets = self.service_tickets()
        self.assertRegex(tickets, rf"imap/{HOST}@{re.escape(REALM)}\n.*aes256-cts-hmac-sha1-96")

    def test_imap_starttls(self):
        p = curl(self.m, self.dc, "imap", "imap", extra=["--ssl-reqd"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"INBOX"', p.stdout)

    def test_pop3(self):
        p = curl(self.m, self.dc, "pop3s", "pop3s")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_logged("pop3", f"alice@{REALM}", "success", "ok")

    def test_submission(self):
        with tempfile.NamedTemporaryFile("w", suffix=".eml") as msg:
            msg.write("From: alice@example.com\r\nTo: bob@example.com\r\n"
                      "Subject: signed in with an AD ticket\r\n\r\nhello\r\n")
            msg.flush()
            p = curl(self.m, self.dc, "smtp", "submission",
                     extra=["--ssl-reqd", "--mail-from", "alice@example.com",
                            "--mail-rcpt", "bob@example.com", "-T", msg.name])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_logged("smtp", f"alice@{REALM}", "success", "ok")

    @unittest.skipIf(gssapi is None, "python3-gssapi is not installed")
    def test_imap_python_gssapi(self):
        env = self.dc.client_env()
        saved = {k: os.environ.get(k) for k in ("KRB5_CONFIG", "KRB5CCNAME")}
        os.environ.update(KRB5_CONFIG=env["KRB5_CONFIG"], KRB5CCNAME=env["KRB5CCNAME"])
        try:
            name = gssapi.Name(f"imap@{HOST}", gssapi.NameType.hostbased_service)
            ctx = gssapi.SecurityContext(name=name, usage="initiate")

            def respond(challenge):
                if not ctx.complete:
                    return ctx.step(challenge or None) or b""
                ctx.unwrap(challenge)  # the server's layers and buffer size (RFC 4752 3.1)
                return ctx.wrap(b"\x01\x00\x00\x00", False).message

            with imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                                   ssl_context=self.m.ssl_context()) as imap:
                typ, _ = imap.authenticate("GSSAPI", respond)
                self.assertEqual(typ, "OK")
                typ, _ = imap.select("INBOX")
                self.assertEqual(typ, "OK")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def test_disabled_ad_account_gets_no_ticket(self):
        # carol is disabled in AD: refusing her is the KDC's job, she never holds a ticket.
        cc = "FILE:" + os.path.join(self.dc.base, "cc.carol")
        with self.assertRaises(RuntimeError) as e:
            self.dc.kinit("carol", ccache=cc)
        self.assertIn("credentials have been revoked", str(e.exception))
        self.assertFalse(os.path.exists(cc[5:]))

    def test_ad_user_without_a_mailroom_account_is_refused(self):
        # erin has an AD account and gets a real service ticket, but no mailbox here.
        cc = "FILE:" + os.path.join(self.dc.base, "cc.erin")
        self.dc.kinit("erin", ccache=cc)
        p = curl(self.m, self.dc, "imaps", "imaps", ccache=cc)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(f"imap/{HOST}@{REALM}", self.service_tickets(cc))
        self.assert_logged("imap", f"erin@{REALM}", "failed", "no account for login erin")


if __name__ == "__main__":
    unittest.main()
