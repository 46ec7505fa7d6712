"""Attachments in the web client (issue 19): the reading pane's list, previews and downloads, and
the quota in the folder pane, against one mailroomd over HTTPS.

- API (no browser): JMAP Quota/get (RFC 9425) over the directory's limits; the download
  headers of every kind of attachment (inline only for real images and PDF, a sandbox CSP,
  nosniff, RFC 6266 names) with Basic auth and with the web client's session cookie.
- Browser (headless Chromium, preview_browser.js, one page): the list with decoded names, the
  image preview, text shown as text, a download that gives the same bytes, hostile HTML and
  SVG attachments that never run, the quota line in three languages; screenshots in
  <build>/test-artifacts/webmail-preview.

Skips (exit 77 through run_pytests) when Chromium, node or the built client is missing."""
import base64
import hashlib
import json
import os
import smtplib
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import quote

import web_client
from harness import Mailroom
from test_webmail import CHROMIUM, HERE, LISTENERS, NODE_MODULES, WEB_ROOT, missing_tools

SHOTS = os.path.join(os.path.dirname(WEB_ROOT), "test-artifacts", "webmail-preview")
AUTH = web_client.basic_auth("alice@example.com", "wonderland")
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:quota"]
SUBJECT = "Files for review"
INLINE_SUBJECT = "Logo inline"
# A 2x2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxAADTAwMDAAAJAADsZzU"
    "ZwAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n"
DOCX = b"PK\x03\x04" + bytes(range(256)) * 4  # not a real document: a download only
# A text attachment that holds markup (a content type lie): shown as text, never as HTML.
TEXT = "<b>not bold</b><script>alert('txt')</script> 中文 ünïcödé".encode()
HTML = b"<html><body><script>alert('html')</script><img src=x onerror=alert('img')></body></html>"
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'svg\')">'
       b"<script>alert('svg2')</script></svg>")
ATTACHMENTS = [  # (file name, type, bytes)
    ("pixel.png", "image/png", PNG),
    ("report.pdf", "application/pdf", PDF),
    ("notes.txt", "text/plain", TEXT),
    ("會議記錄 2024.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", DOCX),
    ("page.html", "text/html", HTML),
    ("logo.svg", "image/svg+xml", SVG),
    ("fake.png", "image/png", HTML),  # HTML labelled as a PNG
]


class WebmailPreviewTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = missing_tools()
        if why:
            raise unittest.SkipTest(why)
        cls.m = Mailroom(listeners=LISTENERS, extra_config=f'[webmail]\nroot = "{WEB_ROOT}"\n')
        cls.m.seed_demo()
        cls.m.ctl("user", "change", "alice@example.com", "--quota-bytes", "50M",
                  "--quota-messages", "1000", json_output=False)
        cls.m.start()
        msg = EmailMessage()
        msg["From"] = "Carol <carol@remote.example>"
        msg["To"] = "alice@example.com"
        msg["Subject"] = SUBJECT
        msg["Message-ID"] = "<files@remote.example>"
        msg.set_content("Seven files attached.\n")
        for name, ctype, data in ATTACHMENTS:
            main, sub = ctype.split("/")
            if main == "text":
                msg.add_attachment(data.decode(), subtype=sub, filename=name)
            else:
                msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
        # HTML with its own images (RFC 2387 multipart/related, RFC 2392 cid: URLs): one PNG,
        # one HTML part named by cid (never inlined), one cid that names nothing.
        related = EmailMessage()
        related["From"] = "Carol <carol@remote.example>"
        related["To"] = "alice@example.com"
        related["Subject"] = INLINE_SUBJECT
        related.set_content("Our logo.\n")
        related.add_alternative(
            '<p>Logo: <img alt="logo" src="cid:logo%40remote.example"> '
            '<img alt="page" src="cid:page@remote.example"> '
            '<img alt="missing" src="cid:nothing@remote.example"></p>', subtype="html")
        html_part = related.get_payload()[1]
        html_part.add_related(PNG, maintype="image", subtype="png", cid="<logo@remote.example>")
        html_part.add_related(HTML, maintype="text", subtype="html", cid="<page@remote.example>")
        with smtplib.SMTP("127.0.0.1", cls.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"], msg.as_bytes(policy=SMTP))
            s.sendmail("carol@remote.example", ["alice@example.com"], related.as_bytes(policy=SMTP))
        cls.account, cls.email = cls.wait_delivered()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    @classmethod
    def request(cls, method, path, body=None, headers=None):
        return web_client.request(cls.m, method, path, body, headers)

    @classmethod
    def jmap(cls, calls):
        return web_client.jmap_call(cls.m, calls, {"Authorization": AUTH}, USING)

    @classmethod
    def wait_delivered(cls):
        status, _, data = cls.request("GET", "/.well-known/jmap", headers={"Authorization": AUTH})
        assert status == 200, data
        account = json.loads(data)["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        deadline = time.time() + 60
        while True:
            res = cls.jmap([["Email/query", {"accountId": account, "filter": {"subject": SUBJECT}}, "q"],
                            ["Email/get", {"accountId": account, "properties": ["attachments"],
                                           "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"}}, "g"]])
            found = res[1][1]["list"]
            if found:
                return account, found[0]
            if time.time() > deadline:
                raise AssertionError("the message with attachments was not delivered")
            time.sleep(0.1)

    def url(self, part, inline=False):
        path = (f"/jmap/download/{self.account}/{part['blobId']}/{quote(part['name'], safe='')}"
                f"?type={quote(part['type'], safe='')}")
        return path + ("&disposition=inline" if inline else "")

    def parts(self):
        return {p["name"]: p for p in self.email["attachments"]}

    def test_quota_get(self):
        [[name, q, _]] = self.jmap([["Quota/get", {"accountId": self.account, "ids": None}, "q"]])
        self.assertEqual(name, "Quota/get", q)
        by_type = {x["resourceType"]: x for x in q["list"]}
        self.assertEqual(by_type["octets"]["hardLimit"], 50 << 20)
        self.assertGreater(by_type["octets"]["used"], len(DOCX))
        self.assertEqual(by_type["count"]["hardLimit"], 1000)
        self.assertGreaterEqual(by_type["count"]["used"], 1)
        [[name, ch, _]] = self.jmap([["Quota/changes", {"accountId": self.account, "sinceState": q["state"]}, "c"]])
        self.assertEqual((name, ch["updated"], ch["newState"]), ("Quota/changes", [], q["state"]))
        status, _, data = self.request("GET", "/.well-known/jmap", headers={"Authorization": AUTH})
        self.assertIn("urn:ietf:params:jmap:quota", json.loads(data)["capabilities"])

    def test_attachment_names_and_download_headers(self):
        parts = self.parts()
        self.assertEqual(sorted(parts), sorted(n for n, _, _ in ATTACHMENTS))  # RFC 2231 name decoded
        for name, ctype, data in ATTACHMENTS:
            p = parts[name]
            for inline in (False, True):
                status, h, body = self.request("GET", self.url(p, inline), headers={"Authorization": AUTH})
                self.assertEqual(status, 200, (name, body[:200]))
                # Text parts travel with CRLF line ends and may gain a final line end.
                self.assertEqual(body.rstrip(b"\r\n"), data.rstrip(b"\r\n"), name)
                self.assertEqual(h["x-content-type-options"], "nosniff")
                self.assertEqual(h["cross-origin-resource-policy"], "same-origin")
                shown = inline and name in ("pixel.png", "report.pdf")
                self.assertTrue(h["content-disposition"].startswith("inline;" if shown else "attachment;"),
                                (name, inline, h["content-disposition"]))
                if name != "report.pdf" or not inline:
                    self.assertTrue(h["content-security-policy"].startswith("sandbox;"), name)
        # The UTF-8 name (RFC 8187) and an ASCII fallback.
        _, h, _ = self.request("GET", self.url(parts["會議記錄 2024.docx"]), headers={"Authorization": AUTH})
        self.assertIn("filename*=UTF-8''%E6%9C%83%E8%AD%B0%E8%A8%98%E9%8C%84%202024.docx", h["content-disposition"])
        self.assertIn('filename="____________ 2024.docx"', h["content-disposition"])

    def test_download_with_the_session_cookie(self):
        p = self.parts()["pixel.png"]
        self.assertEqual(self.request("GET", self.url(p))[0], 401)  # no credentials
        status, h, data = web_client.login(self.m, "alice@example.com", "wonderland")
        self.assertEqual(status, 200, data)
        cookie = h["set-cookie"].split(";")[0]
        self.assertIn("SameSite=Strict", h["set-cookie"])  # never sent on another site's request
        status, _, body = self.request("GET", self.url(p, True), headers={"Cookie": cookie})
        self.assertEqual((status, body), (200, PNG))
        # Another account's blob through this session: not found.
        other = self.url(p).replace(self.account, "someone-else", 1)
        self.assertEqual(self.request("GET", other, headers={"Cookie": cookie})[0], 404)

    def test_browser(self):
        os.makedirs(SHOTS, exist_ok=True)
        spec = {"base": f"https://127.0.0.1:{self.m.port('https')}", "user": "alice@example.com",
                "password": "wonderland", "subject": SUBJECT, "shots": SHOTS, "chromium": CHROMIUM,
                "names": [n for n, _, _ in ATTACHMENTS],
                "download": {"name": ATTACHMENTS[3][0], "sha256": hashlib.sha256(DOCX).hexdigest()},
                "text": TEXT.decode(), "inline_subject": INLINE_SUBJECT,
                # The Office preview runs when its tools are installed (scripts/setup): then the
                # .docx row has a Preview button (not pressed here: test_office_preview.py
                # converts), else it says "Download only".
                "office": all(os.access(t, os.X_OK) for t in
                              ("/usr/bin/soffice", "/usr/bin/bwrap", "/usr/bin/prlimit"))}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec, f)
        try:
            r = subprocess.run(["node", os.path.join(HERE, "preview_browser.js"), f.name],
                               env=dict(os.environ, NODE_PATH=NODE_MODULES), capture_output=True,
                               text=True, timeout=240)
        finally:
            os.unlink(f.name)
        report = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, report)
        for check in ("attachment list", "image preview", "text shown as text", "download same bytes",
                      "pdf opens in a new tab", "hostile attachments inert", "quota shown",
                      "cid images inline"):
            self.assertIn("ok " + check, report)


if __name__ == "__main__":
    unittest.main()
