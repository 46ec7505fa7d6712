"""The web client's settings screens (issue 19) in a real browser (browser_settings.js: headless
Chromium driven by playwright-core) against mailroomd over HTTPS, checked from outside:
- a domain put on the block list in Settings: an SMTP message from it lands in Junk, not in the
  inbox, while a sender of that domain on the allow list (also added in Settings) reaches the
  inbox (IMAP);
- a vacation reply set in Settings (VacationResponse over JMAP): an SMTP message to alice gets
  the auto-reply, received by a remote SMTP peer (the outbound client, loopback);
- an app password created in Settings logs in over IMAP; revoked in Settings, it is refused;
- the screen in Traditional Chinese and in a phone viewport (screenshots s1-s4).
Without a browser: the /webmail/api endpoints' refusals (no session 401, CSRF 403, another
account's entries and app passwords unreachable, malformed bodies 400, the 20 app passwords
limit, a policy without app passwords) and mailroomctl seeing the list the web client wrote
(one service).

Skips (exit 77 through run_pytests) when Chromium, node or the built client is missing."""
import imaplib
import json
import os
import smtplib
import time
import unittest
import urllib.parse

import test_webmail as base
import test_webmail_compose as compose
import web_client
from harness import Mailroom
from peers_smtp import ScriptedSmtpPeer

SAME = web_client.SAME_ORIGIN


class WebmailSettingsTest(unittest.TestCase):
    https = base.WebmailBrowserTest.https
    request = base.WebmailBrowserTest.request

    @classmethod
    def setUpClass(cls):
        why = base.missing_tools()
        if why:
            raise unittest.SkipTest(why)
        cls.peer = ScriptedSmtpPeer()
        cls.peer.start()
        cls.m = Mailroom(listeners=base.LISTENERS, extra_config=f"""
[webmail]
root = "{base.WEB_ROOT}"

[outbound]
connect_timeout = 5
command_timeout = 20

[outbound.transports]
"remote.example" = "[127.0.0.1]:{cls.peer.port}"

[queue]
remote_retry_min = 1
remote_retry_max = 2
""")
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.peer.stop()

    # --- helpers ---------------------------------------------------------------------------
    imap = compose.WebmailComposeTest.imap

    def imap_refused(self, user, password):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        try:
            with self.assertRaises(imaplib.IMAP4.error):
                c.login(user, password)
        finally:
            c.shutdown()

    def subjects(self, folder):
        c = self.imap("alice@example.com", "wonderland")
        try:
            if c.select(f'"{folder}"', readonly=True)[0] != "OK":
                return set()
            _, data = c.uid("SEARCH", None, "ALL")
            out = set()
            for uid in data[0].split():
                _, d = c.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                out.add(d[0][1].decode().strip().removeprefix("Subject: "))
            return out
        finally:
            c.logout()

    def smtp(self, sender, subject, message_id):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail(sender, ["alice@example.com"],
                       (f"From: <{sender}>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
                        f"Message-ID: <{message_id}>\r\n\r\nHello.\r\n").encode())

    def wait_for(self, what, predicate, timeout=60):
        deadline = time.time() + timeout
        while not predicate():
            if time.time() > deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.2)

    def session(self, user, password):
        return web_client.web_session(self.m, user, password)

    def api(self, method, path, cookie=None, csrf=None, body=None, headers=None):
        h = dict(SAME)
        if cookie:
            h["Cookie"] = cookie
        if csrf:
            h["X-Mailroom-CSRF"] = csrf
        if body is not None:
            h["Content-Type"] = "application/json"
            if not isinstance(body, str):
                body = json.dumps(body)
        h.update(headers or {})
        status, _, data = self.request(method, "/webmail/api/" + path, body, h)
        return status, (json.loads(data) if data else None)

    # --- the browser test ------------------------------------------------------------------
    def act(self, need):
        """What the browser asks for between its steps (a "NEED ..." line); answers "done"."""
        what, _, arg = need.partition(" ")
        if what == "lists":
            self.smtp("spammer@bad.example", "Blocked offer", "b1@bad.example")
            self.smtp("friend@bad.example", "From a friend", "f1@bad.example")
            self.wait_for("the blocked message in Junk", lambda: "Blocked offer" in self.subjects("Junk"))
            self.wait_for("the allowed message in INBOX", lambda: "From a friend" in self.subjects("INBOX"))
            self.assertNotIn("Blocked offer", self.subjects("INBOX"))
            self.assertNotIn("From a friend", self.subjects("Junk"))
        elif what == "vacation":
            self.smtp("carol@remote.example", "Are you there?", "q1@remote.example")
            reply = self.peer.wait_for(1, "carol@remote.example", timeout=60)[0]
            self.assertIn(b"Subject: Away (web)", reply)
            self.assertIn(b"Back on Monday.", reply)
            self.assertIn(b"Auto-Submitted: auto-replied", reply)
            self.assertIn(b"In-Reply-To: <q1@remote.example>", reply)
        elif what == "imap-login":
            self.imap("alice@example.com", arg).logout()
        elif what == "imap-refused":
            # Revocation applies to the next login at once (the store is asked on each login).
            self.imap_refused("alice@example.com", arg)
        else:
            self.fail(f"unknown request from the browser: {need}")

    def test_browser(self):
        os.makedirs(base.SHOTS, exist_ok=True)
        spec = {"base": f"https://127.0.0.1:{self.m.port('https')}", "user": "alice@example.com",
                "password": "wonderland", "chromium": base.CHROMIUM, "shots": base.SHOTS}
        rc, report = base.run_browser("browser_settings.js", spec, self.act)
        self.assertEqual(rc, 0, report)
        for check in ("block and allow lists", "ads and blocked choices", "vacation reply",
                      "app password created", "app password revoked", "zh-TW", "phone layout"):
            self.assertIn("ok " + check, report)
        for shot in ("s1-lists", "s2-vacation", "s3-app-password", "s4-phone-zh-TW"):
            self.assertTrue(os.path.getsize(os.path.join(base.SHOTS, shot + ".png")) > 0, shot)

    # --- the endpoints' refusals, without a browser -------------------------------------------
    def test_api_refusals(self):
        a_cookie, a_csrf = self.session("alice@example.com", "wonderland")
        b_cookie, b_csrf = self.session("bob@example.com", "builder")
        # No session: 401, for reads and writes.
        for method, path in (("GET", "personal-lists"), ("GET", "app-passwords"),
                             ("POST", "personal-lists/blocklist"), ("POST", "app-passwords"),
                             ("DELETE", "app-passwords/x")):
            self.assertEqual(self.api(method, path, body={} if method == "POST" else None)[0], 401, path)
        # A write without the CSRF token, with a wrong one, or cross-site: 403, nothing written.
        entry = {"entry": "csrf@bad.example"}
        self.assertEqual(self.api("POST", "personal-lists/blocklist", b_cookie, body=entry)[0], 403)
        self.assertEqual(self.api("POST", "personal-lists/blocklist", b_cookie, "0" * 64, entry)[0], 403)
        self.assertEqual(self.api("PATCH", "personal-lists", b_cookie, b_csrf, {"blocked": "discard"},
                                  {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})[0], 403)
        self.assertEqual(self.api("POST", "app-passwords", b_cookie, body={"name": "x"})[0], 403)
        status, lists = self.api("GET", "personal-lists", b_cookie)
        self.assertEqual((status, lists["blocklist"], lists["blocked"]), (200, [], "junk"))

        # Bob's entries and app passwords are his; alice cannot see or remove them.
        status, lists = self.api("POST", "personal-lists/blocklist", b_cookie, b_csrf, {"entry": "Bob-Only@Bad.Example"})
        self.assertEqual(status, 201, lists)
        self.assertEqual(lists["blocklist"], [{"kind": "sender", "value": "bob-only@bad.example"}])
        status, created = self.api("POST", "app-passwords", b_cookie, b_csrf, {"name": "Bob phone", "protocols": ["imap"]})
        self.assertEqual(status, 201, created)
        self.assertEqual(len(created["secret"].replace("-", "")), 16)
        self.assertNotIn("bob-only@bad.example", json.dumps(self.api("GET", "personal-lists", a_cookie)[1]))
        self.assertEqual(self.api("DELETE", "personal-lists/blocklist/bob-only%40bad.example", a_cookie, a_csrf)[0], 404)
        self.assertEqual(self.api("GET", "app-passwords", a_cookie)[1]["items"], [])
        for name_or_id in (created["id"], urllib.parse.quote(created["name"])):
            self.assertEqual(self.api("DELETE", f"app-passwords/{name_or_id}", a_cookie, a_csrf)[0], 404)
        self.imap("bob@example.com", created["secret"]).logout()  # still works
        # mailroomctl sees what the web client wrote (one service, one file).
        self.assertIn("bob-only@bad.example", json.dumps(self.m.ctl("user", "blocklist", "list", "bob@example.com")))

        # Malformed input: 400 with the reason.
        bad = [("POST", "personal-lists/blocklist", "not json"),
               ("POST", "personal-lists/blocklist", {"entry": 5}),
               ("POST", "personal-lists/blocklist", {"entry": "a@b.example", "extra": 1}),
               ("POST", "personal-lists/blocklist", {}),
               ("POST", "personal-lists/blocklist", {"entry": "not an address!"}),
               ("POST", "personal-lists/greylist", {"entry": "a@b.example"}),
               ("POST", "personal-lists/blocklist", {"entry": "x" * 5000}),
               ("PATCH", "personal-lists", {"ads": "maybe"}),
               ("PATCH", "personal-lists", {"blocked": ["discard"]}),
               ("POST", "app-passwords", {"name": "", "protocols": []}),
               ("POST", "app-passwords", {"name": "n", "protocols": ["ftp"]}),
               ("POST", "app-passwords", {"name": "x" * 100}),
               ("POST", "app-passwords", {"name": "n", "secret": "chosen"})]
        for method, path, body in bad:
            status, problem = self.api(method, path, b_cookie, b_csrf, body)
            self.assertEqual(status, 400, (path, body, problem))
            self.assertTrue(problem.get("detail"), problem)
        # Already on the list: 409; not on it: 404.
        self.assertEqual(self.api("POST", "personal-lists/blocklist", b_cookie, b_csrf, {"entry": "bob-only@bad.example"})[0], 409)
        self.assertEqual(self.api("DELETE", "personal-lists/allowlist/nobody.example", b_cookie, b_csrf)[0], 404)

        # At most 20 active app passwords; a revoked one frees a place.
        for i in range(19):
            self.assertEqual(self.api("POST", "app-passwords", b_cookie, b_csrf, {"name": f"app {i}"})[0], 201, i)
        status, listed = self.api("GET", "app-passwords", b_cookie)
        self.assertEqual((len(listed["items"]), listed["max"], listed["reauth"]), (20, 20, False))
        status, problem = self.api("POST", "app-passwords", b_cookie, b_csrf, {"name": "one too many"})
        self.assertEqual(status, 400, problem)
        status, revoked = self.api("DELETE", f"app-passwords/{created['id']}", b_cookie, b_csrf)
        self.assertEqual((status, revoked["revoked_reason"]), (200, "revoked_by_user"))
        self.assertEqual(self.api("POST", "app-passwords", b_cookie, b_csrf, {"name": "one too many"})[0], 201)
        self.imap_refused("bob@example.com", created["secret"])
        # The account's policy: without the login method "app-password" none is offered.
        self.m.ctl("policy", "add", "password-only", "--login-method", "password", json_output=False)
        self.m.ctl("policy", "assign", "password-only", "bob@example.com", "--user", json_output=False)
        status, listed = self.api("GET", "app-passwords", b_cookie)
        self.assertEqual((status, listed["allowed"]), (200, False))
        status, problem = self.api("POST", "app-passwords", b_cookie, b_csrf, {"name": "refused"})
        self.assertEqual(status, 403, problem)
        self.assertIn("policy", problem["detail"])
        # The audit lines are mailroomctl's (the store writes them).
        log = self.m.log()
        self.assertIn("event=auth.app_password_created account=", log)
        self.assertRegex(log, f"event=auth.app_password_revoked .*id={created['id']} reason=\"?revoked_by_user")


if __name__ == "__main__":
    unittest.main()
