"""Bearer-token logins (SASL OAUTHBEARER, RFC 7628, and XOAUTH2) on IMAP, POP3 and SMTP
submission, against real identity providers started on loopback (tests/integration/
peers_oidc.py):

- GlewlwydTest: Glewlwyd 2.7 from Debian issues real tokens by the password grant; Python's
  imaplib/smtplib/poplib and curl's --oauth2-bearer log in with them; a token without the
  mail scope, a disabled account and a token for someone else's name are refused.
- MinterTest: tokens a real provider will not issue (expired, other audience or issuer,
  alg "none", HS256 keyed with the public key, oversized), every accepted algorithm, key
  rotation (an unknown kid fetches the key set again, at most once per interval), and the
  provider going away with and without cached keys.
"""
import base64
import hashlib
import hmac
import imaplib
import json
import os
import poplib
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from harness import Mailroom  # noqa: E402
from peers import tls_files  # noqa: E402
from peers_oidc import GLEWLWYD, Glewlwyd, TokenMinter  # noqa: E402

CURL = shutil.which("curl")


def sso_config(issuer, unknown_key_interval="30s"):
    return f"""
[sso]
allow_http = true
unknown_key_interval = "{unknown_key_interval}"
[[sso.issuer]]
issuer = "{issuer}"
audiences = ["mail", "mailroom"]
required_scope = "mail"
claim = "email"
"""


def xoauth2(user, token):
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(user, token):
    authzid = f"a={user}" if user else ""
    return f"n,{authzid},\x01host=127.0.0.1\x01auth=Bearer {token}\x01\x01".encode()


class ImapLogin:
    """AUTHENTICATE with imaplib; keeps the server's error challenge (RFC 7628 3.2.2)."""

    def __init__(self, m, tls=True):
        self.m = m
        self.tls = tls
        self.challenges = []

    def __call__(self, mechanism, message):
        if self.tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                                  ssl_context=self.m.ssl_context(), timeout=30)
        else:
            c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
        sent = []

        def answer(challenge):
            if sent:  # the error challenge: answer with %x01 / empty and let it fail
                self.challenges.append(challenge)
                return b"\x01" if mechanism == "OAUTHBEARER" else b""
            sent.append(1)
            return message

        try:
            typ, data = c.authenticate(mechanism, answer)
            c.logout()
            return typ, data
        except imaplib.IMAP4.error as e:
            try:
                c.shutdown()
            except OSError:
                pass
            return "NO", [str(e).encode()]

    def error(self):
        """The last JSON error the server sent, decoded."""
        return json.loads(self.challenges[-1]) if self.challenges else None


@unittest.skipUnless(os.path.exists(GLEWLWYD), "needs glewlwyd (scripts/setup)")
class GlewlwydTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = Glewlwyd(users={"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"})
        cls.idp.start()
        cls.m = Mailroom(extra_config=sso_config(cls.idp.issuer))
        cls.m.seed_demo()
        cls.m.ctl("user", "add", "carol@example.com", "--password", "carol-directory-pw")
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.m.close()
        finally:
            cls.idp.close()

    def test_imaplib_xoauth2_and_oauthbearer(self):
        token = self.idp.token("alice", "alicepw")
        login = ImapLogin(self.m)
        self.assertEqual(login("XOAUTH2", xoauth2("alice@example.com", token))[0], "OK")
        self.assertEqual(login("OAUTHBEARER", oauthbearer("alice@example.com", token))[0], "OK")
        # The authzid is optional in OAUTHBEARER: the token names the account.
        self.assertEqual(login("OAUTHBEARER", oauthbearer("", token))[0], "OK")

    def test_capability_advertises_the_mechanisms_only_on_tls(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        try:
            self.assertIn("AUTH=OAUTHBEARER", c.capabilities)
            self.assertIn("AUTH=XOAUTH2", c.capabilities)
        finally:
            c.logout()

    def test_smtp_submission_and_pop3(self):
        token = self.idp.token("bob", "bobpw")
        with smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=30) as s:
            s.starttls(context=self.m.ssl_context())
            s.ehlo()
            self.assertIn("OAUTHBEARER", s.esmtp_features.get("auth", "").split())
            code, _ = s.docmd("AUTH", "XOAUTH2 " +
                              base64.b64encode(xoauth2("bob@example.com", token)).decode())
            self.assertEqual(code, 235)
            s.sendmail("bob@example.com", ["alice@example.com"],
                       b"From: bob@example.com\r\nTo: alice@example.com\r\n"
                       b"Subject: sent with a token\r\n\r\nhello\r\n")
        p = poplib.POP3_SSL("127.0.0.1", self.m.port("pop3s"), context=self.m.ssl_context())
        try:
            # RFC 5034 4: an initial response that would make the line longer than 255
            # octets is sent after the server's "+ " instead.
            self.assertEqual(p._shortcmd("AUTH OAUTHBEARER").rstrip(), b"+")
            resp = p._shortcmd(base64.b64encode(oauthbearer("bob@example.com", token)).decode())
            self.assertTrue(resp.startswith(b"+OK"), resp)
            self.assertTrue(p.stat()[0] >= 0)
        finally:
            p.quit()

    @unittest.skipUnless(CURL, "needs curl")
    def test_curl_oauth2_bearer_on_imap_pop3_smtp(self):
        token = self.idp.token("alice", "alicepw")
        base = [CURL, "-sS", "--cacert", self.m.ca, "--oauth2-bearer", token,
                "--user", "alice@example.com:", "--max-time", "30"]
        imap = subprocess.run(base + [f"imaps://127.0.0.1:{self.m.port('imaps')}/"],
                              capture_output=True, text=True)
        self.assertEqual(imap.returncode, 0, imap.stderr)
        self.assertIn("INBOX", imap.stdout)
        pop = subprocess.run(base + [f"pop3s://127.0.0.1:{self.m.port('pop3s')}/"],
                             capture_output=True, text=True)
        self.assertEqual(pop.returncode, 0, pop.stderr)
        mail = subprocess.run(base + [f"smtps://127.0.0.1:{self.m.port('submissions')}",
                                      "--mail-from", "alice@example.com",
                                      "--mail-rcpt", "bob@example.com", "-T", "-"],
                              input="From: alice@example.com\r\nTo: bob@example.com\r\n"
                                    "Subject: curl with a token\r\n\r\nhi\r\n",
                              capture_output=True, text=True)
        self.assertEqual(mail.returncode, 0, mail.stderr)
        log = self.m.log()
        for protocol in ("imap", "pop3", "smtp"):
            self.assertRegex(log, rf"event=auth.attempt [^\n]*protocol={protocol} [^\n]*"
                                  rf"mechanism=(OAUTHBEARER|XOAUTH2) [^\n]*result=success")

    def test_token_without_the_mail_scope_is_refused_with_the_rfc7628_error(self):
        token = self.idp.token("alice", "alicepw", scope="openid")
        login = ImapLogin(self.m)
        typ, _ = login("OAUTHBEARER", oauthbearer("alice@example.com", token))
        self.assertEqual(typ, "NO")
        err = login.error()
        self.assertEqual(err["status"], "insufficient_scope")
        self.assertEqual(err["scope"], "mail")
        self.assertEqual(err["openid-configuration"],
                         self.idp.issuer + "/.well-known/openid-configuration")

    def test_a_token_names_one_account(self):
        token = self.idp.token("alice", "alicepw")
        typ, _ = ImapLogin(self.m)("XOAUTH2", xoauth2("bob@example.com", token))
        self.assertEqual(typ, "NO")
        self.assertIn("authorization identity differs", self.m.log())

    def test_disabled_account_is_refused_although_the_token_is_valid(self):
        token = self.idp.token("carol", "carolpw")
        self.assertEqual(ImapLogin(self.m)("XOAUTH2", xoauth2("carol@example.com", token))[0],
                         "OK")
        self.m.ctl("user", "change", "carol@example.com", "--status", "disabled")
        try:
            typ, _ = ImapLogin(self.m)("XOAUTH2", xoauth2("carol@example.com", token))
            self.assertEqual(typ, "NO")
            self.assertRegex(self.m.log(), r"mechanism=XOAUTH2 user=carol@example.com "
                                           r"result=disabled")
        finally:
            self.m.ctl("user", "change", "carol@example.com", "--status", "active")

    def test_mailroomctl_sso_check(self):
        out = self.m.ctl("sso", "check")
        self.assertEqual(out["issuers"], [{"issuer": self.idp.issuer, "ok": True, "error": ""}])
        out = self.m.ctl("sso", "check", "--token-file", "-",
                         input=self.idp.token("alice", "alicepw") + "\n")
        self.assertEqual(out["token"]["verdict"], "valid")
        self.assertEqual((out["token"]["claim"], out["token"]["value"]),
                         ("email", "alice@example.com"))
        self.assertEqual((out["token"]["account"], out["token"]["status"]),
                         ("alice@example.com", "active"))
        # A token for someone without a mail account, and a token without the scope: exit 1.
        p = self.m.ctl("sso", "check", "--token-file", "-", check=False,
                       input=self.idp.token("alice", "alicepw", scope="openid"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("scope mail not granted", p.stdout)
        p = self.m.ctl("sso", "check", "--token-file", "-", check=False, json_output=False,
                       input="not-a-token")
        self.assertEqual(p.returncode, 1)
        self.assertIn("token: invalid", p.stdout)

    def test_clear_text_connection_does_not_offer_bearer_mechanisms(self):
        m = Mailroom(extra_config=sso_config(self.idp.issuer), plaintext_on_loopback=False)
        try:
            m.seed_demo()
            m.start()
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            try:
                self.assertNotIn("AUTH=XOAUTH2", c.capabilities)
                self.assertNotIn("AUTH=OAUTHBEARER", c.capabilities)
            finally:
                c.logout()
        finally:
            m.close()


class SsoOnlyPolicyTest(unittest.TestCase):
    """"SSO users may not use their directory password on IMAP": with
    directory_password_protocols = [] the password is refused everywhere, a token and an app
    password still log in."""

    def test_directory_password_refused_token_and_app_password_accepted(self):
        idp = TokenMinter().start()
        m = Mailroom(extra_config=sso_config(idp.issuer),
                     auth_config="directory_password_protocols = []")
        try:
            m.seed_demo()
            m.start()
            c = imaplib.IMAP4_SSL("127.0.0.1", m.port("imaps"), ssl_context=m.ssl_context())
            with self.assertRaises(imaplib.IMAP4.error):
                c.login("alice@example.com", "wonderland")
            c.logout()
            self.assertEqual(ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com",
                                                              idp.mint()))[0], "OK")
            app = m.ctl("app-password", "create", "alice@example.com", "--name", "phone",
                        "--protocol", "imap")["password"]
            c = imaplib.IMAP4_SSL("127.0.0.1", m.port("imaps"), ssl_context=m.ssl_context())
            self.assertEqual(c.login("alice@example.com", app)[0], "OK")
            c.logout()
        finally:
            m.close()
            idp.close()


def hs256_token(header, claims, secret):
    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    signing_input = f"{enc(header)}.{enc(claims)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


class MinterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = TokenMinter()
        cls.idp.add_key("ec1", "ES256").add_key("ec2", "ES384").add_key("ed1", "EdDSA")
        cls.idp.add_key("ps1", "PS256")
        cls.idp.start()
        # Every refusal here counts as a failed login of alice from 127.0.0.1; the throttle
        # has its own tests, this class needs it out of the way.
        cls.m = Mailroom(extra_config=sso_config(cls.idp.issuer),
                         auth_config="max_failures_per_account = 100000\n"
                                     "max_failures_per_ip = 100000\n"
                                     "max_failures_per_account_all_sources = 100000")
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.m.close()
        finally:
            cls.idp.close()

    def login(self, token, user="alice@example.com", mechanism="XOAUTH2"):
        login = ImapLogin(self.m)
        message = xoauth2(user, token) if mechanism == "XOAUTH2" else oauthbearer(user, token)
        typ, data = login(mechanism, message)
        return typ, data, login

    def assert_refused(self, token, reason, **kw):
        """The login fails, and the log line of this attempt gives `reason`."""
        before = len(self.m.log())
        typ, data, login = self.login(token, **kw)
        self.assertEqual(typ, "NO", data)
        lines = [line for line in self.m.log()[before:].splitlines()
                 if "event=auth.attempt" in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"result=failed reason=.*" + reason)
        return login

    def test_every_accepted_algorithm(self):
        for kid in ("k1", "ec1", "ec2", "ed1", "ps1"):
            with self.subTest(kid=kid):
                self.assertEqual(self.login(self.idp.mint(kid=kid))[0], "OK")

    def test_expired_token(self):
        now = int(time.time())
        login = self.assert_refused(self.idp.mint(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
                                    r"token: expired \d+ s ago",
                                    mechanism="OAUTHBEARER")
        self.assertEqual(login.error()["status"], "invalid_token")

    def test_not_yet_valid_and_missing_exp(self):
        self.assert_refused(self.idp.mint(nbf=int(time.time()) + 3600), r"not yet valid")
        self.assert_refused(self.idp.mint(exp=None), r"token: no exp")

    def test_wrong_audience_and_issuer(self):
        self.assert_refused(self.idp.mint(aud="someone-else"), r"audience not accepted")
        self.assert_refused(self.idp.mint(iss="http://127.0.0.1:1/evil"), r"untrusted issuer")

    def test_alg_none_is_refused(self):
        claims = self.idp.claims()
        token = self.idp.mint_raw({"alg": "none", "typ": "JWT"}, claims)
        self.assert_refused(token, r"algorithm none refused")

    def test_hs256_keyed_with_the_public_key_is_refused(self):
        # Algorithm confusion: an HMAC "signed" with the RSA public key, which anyone has.
        token = hs256_token({"alg": "HS256", "kid": "k1"}, self.idp.claims(),
                            self.idp.public_pem("k1"))
        self.assert_refused(token, r"algorithm HS256 refused")

    def test_signature_of_another_key_is_refused(self):
        # The header names k1, the signature is ps1's (another RSA key): it does not verify.
        good = self.idp.mint(kid="k1").split(".")
        other = self.idp.mint(kid="ps1").split(".")
        self.assert_refused(".".join(good[:2] + [other[2]]), r"bad signature")

    def test_oversized_token_is_refused_unread(self):
        self.assert_refused(self.idp.mint(padding="x" * 20000), r"token longer than 16384 bytes")

    def test_token_for_an_unknown_account(self):
        self.assert_refused(self.idp.mint(user="nobody"), r"no account for email",
                            user="nobody@example.com")

    def test_rotation_unknown_kid_fetches_again_once_per_interval(self):
        self.idp.add_key("k9", "RS256", publish=False)
        token = self.idp.mint(kid="k9")
        before = self.idp.jwks_requests
        # Not yet published: the unknown kid fetches the set once, and is refused.
        self.assert_refused(token, r"no key k9")
        self.assertEqual(self.idp.jwks_requests, before + 1)
        # Published now, but within unknown_key_interval no second fetch: still refused.
        self.idp.published.append("k9")
        self.assert_refused(token, r"no key k9")
        self.assertEqual(self.idp.jwks_requests, before + 1)

    def test_rotation_new_key_is_fetched_on_first_use(self):
        m = Mailroom(extra_config=sso_config(self.idp.issuer))
        try:
            m.seed_demo()
            m.start()
            wait_for_log(m, "event=sso.keys_fetched")
            self.idp.add_key("k2", "RS256")  # rotated in after mailroomd cached the set
            login = ImapLogin(m)
            self.assertEqual(login("XOAUTH2", xoauth2("alice@example.com",
                                                       self.idp.mint(kid="k2")))[0], "OK")
        finally:
            m.close()


class SilentProviderTest(unittest.TestCase):
    """A provider that accepts the connection and does not answer: the fetch gives up after
    fetch_timeout, and a login is a temporary failure, not a hang."""

    def test_silent_provider_times_out(self):
        idp = TokenMinter()
        idp.jwks_delay = 8  # longer than fetch_timeout; the server thread ends by itself
        idp.start()
        config = sso_config(idp.issuer).replace("[sso]\n", "[sso]\nfetch_timeout = \"2s\"\n")
        m = Mailroom(extra_config=config)
        try:
            m.seed_demo()
            m.start()
            wait_for_log(m, "event=sso.fetch_failed")
            self.assertRegex(m.log(), r"event=sso.fetch_failed [^\n]*timed out")
            # The client's own 30 s timeout would fail the test if the login hung.
            typ, data = ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com", idp.mint()))
            self.assertEqual(typ, "NO")
            self.assertIn(b"UNAVAILABLE", data[0])
        finally:
            m.close()
            idp.close()


class IntrospectionAndHttpsTest(unittest.TestCase):
    """A provider on HTTPS (verified against the test CA given as [sso] tls_ca_file) whose
    tokens are opaque: RFC 7662 introspection with client credentials, answers cached, a
    provider whose certificate is not trusted gives a temporary failure."""

    def test_opaque_tokens_over_https(self):
        tls_dir = tempfile.mkdtemp(prefix="mr-sso-tls-")
        self.addCleanup(shutil.rmtree, tls_dir, True)
        ca, cert, key = tls_files(tls_dir)
        idp = TokenMinter(tls=(cert, key)).start()
        client, secret = idp.introspection_client
        m = Mailroom(extra_config=f"""
[sso]
tls_ca_file = "{ca}"
[[sso.issuer]]
issuer = "{idp.issuer}"
audiences = ["mailroom"]
required_scope = "mail"
claim = "preferred_username"
client_id = "{client}"
client_secret = "{secret}"
""")
        try:
            m.seed_demo()
            m.start()
            wait_for_log(m, "event=sso.keys_fetched")
            token = idp.mint_opaque("bob")
            login = ImapLogin(m)
            self.assertEqual(login("OAUTHBEARER", oauthbearer("", token))[0], "OK")
            self.assertEqual(login("OAUTHBEARER", oauthbearer("", token))[0], "OK")
            self.assertEqual(idp.introspections, 1, "the second login is answered by the cache")
            self.assertEqual(login("OAUTHBEARER", oauthbearer("", "0" * 64))[0], "NO")
            self.assertIn("reason=\"token: inactive token\"", m.log())
            expired = idp.mint_opaque("bob", exp=int(time.time()) - 10)
            self.assertEqual(login("OAUTHBEARER", oauthbearer("", expired))[0], "NO")
            # The JWT path works over the same HTTPS provider.
            self.assertEqual(login("XOAUTH2", xoauth2("alice@example.com", idp.mint()))[0], "OK")
        finally:
            m.close()
            idp.close()

    def test_untrusted_provider_certificate_is_a_temporary_failure(self):
        tls_dir = tempfile.mkdtemp(prefix="mr-sso-tls-")
        self.addCleanup(shutil.rmtree, tls_dir, True)
        _, cert, key = tls_files(tls_dir)
        idp = TokenMinter(tls=(cert, key)).start()
        m = Mailroom(extra_config=f"""
[sso]
[[sso.issuer]]
issuer = "{idp.issuer}"
audiences = ["mailroom"]
""")  # no tls_ca_file: the system store does not know the test CA
        try:
            m.seed_demo()
            m.start()
            wait_for_log(m, "event=sso.fetch_failed")
            self.assertRegex(m.log(), r"event=sso.fetch_failed [^\n]*certificate")
            typ, data = ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com", idp.mint()))
            self.assertEqual(typ, "NO")
            self.assertIn(b"UNAVAILABLE", data[0])
        finally:
            m.close()
            idp.close()


def wait_for_log(m, text, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in m.log():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log:\n{m.log()[-3000:]}")


class ProviderDownTest(unittest.TestCase):
    """The provider goes away: cached keys keep working; without keys it is a temporary
    failure ([UNAVAILABLE], 454, -ERR [SYS/TEMP]), not "wrong password"."""

    def test_cached_keys_keep_working_and_no_keys_is_temporary(self):
        idp = TokenMinter().start()
        m = Mailroom(extra_config=sso_config(idp.issuer, unknown_key_interval="2s"))
        try:
            m.seed_demo()
            m.start()
            wait_for_log(m, "event=sso.keys_fetched")
            token = idp.mint()
            idp.stop()
            self.assertEqual(ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com", token))[0],
                             "OK")
            p = m.ctl("sso", "check", check=False)
            self.assertEqual(p.returncode, 2)
            self.assertFalse(json.loads(p.stdout)["issuers"][0]["ok"])
            # A fresh server that never reached the provider has no key to check with.
            m.restart()
            wait_for_log(m, "event=sso.fetch_failed")
            typ, data = ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com", token))
            self.assertEqual(typ, "NO")
            self.assertIn(b"UNAVAILABLE", data[0])
            with smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=30) as s:
                s.starttls(context=m.ssl_context())
                s.ehlo()
                code, text = s.docmd("AUTH", "XOAUTH2 " + base64.b64encode(
                    xoauth2("alice@example.com", token)).decode())
                self.assertEqual(code, 454, text)
            # The provider comes back: a login after unknown_key_interval fetches the keys.
            idp.start()
            deadline = time.time() + 30
            while time.time() < deadline:
                if ImapLogin(m)("XOAUTH2", xoauth2("alice@example.com", token))[0] == "OK":
                    break
                time.sleep(1)
            else:
                self.fail("no login after the provider came back:\n" + m.log()[-3000:])
        finally:
            m.close()
            idp.close()


if __name__ == "__main__":
    unittest.main()
