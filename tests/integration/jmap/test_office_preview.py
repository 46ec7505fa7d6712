"""The web client's Office preview (issue 19) on a real mailroomd: mail with a .docx, an .xlsx
and an .odt (made here with zipfile) delivered by SMTP, converted on demand by the real
LibreOffice in bubblewrap (GET /jmap/preview/...), each PDF read back with pdftotext (Chinese
included); the queue's 503 when full; a corrupt .docx answered with a clean 422 while the
server stays healthy; the cache answering a second preview without converting; the session
cookie; a tiny office_timeout killing the converter with nothing left running.
Lean on purpose: about five LibreOffice runs (one profile warm-up), one mailroomd."""
import http.client
import json
import os
import shutil
import smtplib
import subprocess
import time
import unittest
from email.message import EmailMessage

import office_docs
from harness import DEFAULT_LISTENERS, Mailroom
from test_jmap import Jmap

LISTENERS = dict(DEFAULT_LISTENERS, https=("http", "implicit"))
TOOLS = ("/usr/bin/soffice", "/usr/bin/bwrap", "/usr/bin/prlimit", "/usr/bin/pdftotext")
# One conversion at a time and one waiting: the third document asked at once gets 503.
CONFIG = "[webmail]\noffice_concurrency = 1\noffice_queue = 1\noffice_per_user = 4\n"
DOCS = {
    "report.docx": (office_docs.docx("Quarterly report 季度報告 docx"), "季度報告"),
    "sheet.xlsx": (office_docs.xlsx("Budget", "預算表", "xlsx"), "預算表"),
    "notes.odt": (office_docs.odt("Meeting notes 会议记录 odt"), "会议记录"),
}


def tools_missing():
    return [t for t in TOOLS if not os.access(t, os.X_OK)]


@unittest.skipIf(tools_missing(), f"not installed: {tools_missing()} (scripts/setup)")
class OfficePreviewTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(listeners=LISTENERS, extra_config=CONFIG)
        cls.m.seed_demo()
        cls.m.start()
        msg = EmailMessage()
        msg["From"] = "carol@remote.example"
        msg["To"] = "alice@example.com"
        msg["Subject"] = "office documents"
        msg.set_content("See the attachments.")
        for name, (data, _) in DOCS.items():
            msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
        msg.add_attachment(office_docs.broken_docx(), maintype="application",
                           subtype="octet-stream", filename="broken.docx")
        with smtplib.SMTP("127.0.0.1", cls.m.port("smtp"), timeout=30) as s:
            s.send_message(msg)
        j = Jmap(cls.m)
        deadline = time.time() + 60
        ids = []
        while not ids and time.time() < deadline:
            ids = j.one("Email/query", {"filter": {"subject": "office documents"}})["ids"]
            if not ids:
                time.sleep(0.1)
        email = j.one("Email/get", {"ids": ids, "properties": ["attachments", "blobId"]})["list"][0]
        cls.account = j.account
        cls.message_blob = email["blobId"]
        cls.blobs = {a["name"]: a["blobId"] for a in email["attachments"]}
        j.close()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def setUp(self):
        self.j = Jmap(self.m)

    def tearDown(self):
        self.j.close()

    def path(self, name, blob=None):
        return f"/jmap/preview/{self.account}/{blob or self.blobs[name]}/{name}"

    def get(self, name, **kw):
        return self.j.raw("GET", self.path(name, **kw))

    def until_done(self, name, limit=300):
        """Asks again on each 202 (as the web client does, without its Retry-After sleep)."""
        deadline = time.time() + limit
        while True:
            status, headers, body = self.get(name)
            if status != 202 or time.time() > deadline:
                return status, headers, body
            self.assertEqual(headers.get("retry-after"), "1")
            time.sleep(0.2)

    def pdf_text(self, pdf):
        p = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode()

    def converted_count(self):
        return self.m.log().count("event=preview.converted ")

    def test_1_three_types_queue_full_and_cache(self):
        names = list(DOCS)
        first = [self.get(n)[0] for n in names]
        # One converting, one waiting, the third refused until there is room.
        self.assertEqual(first[:2], [202, 202])
        self.assertEqual(first[2], 503)
        status, headers, _ = self.get(names[2])
        if status == 503:
            self.assertEqual(headers.get("retry-after"), "10")
        for name in names:
            status, headers, pdf = self.until_done(name)
            self.assertEqual(status, 200, (name, pdf[:300]))
            self.assertTrue(pdf.startswith(b"%PDF-"))
            self.assertEqual(headers["content-type"], "application/pdf")
            self.assertTrue(headers["content-disposition"].startswith("inline;"))
            self.assertIn(f"filename*=UTF-8''{name}.pdf", headers["content-disposition"])
            self.assertEqual(headers["x-content-type-options"], "nosniff")
            self.assertEqual(headers["cross-origin-resource-policy"], "same-origin")
            self.assertNotIn("sandbox", headers["content-security-policy"])
            self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
            text = self.pdf_text(pdf)
            self.assertIn(DOCS[name][1], text, name)
            self.assertIn(name.split(".")[1], text)
        # A second preview comes from the cache: 200 at once, nothing converted again.
        before = self.converted_count()
        status, _, pdf = self.get("report.docx")
        self.assertEqual(status, 200)
        self.assertTrue(pdf.startswith(b"%PDF-"))
        self.assertEqual(self.converted_count(), before)
        self.assertEqual(before, 3)
        cache = os.path.join(self.m.data, "office-preview", "pdf")
        self.assertEqual(os.stat(cache).st_mode & 0o777, 0o700)
        files = os.listdir(cache)
        self.assertEqual(len(files), 3)
        for f in files:
            self.assertEqual(os.stat(os.path.join(cache, f)).st_mode & 0o777, 0o600)
        self.assertEqual(os.listdir(os.path.join(self.m.data, "office-preview", "work")), [])

    def test_2_corrupt_document_and_refusals(self):
        status, headers, body = self.until_done("broken.docx")
        self.assertEqual(status, 422, body)
        self.assertIn("could not be converted", json.loads(body)["detail"])
        # Remembered: asked again, the same answer without another LibreOffice.
        self.assertEqual(self.get("broken.docx")[0], 422)
        # The server goes on.
        self.assertEqual(self.j.raw("GET", "/.well-known/jmap")[0], 200)
        # Not an Office name; a whole message; another account's id; no credentials.
        self.assertEqual(self.j.raw("GET", self.path("x.pdf", blob=self.blobs["report.docx"]))[0], 415)
        self.assertEqual(self.j.raw("GET", self.path("m.docx", blob=self.message_blob))[0], 404)
        other = f"/jmap/preview/nobody/{self.blobs['report.docx']}/report.docx"
        self.assertEqual(self.j.raw("GET", other)[0], 404)
        self.assertEqual(self.j.raw("GET", self.path("report.docx"), auth=False)[0], 401)
        # An upload is not a received attachment: not converted (404), however it is named.
        upload = self.j.upload(b"PK\x03\x04 any file", "application/octet-stream")
        self.assertEqual(self.j.raw("GET", self.path("up.docx", blob=upload))[0], 404)

    def test_3_session_cookie(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.m.port("https"), timeout=30,
                                           context=self.m.ssl_context())
        conn.request("POST", "/webmail/login",
                     body=json.dumps({"username": "alice@example.com", "password": "wonderland"}),
                     headers={"Content-Type": "application/json", "Host": "127.0.0.1",
                              "Origin": "https://127.0.0.1", "Sec-Fetch-Site": "same-origin"})
        r = conn.getresponse()
        body = r.read()
        self.assertEqual(r.status, 200, body)
        session = json.loads(body)
        self.assertTrue(session["officePreview"])
        cookie = r.getheader("Set-Cookie").split(";")[0]
        conn.request("GET", self.path("sheet.xlsx"), headers={"Cookie": cookie})
        r = conn.getresponse()
        body = r.read()
        # Converted by test_1 (200 from the cache); run alone, queued now (202). Either way the
        # cookie signed the request in (no cookie: 401).
        self.assertIn(r.status, (200, 202), body[:300])
        if r.status == 200:
            self.assertTrue(body.startswith(b"%PDF-"))
        conn.close()

    def test_4_timeout_kills_the_converter(self):
        self.m.extra_config = CONFIG + "office_timeout = 1\n"
        self.m.write_config()
        self.m.restart()
        self.j = Jmap(self.m)
        # A document not converted before (the cache would answer).
        msg = EmailMessage()
        msg["From"] = "carol@remote.example"
        msg["To"] = "alice@example.com"
        msg["Subject"] = "slow document"
        msg.set_content("x")
        msg.add_attachment(office_docs.docx("too slow"), maintype="application",
                           subtype="octet-stream", filename="slow.docx")
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.send_message(msg)
        ids = []
        deadline = time.time() + 60
        while not ids and time.time() < deadline:
            ids = self.j.one("Email/query", {"filter": {"subject": "slow document"}})["ids"]
        email = self.j.one("Email/get", {"ids": ids, "properties": ["attachments"]})["list"][0]
        self.blobs["slow.docx"] = email["attachments"][0]["blobId"]
        status, _, body = self.until_done("slow.docx")
        self.assertEqual(status, 422, body)
        self.assertIn("took too long", json.loads(body)["detail"])
        self.assertIn("event=preview.timeout", self.m.log())
        # Nothing of the sandbox is left: no process names the data directory (prlimit,
        # bwrap), and no LibreOffice runs (its PID namespace died with bwrap).
        deadline = time.time() + 10
        while True:
            left = self.sandbox_processes()
            if not left or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [])
        self.assertEqual(self.j.raw("GET", "/.well-known/jmap")[0], 200)

    def sandbox_processes(self):
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if self.m.data in cmd or "soffice" in cmd:
                found.append(f"{pid}: {cmd[:200]}")
        return found


if __name__ == "__main__":
    unittest.main()
