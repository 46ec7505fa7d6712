"""Antivirus before the 250 (issue 21) against a real clamd and an in-process libclamav, both
with the local signature database of peers_clamav.py (EICAR and a custom signature).

Servers: one clamd for the module; mailroomd instances with engine = "clamd" (policy reject,
with per-domain quarantine and replace), with engine = "libclamav" (reload), with fail_open,
and one whose trusted gateway is not scanned again.
"""
import base64
import binascii
import io
import os
import re
import smtplib
import sys
import time
import unittest
import uuid
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "smtp"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "api"))

from api_common import API_LISTENERS, Http, admin_token  # noqa: E402
from harness import Mailroom  # noqa: E402
from peers_clamav import CUSTOM_MARKER, EICAR, Clamd, available  # noqa: E402
from peers_common import close_all  # noqa: E402
from smtp_util import Raw, export_mbox, mailbox_count, wait_count, wait_for  # noqa: E402

CLAMD = None


def setUpModule():
    global CLAMD
    missing = available()
    if missing:
        raise unittest.SkipTest(f"clamd not installed ({missing})")
    CLAMD = Clamd(stream_max_length="1M")
    CLAMD.start()


def tearDownModule():
    if CLAMD:
        CLAMD.close()


def multipart(attachment, subject="report", marker=None):
    """A multipart/mixed message: a text part and `attachment` (bytes) in base64."""
    marker = marker or uuid.uuid4().hex
    b64 = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    return (f"From: sender@remote.example\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{marker}@remote.example>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            f"--b1\r\nContent-Type: text/plain\r\n\r\nclean text part {marker}\r\n"
            f'--b1\r\nContent-Type: application/octet-stream; name="eicar.com"\r\n'
            f'Content-Disposition: attachment; filename="eicar.com"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}--b1--\r\n")


def plain(text, subject="hello"):
    marker = uuid.uuid4().hex
    return (f"From: sender@remote.example\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{marker}@remote.example>\r\n\r\n{text}\r\n{marker}\r\n"), marker


def send(m, rcpts, message, listener="smtp", sender="sender@remote.example"):
    """One transaction over a raw socket; returns (code, text) of the reply to the data."""
    r = Raw(m.port(listener))
    try:
        assert r.read_reply()[0] == 220
        assert r.cmd("EHLO client.remote.example")[0] == 250
        assert r.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        for rcpt in rcpts:
            code, lines = r.cmd(f"RCPT TO:<{rcpt}>")
            assert code == 250, (rcpt, code, lines)
        assert r.cmd("DATA")[0] == 354
        r.send(message.encode() + b".\r\n")
        code, lines = r.read_reply()
        r.cmd("QUIT")
        return code, b" ".join(lines).decode()
    finally:
        r.close()


def lmtp_send(m, rcpts, message):
    """An LMTP transaction; returns [(code, text)] per recipient (RFC 2033 4.2)."""
    r = Raw(m.port("lmtp"))
    try:
        assert r.read_reply()[0] == 220
        assert r.cmd("LHLO gateway.example")[0] == 250
        assert r.cmd("MAIL FROM:<sender@remote.example>")[0] == 250
        for rcpt in rcpts:
            assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(message.encode() + b".\r\n")
        out = []
        for _ in rcpts:
            code, lines = r.read_reply()
            out.append((code, b" ".join(lines).decode()))
        r.cmd("QUIT")
        return out
    finally:
        r.close()


def av_config(engine_lines, extra=""):
    return f"[antivirus]\n{engine_lines}\n{extra}\n"


def new_server(config, listeners=None):
    m = Mailroom(extra_config=config, listeners=listeners)
    m.start()
    m.seed_demo()
    m.ctl("domain", "add", "quarantine.example")
    m.ctl("domain", "add", "replace.example")
    m.ctl("user", "add", "qa@quarantine.example", "--password", "x")
    m.ctl("user", "add", "ra@replace.example", "--password", "x")
    return m


class ClamdScanner(unittest.TestCase):
    """engine = "clamd" over the Unix socket; example.com rejects, quarantine.example
    quarantines, replace.example replaces."""

    @classmethod
    def setUpClass(cls):
        cls.m = new_server(av_config(
            f'engine = "clamd"\nclamd_address = "{CLAMD.socket}"\nscan_timeout = "20s"\n'
            'stream_max_length = "10M"\n',
            '[antivirus.domains]\n"quarantine.example" = "quarantine"\n'
            '"replace.example" = "replace"\n'), listeners=API_LISTENERS)

    @classmethod
    def tearDownClass(cls):
        close_all(cls, ["m"])

    def test_eicar_attachment_is_rejected_naming_the_signature_and_not_stored(self):
        before = mailbox_count(self.m, "alice@example.com")
        code, text = send(self.m, ["alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 554, text)
        self.assertTrue(text.startswith("5.7.1 "), text)
        self.assertIn("Mailroom.Test.EICAR", text)
        self.assertEqual(self.m.ctl("queue", "list"), [])
        self.assertEqual(mailbox_count(self.m, "alice@example.com"), before)
        self.assertIn("event=content_scan ", self.m.log())

    def test_clean_mail_is_delivered_with_the_scan_header(self):
        before = mailbox_count(self.m, "bob@example.com")
        message, marker = plain("nothing to see")
        code, text = send(self.m, ["bob@example.com"], message)
        self.assertEqual(code, 250, text)
        self.assertEqual(wait_count(self.m, "bob@example.com", before + 1), before + 1)
        mbox = export_mbox(self.m, "bob@example.com")
        self.assertIn(marker.encode(), mbox)
        self.assertIn(b"X-Mailroom-Virus-Scan: clean (clamd)", mbox)

    def test_custom_signature_is_rejected(self):
        message, _ = plain(f"text with {CUSTOM_MARKER} inside")
        code, text = send(self.m, ["alice@example.com"], message)
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.Custom", text)

    def test_quarantine_then_release_delivers_to_the_original_recipients(self):
        before = mailbox_count(self.m, "qa@quarantine.example")
        message = multipart(EICAR, subject="to quarantine")
        code, text = send(self.m, ["qa@quarantine.example"], message)
        self.assertEqual(code, 250, text)
        entries = self.m.ctl("quarantine", "list")
        mine = [e for e in entries if e["recipients"] == ["qa@quarantine.example"]]
        self.assertEqual(len(mine), 1, entries)
        qid = mine[0]["id"]
        self.assertIn("Mailroom.Test.EICAR", mine[0]["reason"])
        self.assertEqual(mine[0]["scanner"], "antivirus")
        path = os.path.join(self.m.data, "quarantine", qid + ".eml")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        shown = self.m.ctl("quarantine", "show", qid)
        self.assertIn("Subject: to quarantine", shown["message"])
        self.assertEqual(mailbox_count(self.m, "qa@quarantine.example"), before)
        self.m.ctl("quarantine", "release", qid)
        self.assertEqual(wait_count(self.m, "qa@quarantine.example", before + 1), before + 1)
        self.assertTrue(wait_for(lambda: self.m.ctl("quarantine", "list") == []))
        mbox = export_mbox(self.m, "qa@quarantine.example")
        self.assertIn(b"Subject: to quarantine", mbox)
        self.assertIn(base64.b64encode(EICAR)[:40], mbox)  # released as it came

    def test_quarantine_over_the_admin_api(self):
        # Its own recipient: the other quarantine tests count qa@'s entries.
        self.m.ctl("user", "add", "api@quarantine.example", "--password", "x")
        before = mailbox_count(self.m, "api@quarantine.example")
        code, text = send(self.m, ["api@quarantine.example"], multipart(EICAR, subject="via api"))
        self.assertEqual(code, 250, text)
        http = Http(self.m)
        try:
            admin = admin_token(self.m, "av-admin")
            status, doc, _ = http.json("GET", "/api/v1/quarantine", token=admin)
            self.assertEqual(status, 200, doc)
            mine = [e for e in doc["items"] if e["recipients"][0]["address"] ==
                    "api@quarantine.example" and "Mailroom.Test.EICAR" in e["reason"]]
            self.assertTrue(mine, doc)
            qid = None
            for e in mine:
                status, shown, _ = http.json("GET", f"/api/v1/quarantine/{e['id']}", token=admin)
                self.assertEqual(status, 200, shown)
                if "Subject: via api" in shown["headers"]:
                    qid = e["id"]
            self.assertIsNotNone(qid)
            status, headers, body = http.request("GET", f"/api/v1/quarantine/{qid}/message",
                                                 token=admin)
            self.assertEqual((status, headers["content-type"]), (200, "message/rfc822"))
            self.assertIn(b"Subject: via api", body)
            self.assertIn(base64.b64encode(EICAR)[:40], body)
            # A domain administrator sees mail for their domain only, and may not release it.
            other = admin_token(self.m, "av-other", "domain_admin", ["example.com"])
            status, doc, _ = http.json("GET", "/api/v1/quarantine", token=other)
            self.assertEqual(status, 200, doc)
            self.assertNotIn(qid, [e["id"] for e in doc["items"]])
            self.assertEqual(http.json("GET", f"/api/v1/quarantine/{qid}", token=other)[0], 404)
            self.assertIn(http.json("POST", f"/api/v1/quarantine/{qid}/release",
                                    token=other)[0], (403, 404))
            local = admin_token(self.m, "av-local", "domain_admin", ["quarantine.example"])
            status, doc, _ = http.json("GET", f"/api/v1/quarantine/{qid}", token=local)
            self.assertEqual(status, 200, doc)
            self.assertEqual(http.json("GET", "/api/v1/quarantine/..%2F..%2Fetc",
                                       token=admin)[0], 404)
            status, doc, _ = http.json("POST", f"/api/v1/quarantine/{qid}/release", token=admin)
            self.assertEqual(status, 202, doc)
            self.assertEqual(wait_count(self.m, "api@quarantine.example", before + 1), before + 1)
            self.assertTrue(wait_for(lambda: http.json(
                "GET", f"/api/v1/quarantine/{qid}", token=admin)[0] == 404))
            # Delete: another one, removed for good.
            code, text = send(self.m, ["api@quarantine.example"],
                              multipart(EICAR, subject="api delete"))
            self.assertEqual(code, 250, text)
            status, doc, _ = http.json("GET", "/api/v1/quarantine", token=admin)
            ids = [e["id"] for e in doc["items"] if e["id"] != qid]
            gone = None
            for i in ids:
                shown = http.json("GET", f"/api/v1/quarantine/{i}", token=admin)[1]
                if "Subject: api delete" in shown["headers"]:
                    gone = i
            self.assertIsNotNone(gone)
            self.assertEqual(http.json("DELETE", f"/api/v1/quarantine/{gone}", token=admin)[0],
                             200)
            self.assertEqual(http.json("DELETE", f"/api/v1/quarantine/{gone}", token=admin)[0],
                             404)
            self.assertFalse(os.path.exists(os.path.join(self.m.data, "quarantine",
                                                         gone + ".eml")))
        finally:
            http.close()

    def test_quarantine_delete(self):
        code, text = send(self.m, ["qa@quarantine.example"], multipart(EICAR, subject="drop"))
        self.assertEqual(code, 250, text)
        entries = [e for e in self.m.ctl("quarantine", "list") if "drop" in
                   self.m.ctl("quarantine", "show", e["id"])["message"]]
        self.assertEqual(len(entries), 1)
        self.m.ctl("quarantine", "delete", entries[0]["id"])
        p = self.m.ctl("quarantine", "show", entries[0]["id"], check=False, json_output=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

    def test_replace_policy_delivers_the_notice_and_the_clean_parts(self):
        before = mailbox_count(self.m, "ra@replace.example")
        marker = uuid.uuid4().hex
        code, text = send(self.m, ["ra@replace.example"], multipart(EICAR, marker=marker))
        self.assertEqual(code, 250, text)
        self.assertEqual(wait_count(self.m, "ra@replace.example", before + 1), before + 1)
        mbox = export_mbox(self.m, "ra@replace.example")
        start = mbox.rfind(b"From ")
        last = mbox[start:]
        self.assertIn(f"clean text part {marker}".encode(), last)
        self.assertIn(b'The attachment "eicar.com"', last)
        self.assertIn(b"Mailroom.Test.EICAR", last)
        self.assertIn(b"X-Mailroom-Virus-Scan: infected (Mailroom.Test.EICAR", last)
        self.assertNotIn(base64.b64encode(EICAR)[:40], last)
        self.assertNotIn(b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE", last)

    def test_strictest_policy_of_the_recipient_domains_wins(self):
        code, text = send(self.m, ["ra@replace.example", "alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 554, text)

    def test_lmtp_answers_per_recipient(self):
        replies = lmtp_send(self.m, ["alice@example.com", "bob@example.com"], multipart(EICAR))
        self.assertEqual([c for c, _ in replies], [554, 554], replies)
        for _, text in replies:
            self.assertIn("Mailroom.Test.EICAR", text)
        before = mailbox_count(self.m, "alice@example.com")
        message, _ = plain("clean over lmtp")
        replies = lmtp_send(self.m, ["alice@example.com", "bob@example.com"], message)
        self.assertEqual([c for c, _ in replies], [250, 250], replies)
        self.assertEqual(mailbox_count(self.m, "alice@example.com"), before + 1)

    def test_submission_is_scanned_too(self):
        with smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=30) as s:
            s.ehlo()
            s.login("alice@example.com", "wonderland")
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail("alice@example.com", ["bob@example.com"],
                           multipart(EICAR).replace("sender@remote.example",
                                                    "alice@example.com"))
        self.assertEqual(cm.exception.smtp_code, 554)

    def test_message_over_clamds_stream_limit_is_451_not_clean(self):
        # clamd's StreamMaxLength is 1M (the peer), ours 10M: clamd refuses the stream.
        message, _ = plain("x" * 76 + "\r\n" + ("y" * 76 + "\r\n") * 20000)
        code, text = send(self.m, ["alice@example.com"], message)
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith("4.7.1 "), text)


class ClamdDown(unittest.TestCase):
    """Fail closed: clamd away -> 451, the client keeps the message and it goes through once
    clamd is back. Fail open: delivered with X-Mailroom-Virus-Scan: unavailable. Own clamd so
    the other tests keep theirs."""

    @classmethod
    def setUpClass(cls):
        cls.clamd = Clamd()
        cls.clamd.start()
        cls.closed = new_server(av_config(
            f'engine = "clamd"\nclamd_address = "{cls.clamd.tcp_address}"\n'
            'connect_timeout = "2s"\nscan_timeout = "5s"'))
        cls.open = new_server(av_config(
            f'engine = "clamd"\nclamd_address = "{cls.clamd.tcp_address}"\n'
            'connect_timeout = "2s"\nscan_timeout = "5s"\nfail_open = true'))

    @classmethod
    def tearDownClass(cls):
        close_all(cls, ["closed", "open", "clamd"])

    def test_clamd_stopped_then_back(self):
        m = self.closed
        message, marker = plain("while clamd is away")
        self.assertEqual(send(m, ["alice@example.com"], plain("warm the pool")[0])[0], 250)
        before = wait_count(m, "alice@example.com", 1)
        self.clamd.stop()
        try:
            code, text = send(m, ["alice@example.com"], message)
            self.assertEqual(code, 451, text)
            self.assertTrue(text.startswith("4.7.1 "), text)
            self.assertIn("event=antivirus_unavailable", m.log())
            self.assertEqual(mailbox_count(m, "alice@example.com"), before)
            # fail_open: delivered, marked.
            code, text = send(self.open, ["bob@example.com"], plain("fail open")[0])
            self.assertEqual(code, 250, text)
            self.assertEqual(wait_count(self.open, "bob@example.com", 1), 1)
            self.assertIn(b"X-Mailroom-Virus-Scan: unavailable",
                          export_mbox(self.open, "bob@example.com"))
        finally:
            self.clamd.start()
        # The client retries (RFC 5321 4.5.4.1) and the same message is delivered.
        code, text = send(m, ["alice@example.com"], message)
        self.assertEqual(code, 250, text)
        self.assertEqual(wait_count(m, "alice@example.com", before + 1), before + 1)
        self.assertIn(marker.encode(), export_mbox(m, "alice@example.com"))


class Libclamav(unittest.TestCase):
    """engine = "libclamav" on a copy of the peer's database; a signature added to the
    directory is picked up without a restart."""

    @classmethod
    def setUpClass(cls):
        cls.db = os.path.join(CLAMD.base, "libclamav-db")
        os.makedirs(cls.db, exist_ok=True)
        for name in os.listdir(CLAMD.db):
            with open(os.path.join(CLAMD.db, name), "rb") as src, \
                    open(os.path.join(cls.db, name), "wb") as dst:
                dst.write(src.read())
        cls.m = new_server(av_config(
            f'engine = "libclamav"\ndatabase = "{cls.db}"\nreload_interval = "1s"\n'
            'scan_parts = true\ntrusted_gateways = ["127.0.0.1"]'))

    @classmethod
    def tearDownClass(cls):
        close_all(cls, ["m"])

    def test_eicar_and_custom_signature(self):
        code, text = send(self.m, ["alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.EICAR", text)
        code, text = send(self.m, ["alice@example.com"], plain(CUSTOM_MARKER)[0])
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.Custom", text)
        code, text = send(self.m, ["bob@example.com"], plain("clean")[0])
        self.assertEqual(code, 250, text)

    def test_parts_split_by_us_still_find_eicar_in_a_zip_a_nested_message_and_uuencode(self):
        # scan_parts (on in this class): our MIME parser decodes the parts and ClamAV scans each from
        # memory; archives stay ClamAV's (the ZIP is deflated: only unpacking finds EICAR).
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("readme.txt", "nothing to see\n" * 20)
            z.writestr("eicar.com", EICAR)
        self.assertNotIn(b"EICAR", archive.getvalue())
        code, text = send(self.m, ["alice@example.com"], multipart(archive.getvalue()))
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.EICAR", text)
        inner = multipart(EICAR, subject="inner")
        nested = (f"From: sender@remote.example\r\nTo: alice@example.com\r\nSubject: fwd\r\n"
                  f"Message-ID: <{uuid.uuid4().hex}@remote.example>\r\nMIME-Version: 1.0\r\n"
                  'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
                  "--outer\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
                  f"--outer\r\nContent-Type: message/rfc822\r\n\r\n{inner}--outer--\r\n")
        code, text = send(self.m, ["alice@example.com"], nested)
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.EICAR", text)
        # uuencode inside a text part: the message goes to ClamAV's own mail parser whole.
        uu = "".join(binascii.b2a_uu(EICAR[i:i + 45]).decode().replace("\n", "\r\n")
                     for i in range(0, len(EICAR), 45))
        message, _ = plain(f"see attached\r\nbegin 644 eicar.com\r\n{uu}`\r\nend")
        code, text = send(self.m, ["alice@example.com"], message)
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.EICAR", text)

    def test_temporary_files_go_to_a_private_tmpfs_directory(self):
        # [antivirus] tmp_dir unset: a 0700 directory on /dev/shm named after the process
        # (libclamav writes decoded parts there; on ext4 creating them cost more than the scan).
        found = re.search(r"event=antivirus_loaded engine=libclamav .*tmp_dir=\"?([^\"\s]+)",
                          self.m.log())
        self.assertTrue(found, self.m.log()[-3000:])
        path = found.group(1)
        if not os.path.isdir("/dev/shm"):
            self.skipTest("no /dev/shm on this machine")
        self.assertTrue(path.startswith("/dev/shm/mailroom-clamav-"), path)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o700)
        code, text = send(self.m, ["alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 554, text)
        self.assertEqual(os.listdir(path), [], "libclamav cleans up after each scan")

    def test_reload_picks_up_a_new_signature_without_a_restart(self):
        fresh = "MAILROOM-RELOAD-" + uuid.uuid4().hex
        message, _ = plain(f"carries {fresh}")
        self.assertEqual(send(self.m, ["alice@example.com"], message)[0], 250)
        pid = self.m.proc.pid
        reloads = self.m.log().count("event=antivirus_reloaded")
        with open(os.path.join(self.db, "reload.ndb.tmp"), "w") as f:
            f.write(f"Mailroom.Test.Reload:0:*:{fresh.encode().hex()}\n")
        os.rename(os.path.join(self.db, "reload.ndb.tmp"), os.path.join(self.db, "reload.ndb"))
        self.assertTrue(wait_for(
            lambda: self.m.log().count("event=antivirus_reloaded") > reloads, timeout=60),
            self.m.log()[-3000:])
        code, text = send(self.m, ["alice@example.com"], message)
        self.assertEqual(code, 554, text)
        self.assertIn("Mailroom.Test.Reload", text)
        self.assertEqual(self.m.proc.pid, pid)

    def test_trusted_gateway_is_scanned_when_configured_so(self):
        # scan_from_gateways defaults to true: a listed gateway is still scanned.
        code, text = send(self.m, ["alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 554, text)


class TrustedGatewaySkip(unittest.TestCase):
    """scan_from_gateways = false: mail from a trusted gateway (here 127.0.0.1, where the test
    client connects from) is not scanned again; others would be."""

    @classmethod
    def setUpClass(cls):
        cls.m = new_server(av_config(
            f'engine = "clamd"\nclamd_address = "{CLAMD.socket}"\n'
            'trusted_gateways = ["127.0.0.0/8"]\nscan_from_gateways = false'))

    @classmethod
    def tearDownClass(cls):
        close_all(cls, ["m"])

    def test_gateway_mail_is_not_scanned_again(self):
        before = mailbox_count(self.m, "alice@example.com")
        code, text = send(self.m, ["alice@example.com"], multipart(EICAR))
        self.assertEqual(code, 250, text)
        self.assertEqual(wait_count(self.m, "alice@example.com", before + 1), before + 1)
        self.assertIn(b"X-Mailroom-Virus-Scan: skipped (trusted gateway)",
                      export_mbox(self.m, "alice@example.com"))


if __name__ == "__main__":
    unittest.main()
