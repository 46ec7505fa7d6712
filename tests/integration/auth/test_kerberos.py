"""Kerberos logins (SASL GSSAPI, RFC 4752) on IMAP, POP3 and submission, end to end: a real
MIT KDC (peers_kdc.py) issues tickets after a real `kinit`, and real clients log in with them:
curl (built with GSS-API on Debian; `--login-options AUTH=GSSAPI`, the ticket from the
ccache) on every protocol, and Python's gssapi module for the authorization identity. Also
refused: a disabled account's ticket, a principal of a realm not in kerberos_realms (through a
real cross-realm trust), another account as authzid; and mailroomd refuses to start on a
missing keytab, a keytab without the principal of a protocol it serves, or a wrong realm."""
import imaplib
import os
import re
import subprocess
import tempfile
import unittest

import peers_kdc
from harness import Mailroom, bin_dir
from peers_kdc import Kdc

try:
    import gssapi
except ImportError:  # python3-gssapi (scripts/setup installs it)
    gssapi = None

HOST = "localhost"  # the test certificate's name; [server] hostname stays mail.example.com


def setUpModule():
    missing = peers_kdc.available()
    if missing:
        raise unittest.SkipTest(f"MIT Kerberos programs missing: {missing}")
    global KDC
    KDC = Kdc(host=HOST).start()
    # Python's gssapi reads these from this process's environment.
    os.environ.update(KRB5_CONFIG=KDC.krb5_conf, KRB5CCNAME=KDC.ccache)


def tearDownModule():
    KDC.close()


def kerberos_config(keytab=None, extra=""):
    return (f'kerberos_keytab = "{keytab or KDC.keytab}"\n'
            f'kerberos_hostname = "{HOST}"\n' + extra)


def start_mailroom(**kwargs):
    kwargs.setdefault("auth_config", kerberos_config())
    m = Mailroom(**kwargs)
    m.seed_demo()
    for user in ("carol", "dave"):
        m.ctl("user", "add", f"{user}@example.com", "--password", f"{user}-password")
    m.ctl("user", "change", "dave@example.com", "--status", "disabled")
    m.start(env=KDC.server_env())
    return m


def curl(m, url_scheme, listener, ccache=None, extra=()):
    """curl logging in with GSSAPI from the ccache; returns the CompletedProcess."""
    port = m.port(listener)
    cmd = ["curl", "-sS", "--max-time", "30", "--cacert", m.ca,
           "--resolve", f"{HOST}:{port}:127.0.0.1",
           # curl wants a user name before it tries SASL; GSSAPI takes the identity from the
           # ticket, the name only has to look like a principal.
           "-u", "ticket@EXAMPLE.COM:", "--login-options", "AUTH=GSSAPI",
           *extra, f"{url_scheme}://{HOST}:{port}/"]
    return subprocess.run(cmd, env=KDC.client_env(ccache), capture_output=True, text=True,
                          timeout=60)


def gssapi_responder(service, authzid=""):
    """imaplib's authobject for RFC 4752: the context tokens, then the security-layer answer
    (no layer, buffer 0) with `authzid`."""
    name = gssapi.Name(f"{service}@{HOST}", gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=name, usage="initiate")

    def respond(challenge):
        if not ctx.complete:
            return ctx.step(challenge or None) or b""
        ctx.unwrap(challenge)  # the server's layers and buffer size (RFC 4752 3.1)
        return ctx.wrap(b"\x01\x00\x00\x00" + authzid.encode(), False).message

    return respond


class KerberosLogins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        KDC.kinit("alice")
        cls.m = start_mailroom()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def assert_logged(self, user, result, reason=None):
        pattern = (r"event=auth\.attempt session=\S+ protocol=\S+ ip=127\.0\.0\.1 "
                   rf"mechanism=GSSAPI user={re.escape(user)} result={result}")
        if reason:
            pattern += rf" reason=\"?{re.escape(reason)}"
        self.assertRegex(self.m.log(), pattern)

    def test_imap_implicit_tls(self):
        p = curl(self.m, "imaps", "imaps")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"INBOX"', p.stdout)
        self.assert_logged("alice@EXAMPLE.COM", "success", "ok")

    def test_imap_starttls(self):
        p = curl(self.m, "imap", "imap", extra=["--ssl-reqd"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"INBOX"', p.stdout)

    def test_pop3(self):
        p = curl(self.m, "pop3s", "pop3s")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(self.m.log(), r"protocol=pop3 ip=127\.0\.0\.1 mechanism=GSSAPI "
                                       r"user=alice@EXAMPLE\.COM result=success")

    def test_submission(self):
        with tempfile.NamedTemporaryFile("w", suffix=".eml") as msg:
            msg.write("From: alice@example.com\r\nTo: bob@example.com\r\n"
                      "Subject: signed in with Kerberos\r\n\r\nhello\r\n")
            msg.flush()
            p = curl(self.m, "smtp", "submission",
                     extra=["--ssl-reqd", "--mail-from", "alice@example.com",
                            "--mail-rcpt", "bob@example.com", "-T", msg.name])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(self.m.log(), r"protocol=smtp ip=127\.0\.0\.1 mechanism=GSSAPI "
                                       r"user=alice@EXAMPLE\.COM result=success")

    def test_disabled_account_is_refused(self):
        cc = "FILE:" + os.path.join(KDC.base, "cc.dave")
        KDC.kinit("dave", ccache=cc)
        p = curl(self.m, "imaps", "imaps", ccache=cc)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assert_logged("dave@EXAMPLE.COM", "disabled", "account disabled")

    def test_foreign_realm_is_refused(self):
        # carol@OTHER.COM gets a ticket for imap/localhost@EXAMPLE.COM through the trust, and
        # an account "carol" exists: only kerberos_realms keeps her out.
        cc = "FILE:" + os.path.join(KDC.base, "cc.carol-other")
        KDC.kinit("carol@OTHER.COM", ccache=cc)
        p = curl(self.m, "imaps", "imaps", ccache=cc)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assert_logged("carol@OTHER.COM", "failed",
                           "realm OTHER.COM is not in kerberos_realms")

    @unittest.skipIf(gssapi is None, "python3-gssapi is not installed")
    def test_authzid_of_the_same_account(self):
        with imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                               ssl_context=self.m.ssl_context()) as imap:
            typ, _ = imap.authenticate("GSSAPI", gssapi_responder("imap", "alice@example.com"))
            self.assertEqual(typ, "OK")

    @unittest.skipIf(gssapi is None, "python3-gssapi is not installed")
    def test_authzid_of_another_account_is_refused(self):
        with imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                               ssl_context=self.m.ssl_context()) as imap:
            with self.assertRaises(imaplib.IMAP4.error):
                imap.authenticate("GSSAPI", gssapi_responder("imap", "bob@example.com"))
        self.assert_logged("alice@EXAMPLE.COM", "failed", "authorization identity differs")


class KerberosNeedsTls(unittest.TestCase):
    """No SASL security layer is negotiated, so GSSAPI, like a password, needs TLS."""

    def test_gssapi_needs_tls(self):
        m = start_mailroom(plaintext_on_loopback=False)
        try:
            with imaplib.IMAP4("127.0.0.1", m.port("imap")) as imap:
                self.assertNotIn("AUTH=GSSAPI", imap.capabilities)
                imap.starttls(ssl_context=m.ssl_context())
                self.assertIn("AUTH=GSSAPI", imap.capabilities)
        finally:
            m.close()


class KerberosMapping(unittest.TestCase):
    def test_realm_to_domain(self):
        KDC.kinit("alice")
        m = start_mailroom(auth_config=kerberos_config(
            extra='kerberos_mapping = "realm_to_domain"\n'
                  'kerberos_realms = ["EXAMPLE.COM", "OTHER.COM"]\n'))
        try:
            p = curl(m, "imaps", "imaps")
            self.assertEqual(p.returncode, 0, p.stderr)
            # carol@OTHER.COM is allowed in by realm, and maps to carol@other.com: not ours.
            cc = "FILE:" + os.path.join(KDC.base, "cc.carol-other2")
            KDC.kinit("carol@OTHER.COM", ccache=cc)
            p = curl(m, "imaps", "imaps", ccache=cc)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertRegex(m.log(), r"mechanism=GSSAPI user=carol@OTHER\.COM result=failed "
                                      r"reason=\"no account for login carol@other\.com\"")
        finally:
            m.close()


class KerberosStartupChecks(unittest.TestCase):
    def refused_start(self, auth_config):
        m = Mailroom(auth_config=auth_config)
        try:
            with self.assertRaises(RuntimeError) as e:
                m.start(env=KDC.server_env())
            self.assertIn("mailroomd exited with 2", str(e.exception))
            return m.log()
        finally:
            if m.logf:  # the harness keeps it open when mailroomd exits during start
                m.logf.close()
                m.logf = None
            m.close()

    def test_missing_keytab(self):
        missing = os.path.join(KDC.base, "no-such.keytab")
        log = self.refused_start(kerberos_config(missing))
        self.assertIn(f"startup error: [auth] kerberos_keytab: cannot read keytab {missing}: "
                      "No such file or directory", log)

    def test_keytab_without_a_service_principal(self):
        partial = KDC.write_keytab(os.path.join(KDC.base, "imap-smtp.keytab"),
                                   f"imap/{HOST}@EXAMPLE.COM", f"smtp/{HOST}@EXAMPLE.COM")
        log = self.refused_start(kerberos_config(partial))
        self.assertIn(f"startup error: [auth] kerberos_keytab {partial} has no key for "
                      f"pop/{HOST}@EXAMPLE.COM (realms EXAMPLE.COM); it holds: "
                      f"imap/{HOST}@EXAMPLE.COM, smtp/{HOST}@EXAMPLE.COM", log)

    def test_wrong_realm(self):
        log = self.refused_start(kerberos_config(extra='kerberos_realms = ["EXAMPLE.ORG"]\n'))
        # Listeners in the harness's order: smtp, submission, ..., imap, ..., pop3.
        self.assertIn(f"has no key for smtp/{HOST}@EXAMPLE.ORG, imap/{HOST}@EXAMPLE.ORG, "
                      f"pop/{HOST}@EXAMPLE.ORG (realms EXAMPLE.ORG); it holds: "
                      f"imap/{HOST}@EXAMPLE.COM, pop/{HOST}@EXAMPLE.COM, smtp/{HOST}@EXAMPLE.COM",
                      log)

    def test_check_config_reports_it(self):
        missing = os.path.join(KDC.base, "no-such.keytab")
        m = Mailroom(auth_config=kerberos_config(missing))
        try:
            p = subprocess.run([os.path.join(bin_dir(), "mailroomd"),
                                "--check-config", "--config", m.config_path],
                               env=KDC.server_env(), capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("cannot read keytab", p.stderr)
        finally:
            m.close()

    def test_gssapi_without_keytab_is_a_config_error(self):
        m = Mailroom(auth_config='mechanisms = ["PLAIN", "GSSAPI"]\n')
        try:
            with self.assertRaises(RuntimeError) as e:
                m.start(env=KDC.server_env())
            self.assertIn("GSSAPI needs kerberos_keytab", str(e.exception))
        finally:
            m.close()


if __name__ == "__main__":
    unittest.main()
