"""The web client's company sign-in (OpenID Connect authorization code + PKCE,
src/webmail/sso.h) in a real browser against a real provider: Glewlwyd from Debian
(peers_oidc.py) and headless Chromium driven by playwright-core (sso_browser.js). The "Sign in
with Example Corp" button, Glewlwyd's login and consent pages, back signed in with the inbox
showing a message delivered by SMTP; the same callback replayed is refused; an account
disabled in the directory is refused; a provider configured with a wrong client secret gives
the sign-in page's error; sign-out ends the session. An "SSO only" policy bundle (login
method sso) refuses alice's password while SSO signs her in. Screenshots are kept in
<build>/test-artifacts/webmail.

Skips (exit 77 through run_pytests) when Glewlwyd, Chromium, node or the built client with its
node_modules is missing."""
import json
import os
import smtplib
import subprocess
import tempfile
import unittest

from harness import DEFAULT_LISTENERS, Mailroom
from peers_oidc import GLEWLWYD, Glewlwyd
import test_webmail
import web_client
from test_webmail import CHROMIUM, NODE_MODULES, SHOTS, WEB_ROOT, missing_tools

LISTENERS = dict(DEFAULT_LISTENERS, https=("http", "implicit"))
HERE = os.path.dirname(os.path.abspath(__file__))
SUBJECT = "Quarterly numbers over SSO"


class WebmailSsoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = missing_tools() or (None if os.access(GLEWLWYD, os.X_OK)
                                  else f"{GLEWLWYD} not found (apt-get install glewlwyd)")
        if why:
            raise unittest.SkipTest(why)
        cls.idp = Glewlwyd().start()
        cls.secrets = tempfile.mkdtemp(prefix="mr-sso-secrets-")
        files = {}
        for name, secret in (("right", "webmail-sso-secret"), ("wrong", "not-the-secret")):
            files[name] = os.path.join(cls.secrets, name)
            fd = os.open(files[name], os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, (secret + "\n").encode())
            os.close(fd)
        providers = ""
        for pid, name, client, secret in (("corp", "Example Corp", "webmail-sso", files["right"]),
                                          ("wrong", "Wrong Secret", "webmail-wrong", files["wrong"])):
            providers += (f'[[webmail.sso]]\nid = "{pid}"\ndisplay_name = "{name}"\n'
                          f'issuer = "{cls.idp.issuer}"\nclient_id = "{client}"\n'
                          f'client_secret_file = "{secret}"\nscopes = ["openid"]\n\n')
        cls.m = Mailroom(listeners=LISTENERS,
                         extra_config=f'[sso]\nallow_http = true\n\n[webmail]\nroot = "{WEB_ROOT}"\n\n'
                                      + providers)
        cls.m.seed_demo()
        cls.m.start()
        callback = f"https://127.0.0.1:{cls.m.port('https')}/webmail/sso/callback"
        cls.idp.add_client("webmail-sso", "webmail-sso-secret", [callback], ["openid"])
        cls.idp.add_client("webmail-wrong", "webmail-wrong-secret", [callback], ["openid"])

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "m"):
            cls.m.close()
        if hasattr(cls, "idp"):
            cls.idp.stop()
        if hasattr(cls, "secrets"):
            for f in os.listdir(cls.secrets):
                os.unlink(os.path.join(cls.secrets, f))
            os.rmdir(cls.secrets)

    https = test_webmail.WebmailBrowserTest.https
    request = test_webmail.WebmailBrowserTest.request

    def password_sign_in(self, user, password):
        return web_client.login(self.m, user, password)[0]

    def test_sso_sign_in_in_a_browser(self):
        msg = (f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
               f"Subject: {SUBJECT}\r\nMessage-ID: <sso-1@remote.example>\r\n\r\n"
               "Delivered by SMTP, read after a company sign-in.\r\n")
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"], msg.encode())
        # "SSO only" for alice: her password no longer signs in to the web client.
        self.assertEqual(self.password_sign_in("alice@example.com", "wonderland"), 200)
        self.m.ctl("policy", "add", "sso-only", "--login-method", "sso", json_output=False)
        self.m.ctl("policy", "assign", "sso-only", "alice@example.com", "--user", json_output=False)
        self.assertEqual(self.password_sign_in("alice@example.com", "wonderland"), 401)
        # bob exists at the provider but is disabled here.
        self.m.ctl("user", "change", "bob@example.com", "--status", "disabled", json_output=False)

        os.makedirs(SHOTS, exist_ok=True)
        spec = {"base": f"https://127.0.0.1:{self.m.port('https')}", "chromium": CHROMIUM,
                "shots": SHOTS, "subject": SUBJECT, "user": "alice", "password": "alicepw",
                "disabledUser": "bob", "disabledPassword": "bobpw",
                "authorizationEndpoint": self.idp.issuer + "/auth"}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        try:
            proc = subprocess.run(["node", os.path.join(HERE, "sso_browser.js"), f.name],
                                  env=dict(os.environ, NODE_PATH=NODE_MODULES),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=240)
        finally:
            os.unlink(f.name)
        report = proc.stdout
        self.assertEqual(proc.returncode, 0, report + "\n" + self.m.log()[-3000:])
        for check in ("authorization request with PKCE S256, state and nonce", "signed in by SSO",
                      "inbox shows the SMTP message", "replayed callback refused", "signed out",
                      "disabled account refused", "wrong client secret refused"):
            self.assertIn("ok " + check, report)
        for shot in ("sso-1-sign-in", "sso-3-inbox", "sso-4-replay-refused", "sso-5-disabled",
                     "sso-6-wrong-secret"):
            self.assertTrue(os.path.getsize(os.path.join(SHOTS, shot + ".png")) > 0, shot)
        # Every refusal is audited with its reason; no code, token or state in the log.
        log = self.m.log()
        self.assertIn("event=webmail.sso_login", log)
        for reason in ("reason=state", "reason=disabled", "reason=token"):
            self.assertIn(reason, log)
        self.assertRegex(log, r"reason=token detail=\"token endpoint HTTP 40\d")
        self.assertNotIn("webmail-sso-secret", log)


if __name__ == "__main__":
    unittest.main()
