"""The web client's compose, search, batch save and folder backup (issue 19) in a real browser
(browser_compose.js: headless Chromium driven by playwright-core) against mailroomd over HTTPS,
checked from outside: bob reads the composed message over IMAP (attachment bytes compared), a
reply carries In-Reply-To/References, a draft is saved, reloaded, sent and gone from Drafts, a
search in Chinese finds a Chinese-subject message delivered by SMTP, the downloaded ZIP (Python
zipfile) and mbox (Python mailbox) match the messages. Without a browser: the download
endpoints refuse a missing CSRF token, another user's message and mailbox ids, bad ids.
Screenshots c1-compose and c2-search go to <build>/test-artifacts/webmail.

Skips (exit 77 through run_pytests) when Chromium, node or the built client is missing."""
import email
import email.header
import email.policy
import imaplib
import json
import mailbox
import os
import smtplib
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import zipfile

import test_webmail as base
import web_client
from harness import Mailroom

ATTACHMENT = bytes(range(256)) * 40 + b"\x00end"
DROP_NAME, DROP_TEXT = "notes 筆記.txt", "dropped file 拖放的檔案\n"
REPLY_SUBJECT = "Lunch plans"
CHINESE_SUBJECT, CHINESE_QUERY = "季度報告與會議安排", "報告"
BATCH, BACKUP = "Batch", "Backup"


class WebmailComposeTest(unittest.TestCase):
    # The HTTPS helpers of the browser test (they only use self.m).
    https = base.WebmailBrowserTest.https
    request = base.WebmailBrowserTest.request
    wait_delivered = base.WebmailBrowserTest.wait_delivered
    sign_in = base.WebmailBrowserTest.sign_in

    @classmethod
    def setUpClass(cls):
        why = base.missing_tools()
        if why:
            raise unittest.SkipTest(why)
        cls.m = Mailroom(listeners=base.LISTENERS, extra_config=f'[webmail]\nroot = "{base.WEB_ROOT}"\n')
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def imap(self, user, password):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        c.login(user, password)
        return c

    def fetch_all(self, c, folder):
        """{subject: raw bytes} of a folder."""
        self.assertEqual(c.select(f'"{folder}"')[0], "OK", folder)
        _, data = c.uid("SEARCH", None, "ALL")
        out = {}
        for uid in data[0].split():
            _, d = c.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = d[0][1]
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            out[str(msg["subject"])] = raw
        return out

    def wait_for(self, c, folder, subject):
        deadline = time.time() + 60
        while True:
            got = self.fetch_all(c, folder)
            if subject in got:
                return email.message_from_bytes(got[subject], policy=email.policy.default)
            if time.time() > deadline:
                self.fail(f"{subject!r} not in {folder}: {list(got)}")
            time.sleep(0.2)

    def seed(self):
        c = self.imap("alice@example.com", "wonderland")
        c.append("INBOX", None, imaplib.Time2Internaldate(1764000000),
                 (f"From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: {REPLY_SUBJECT}\r\n"
                  "Message-ID: <lunch-1@example.com>\r\nReferences: <earlier@example.com>\r\n"
                  "In-Reply-To: <earlier@example.com>\r\n\r\nNoodles at noon?\r\n").encode())
        for folder in (BATCH, BACKUP):
            c.create(folder)
        batch = [("Same subject", "one"), ("Same subject", "two"), ("Third: a/b\\c?", "three"), ("Fourth", "four")]
        for i, (subject, body) in enumerate(batch):
            c.append(BATCH, None, imaplib.Time2Internaldate(1764000000 + i * 60),
                     (f"From: Bulk <bulk@remote.example>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
                      f"Message-ID: <batch-{i}@remote.example>\r\n\r\nbody {body}\r\n").encode())
        backup = ["Plain one", "Quoted lines", "Plain three", "Plain four"]
        for i, subject in enumerate(backup):
            body = "From the start of a line\r\n>From quoted already\r\nend\r\n" if subject == "Quoted lines" else "x\r\n"
            c.append(BACKUP, None, imaplib.Time2Internaldate(1764000000 + i * 60),
                     (f"From: Bulk <bulk@remote.example>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n\r\n{body}").encode())
        batch_raw = self.fetch_all(c, BATCH)
        c.logout()
        subject = email.header.Header(CHINESE_SUBJECT, "utf-8").encode()
        msg = (f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               "請參閱第三季的報告。\r\n")
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"], msg.encode())
        self.wait_delivered([CHINESE_SUBJECT])
        return batch_raw

    def test_browser(self):
        batch_raw = self.seed()
        os.makedirs(base.SHOTS, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="webmail-compose-")
        zip_path, mbox_path = os.path.join(tmp, "save.zip"), os.path.join(tmp, "backup.mbox")
        spec = {"base": f"https://127.0.0.1:{self.m.port('https')}", "user": "alice@example.com",
                "password": "wonderland", "chromium": base.CHROMIUM, "shots": base.SHOTS,
                "attachment": __import__("base64").b64encode(ATTACHMENT).decode(),
                "dropName": DROP_NAME, "dropText": DROP_TEXT, "replySubject": REPLY_SUBJECT,
                "chineseSubject": CHINESE_SUBJECT, "chineseQuery": CHINESE_QUERY, "otherSubject": REPLY_SUBJECT,
                "batchFolder": BATCH, "batchCount": 4, "backupFolder": BACKUP,
                "zipPath": zip_path, "mboxPath": mbox_path}
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        try:
            proc = subprocess.run(["node", os.path.join(base.HERE, "browser_compose.js"), spec_path],
                                  env=dict(os.environ, NODE_PATH=base.NODE_MODULES), capture_output=True,
                                  text=True, timeout=300)
            report = proc.stdout + proc.stderr
            self.assertEqual(proc.returncode, 0, report)
            for check in ("compose with attachments sent", "reply sent", "draft saved, reloaded, sent, gone from Drafts",
                          "refusal shown", "search in Chinese", "batch save", "keyboard shortcuts", "folder backup",
                          "move by drag"):
                self.assertIn("ok " + check, report)
            for shot in ("c1-compose", "c2-search"):
                self.assertTrue(os.path.getsize(os.path.join(base.SHOTS, shot + ".png")) > 0, shot)
            self.check_mail()
            self.check_zip(zip_path, batch_raw)
            self.check_mbox(mbox_path)
        finally:
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)

    def check_mail(self):
        bob = self.imap("bob@example.com", "builder")
        msg = self.wait_for(bob, "INBOX", "Compose with attachments 附件")
        files = {part.get_filename(): part.get_payload(decode=True) for part in msg.iter_attachments()}
        self.assertEqual(files.get("report.bin"), ATTACHMENT)
        self.assertEqual(files.get(DROP_NAME), DROP_TEXT.encode())
        self.assertIn("兩個附件", msg.get_body(("plain",)).get_content())
        self.assertIsNone(msg["bcc"])
        reply = self.wait_for(bob, "INBOX", f"Re: {REPLY_SUBJECT}")
        self.assertEqual(reply["in-reply-to"].strip(), "<lunch-1@example.com>")
        self.assertEqual(reply["references"].split(), ["<earlier@example.com>", "<lunch-1@example.com>"])
        draft = self.wait_for(bob, "INBOX", "Draft to finish")
        self.assertIn("second version", draft.get_body(("plain",)).get_content())
        self.assertNotIn("To nobody", self.fetch_all(bob, "INBOX"))
        bob.logout()
        alice = self.imap("alice@example.com", "wonderland")
        self.assertNotIn("Draft to finish", self.fetch_all(alice, "Drafts"))
        sent = self.fetch_all(alice, "Sent")
        for subject in ("Draft to finish", "Compose with attachments 附件", f"Re: {REPLY_SUBJECT}"):
            self.assertIn(subject, sent)
        # The answered original is marked \Answered.
        alice.select("INBOX")
        _, data = alice.uid("SEARCH", None, "ANSWERED")
        self.assertEqual(len(data[0].split()), 1)
        alice.logout()

    def check_zip(self, path, batch_raw):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            self.assertEqual(len(names), 3, names)
            self.assertEqual(len(set(names)), 3)
            by_body = {v: k for k, v in batch_raw.items()}
            for name in names:
                self.assertTrue(name.endswith(".eml") and "/" not in name and "\\" not in name, name)
                data = z.read(name)
                self.assertIsNotNone(email.message_from_bytes(data, policy=email.policy.default)["subject"])
                self.assertIn(data, by_body, name)  # the stored bytes, unchanged

    def check_mbox(self, path):
        box = mailbox.mbox(path)
        subjects = sorted(m["subject"] for m in box)
        self.assertEqual(subjects, ["Plain four", "Plain one", "Plain three", "Quoted lines"])
        with open(path, "rb") as f:
            raw = f.read()
        self.assertIn(b"\n>From the start of a line\n", raw)  # mboxrd: one more '>'
        self.assertIn(b"\n>>From quoted already\n", raw)
        quoted = [m for m in box if m["subject"] == "Quoted lines"][0]
        self.assertIn(">From the start of a line", quoted.get_payload())
        box.close()

    def test_download_endpoints_refuse(self):
        def session(user, password):
            return web_client.web_session(self.m, user, password)

        def jmap(cookie, csrf, calls):
            return web_client.jmap_call(self.m, calls, web_client.session_headers(cookie, csrf))

        bob = self.imap("bob@example.com", "builder")
        bob.append("INBOX", None, None, b"From: bob@example.com\r\nSubject: bob's own\r\n\r\nprivate\r\n")
        bob.logout()
        a_cookie, a_csrf = session("alice@example.com", "wonderland")
        b_cookie, b_csrf = session("bob@example.com", "builder")
        b_account = json.loads(self.request("GET", "/webmail/session", headers={"Cookie": b_cookie})[2])["accountId"]
        a_account = json.loads(self.request("GET", "/webmail/session", headers={"Cookie": a_cookie})[2])["accountId"]
        b_mail = jmap(b_cookie, b_csrf, [["Email/query", {"accountId": b_account, "limit": 5}, "q"],
                                         ["Mailbox/get", {"accountId": b_account, "ids": None, "properties": ["role"]}, "m"]])
        b_email = b_mail[0][1]["ids"][0]
        b_inbox = [m["id"] for m in b_mail[1][1]["list"] if m["role"] == "inbox"][0]
        a_mail = jmap(a_cookie, a_csrf, [["Mailbox/get", {"accountId": a_account, "ids": None, "properties": ["role"]}, "m"]])
        a_inbox = [m["id"] for m in a_mail[0][1]["list"] if m["role"] == "inbox"][0]

        same = {"Origin": "https://127.0.0.1", "Sec-Fetch-Site": "same-origin", "Host": "127.0.0.1",
                "Content-Type": "application/x-www-form-urlencoded"}

        def post(path, cookie, fields, csrf=None):
            headers = dict(same, Cookie=cookie)
            if csrf is not None:
                headers["X-Mailroom-CSRF"] = csrf
            return self.request("POST", path, urllib.parse.urlencode(fields), headers)

        # Bob may save his own message; the answer is a ZIP with a safe Content-Disposition.
        status, headers, data = post("/webmail/save", b_cookie, {"ids": b_email}, b_csrf)
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["content-type"], "application/zip")
        self.assertTrue(headers["content-disposition"].startswith('attachment; filename="mail-'))
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        # Without the CSRF token, with a wrong one, or cross-site: 403.
        self.assertEqual(post("/webmail/save", b_cookie, {"ids": b_email})[0], 403)
        self.assertEqual(post("/webmail/save", b_cookie, {"ids": b_email}, "0" * 64)[0], 403)
        status, _, _ = self.request("POST", "/webmail/backup", urllib.parse.urlencode({"mailboxId": b_inbox}),
                                    {"Cookie": b_cookie, "X-Mailroom-CSRF": b_csrf, "Host": "127.0.0.1",
                                     "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site",
                                     "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 403)
        self.assertEqual(post("/webmail/backup", b_cookie, {"mailboxId": b_inbox})[0], 403)
        # Without a session: 401.
        self.assertEqual(self.request("POST", "/webmail/save", urllib.parse.urlencode({"ids": b_email}), same)[0], 401)
        # Alice asking for bob's message or mailbox: 404, as for an id that does not exist.
        status, _, data = post("/webmail/save", a_cookie, {"ids": b_email}, a_csrf)
        self.assertEqual(status, 404, data)
        self.assertNotIn(b"private", data)
        self.assertEqual(post("/webmail/backup", a_cookie, {"mailboxId": b_inbox}, a_csrf)[0], 404)
        status, headers, _ = post("/webmail/backup", a_cookie, {"mailboxId": a_inbox}, a_csrf)
        self.assertEqual((status, headers["content-type"]), (200, "application/mbox"))
        # Malformed ids: 400. GET never exports (it is a static file path: 404).
        for bad in ("", "M", "Mabc,", "Xabc", "M" + "a" * 40, ",".join(["M" + "0" * 32] * 2) + ",M../x"):
            self.assertEqual(post("/webmail/save", a_cookie, {"ids": bad}, a_csrf)[0], 400, bad)
        self.assertEqual(post("/webmail/backup", a_cookie, {"mailboxId": f"{a_inbox},{a_inbox}x"}, a_csrf)[0], 400)
        self.assertIn(self.request("GET", "/webmail/save", headers={"Cookie": a_cookie})[0], (404, 405))


if __name__ == "__main__":
    unittest.main()
