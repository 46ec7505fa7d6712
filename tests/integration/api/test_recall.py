"""Mail recall (issue 18) against a real mailroomd, driven through the admin API and
mailroomctl, with real clients doing what users do before the recall: Python imaplib reads,
flags, moves, deletes and keeps a QRESYNC session open; fetchmail downloads one copy by POP3;
poplib keeps a POP3 session open; one member forwards to another local account; one member is
remote and stays queued (the test's DNS answers nothing).

What must hold: the per-copy report (recalled / downloaded / deleted / stopped, with the
evidence of opened, answered, forwarded, downloaded), the copies gone from every folder, open
sessions told by EXPUNGE/VANISHED, undo restoring the copies with their flags, the audit trail,
scope (another domain's admin finds nothing and cannot recall; an auditor may search only),
searches over Big5, GB2312, UTF-8 and RFC 2047 subjects, and the sender's self-recall."""
import base64
import csv
import imaplib
import io
import os
import poplib
import smtplib
import stat
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from api_common import Http, admin_token, api_server  # noqa: E402
from peers_smtp import ScriptedSmtpPeer  # noqa: E402

MEMBERS = 50
PASSWORD = "recall-test-secret"
MID = "leak-1@example.com"

RECALL_CONFIG = """
[recall]
self_recall_domains = ["example.com"]
self_recall_minutes = 10

[outbound.transports]
"peer.example" = "[127.0.0.1]:{port}"
"""


def user(n):
    return f"u{n:02d}@example.com"


class RecallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # peer.example's mail goes to this peer (accepted at once); remote.example's waits
        # (the test's DNS answers nothing).
        cls.peer = ScriptedSmtpPeer(tls=False, hostname="mx.peer.example")
        cls.peer.start()
        cls.m = api_server(RECALL_CONFIG.format(port=cls.peer.port), seed=True)
        cls.http = Http(cls.m)
        cls.token = admin_token(cls.m)
        st, _, _ = cls.http.json("POST", "/api/v1/domains", {"name": "other.org"},
                                 token=cls.token)
        assert st == 201, st
        cls.other_admin = admin_token(cls.m, "other-admin", "domain_admin", ["other.org"])
        cls.auditor = admin_token(cls.m, "auditor", "auditor", ["example.com"])
        cls.local_admin = admin_token(cls.m, "example-admin", "domain_admin", ["example.com"])
        for n in range(MEMBERS):
            cls.add_user(user(n))
        cls.add_user("keeper@example.com")
        # u05 forwards to keeper@ and keeps a copy.
        st, doc, _ = cls.http.json("PATCH", "/api/v1/users/" + user(5),
                                   {"forward_to": ["keeper@example.com"],
                                    "forward_keep_copy": True}, token=cls.token)
        assert st == 200, (st, doc)
        members = [user(n) for n in range(MEMBERS)] + ["partner@remote.example"]
        st, doc, _ = cls.http.json("POST", "/api/v1/groups",
                                   {"address": "sales@example.com", "members": members},
                                   token=cls.token)
        assert st == 201, (st, doc)
        # A compliance officer whose auditor role covers the members of one group only.
        st, doc, _ = cls.http.json("POST", "/api/v1/groups",
                                   {"address": "audited@example.com",
                                    "members": [user(1), user(2)]}, token=cls.token)
        assert st == 201, (st, doc)
        cls.member_auditor = cls.m.ctl("api-token", "create", "compliance", "--role", "auditor",
                                       "--domain", "example.com", "--members-of",
                                       "audited@example.com")["token"]

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.m.close()
        cls.peer.stop()

    @classmethod
    def add_user(cls, address):
        st, doc, _ = cls.http.json("POST", "/api/v1/users",
                                   {"address": address, "password": PASSWORD}, token=cls.token)
        assert st == 201, (st, doc)

    # --- helpers ---
    def send(self, rcpts, message, sender="alice@example.com", password="wonderland"):
        with smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=30) as s:
            s.starttls(context=self.m.ssl_context())
            s.login(sender, password)
            s.sendmail(sender, rcpts, message)

    def imap(self, address, password=PASSWORD):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        c.login(address, password)
        return c

    def inbox_count(self, address, mailbox="INBOX"):
        c = self.imap(address)
        try:
            typ, data = c.select(mailbox)
            self.assertEqual(typ, "OK", data)
            return int(data[0])
        finally:
            c.logout()

    def wait_delivered(self, message_id, local, remote=0):
        deadline = time.time() + 60
        while time.time() < deadline:
            st, doc, _ = self.http.json(
                "GET", "/api/v1/delivery-log?" +
                urllib.parse.urlencode({"message_id": message_id, "limit": 1000}),
                token=self.token)
            self.assertEqual(st, 200, doc)
            delivered = sum(1 for r in doc["items"] if r["result"] == "delivered")
            queued = sum(1 for r in doc["items"] if r["result"] in ("queued_remote", "deferred")
                         and r["account_id"] == "")
            if delivered >= local and queued >= remote:
                return
            time.sleep(0.2)
        self.fail(f"{message_id} not delivered: {doc}")

    def find(self, token, reason="ticket 4711", **params):
        query = urllib.parse.urlencode(dict(params, reason=reason))
        return self.http.json("GET", "/api/v1/recall/messages?" + query, token=token)

    def fetchmail_keep(self, address):
        home = os.path.join(self.m.base, "fetchmail-" + address.split("@")[0])
        out = os.path.join(home, "out")
        os.makedirs(out)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no bouncemail\n"
                    f"poll 127.0.0.1 with proto POP3 port {self.m.port('pop3')}\n"
                    f"  user \"{address}\" there with password \"{PASSWORD}\" is root here\n"
                    f"  sslproto 'TLS1.2+' sslcertck sslcertfile \"{self.m.ca}\" "
                    "sslcommonname localhost\n"
                    f"  mda \"/bin/sh -c 'cat >> {out}/all'\"\n"
                    "  fetchall keep no rewrite no stripcr\n")
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
        p = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "--invisible"], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(out, "all"), "rb") as f:
            return f.read()

    # --- the scenario of the issue ---
    def test_recall_of_a_message_to_a_group_of_fifty(self):
        subject = "=?big5?B?" + base64.b64encode("季度報告".encode("big5")).decode() + "?="
        message = (f"From: Alice <alice@example.com>\r\nTo: sales@example.com\r\n"
                   f"Subject: {subject}\r\nMessage-ID: <{MID}>\r\n\r\nthe numbers\r\n")
        self.send(["sales@example.com"], message)
        self.wait_delivered(MID, local=MEMBERS + 1, remote=1)

        # What users do before the recall.
        for n in range(1, 5):  # u01-u04 read it
            c = self.imap(user(n))
            c.select("INBOX")
            c.fetch("1", "(BODY[])")
            c.logout()
        c = self.imap(user(6))  # u06 files it into a folder
        c.create("Archive/2026")
        c.select("INBOX")
        typ, data = c.uid("MOVE", "1:*", "Archive/2026")
        self.assertEqual(typ, "OK", data)
        c.logout()
        downloaded = self.fetchmail_keep(user(7))  # u07 downloads it, keeps it on the server
        self.assertIn(b"the numbers", downloaded)
        c = self.imap(user(8))
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Answered \\Seen)")
        c.logout()
        c = self.imap(user(9))
        c.select("INBOX")
        c.store("1", "+FLAGS", "($Forwarded)")
        c.logout()
        c = self.imap(user(10))  # u10 deletes it
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()
        # u11 keeps a QRESYNC session open, u12 a POP3 session that listed it.
        watcher = self.imap(user(11))
        typ, data = watcher._simple_command("ENABLE", "QRESYNC")
        self.assertEqual(typ, "OK", data)
        watcher.select("INBOX")
        pop = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=30)
        pop.stls(context=self.m.ssl_context())
        pop.user(user(12))
        pop.pass_(PASSWORD)
        self.assertEqual(pop.stat()[0], 1)

        # Scope: another domain's admin finds nothing and cannot recall; an auditor may search.
        st, doc, _ = self.find(self.other_admin, message_id=MID)
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["messages"], [])
        st, doc, _ = self.http.json("POST", "/api/v1/recalls",
                                    {"message_ids": [MID], "reason": "not mine"},
                                    token=self.other_admin)
        self.assertEqual(st, 404, doc)
        st, doc, _ = self.find(self.auditor, message_id=MID)
        self.assertEqual(st, 200, doc)
        self.assertEqual(len(doc["messages"][0]["copies"]), MEMBERS + 2)
        st, doc, _ = self.http.json("POST", "/api/v1/recalls",
                                    {"message_ids": [MID], "reason": "auditors cannot"},
                                    token=self.auditor)
        self.assertEqual(st, 403, doc)
        # The group-scoped auditor sees only its group's members' copies.
        st, doc, _ = self.find(self.member_auditor, message_id=MID)
        self.assertEqual(st, 200, doc)
        self.assertEqual(sorted(c["address"] for c in doc["messages"][0]["copies"]),
                         [user(1), user(2)])
        # A reason is required.
        st, doc, _ = self.http.json("GET", f"/api/v1/recall/messages?message_id={MID}",
                                    token=self.token)
        self.assertEqual(st, 400, doc)

        # The search shows the evidence before anything moves; so does a dry run.
        st, doc, _ = self.find(self.token, message_id=MID)
        self.assertEqual(st, 200, doc)
        copies = {c["address"]: c for c in doc["messages"][0]["copies"]}
        self.assertEqual(copies[user(0)]["state"], "delivered")
        self.assertEqual(copies[user(1)]["state"], "opened")
        self.assertEqual(copies[user(1)]["seen_via"], "imap")
        self.assertEqual(copies[user(6)]["folders"], ["Archive/2026"])
        self.assertEqual(copies[user(7)]["state"], "downloaded")
        self.assertFalse(copies[user(7)]["recallable"])
        self.assertEqual(copies[user(7)]["downloaded_from"], "127.0.0.1")
        self.assertEqual(copies[user(8)]["state"], "answered")
        self.assertEqual(copies[user(9)]["state"], "forwarded")
        self.assertEqual(copies[user(10)]["state"], "deleted")
        self.assertEqual(copies["keeper@example.com"]["forwarded_by"], user(5))
        self.assertEqual(copies["partner@remote.example"]["state"], "queued")
        st, doc, _ = self.http.json("POST", "/api/v1/recalls",
                                    {"message_ids": [MID], "reason": "ticket 4711",
                                     "dry_run": True}, token=self.token)
        self.assertEqual(st, 200, doc)
        self.assertTrue(doc["dry_run"])
        self.assertEqual(self.inbox_count(user(0)), 1)

        # The recall, by example.com's own domain admin.
        st, report, headers = self.http.json(
            "POST", "/api/v1/recalls",
            {"message_ids": [MID], "reason": "ticket 4711: sent to the wrong list"},
            token=self.local_admin)
        self.assertEqual(st, 201, report)
        recall_id = report["recall_id"]
        self.assertEqual(headers["location"], "/api/v1/recalls/" + recall_id)
        copies = {c["address"]: c for c in report["messages"][0]["copies"]}
        self.assertEqual(len(copies), MEMBERS + 2)
        for n in [0, 1, 2, 3, 4, 5, 6, 8, 9] + list(range(11, MEMBERS)):
            self.assertEqual(copies[user(n)]["state"], "recalled", copies[user(n)])
            self.assertEqual(copies[user(n)]["copies_taken"], 1)
        self.assertTrue(copies[user(1)]["seen"])
        self.assertTrue(copies[user(8)]["answered"])
        self.assertTrue(copies[user(9)]["forwarded"])
        self.assertEqual(copies[user(7)]["state"], "downloaded")  # reported, not "recalled"
        self.assertFalse(copies[user(7)]["recallable"])
        self.assertEqual(copies[user(10)]["state"], "deleted")
        self.assertEqual(copies["keeper@example.com"]["state"], "recalled")
        self.assertEqual(copies["partner@remote.example"]["state"], "stopped")

        # Gone from every folder; open sessions are told.
        self.assertEqual(self.inbox_count(user(0)), 0)
        self.assertEqual(self.inbox_count(user(6), "Archive/2026"), 0)
        self.assertEqual(self.inbox_count("keeper@example.com"), 0)
        typ, data = watcher.noop()
        vanished = watcher.untagged_responses.get("VANISHED", [])
        self.assertTrue(vanished, watcher.untagged_responses)
        watcher.logout()
        try:
            pop.retr(1)  # the listed message is gone: an answer, not a broken session
        except poplib.error_proto as e:
            self.assertTrue(str(e).startswith("b'-ERR"), e)
        pop.quit()
        pop = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=30)
        pop.stls(context=self.m.ssl_context())
        pop.user(user(12))
        pop.pass_(PASSWORD)
        self.assertEqual(pop.stat()[0], 0)
        pop.quit()
        self.assertEqual(self.m.ctl("queue", "list"), [])

        # The report as CSV; the recall is listed; the audit trail has the search and recall.
        st, _, raw = self.http.request("GET", f"/api/v1/recalls/{recall_id}?format=csv",
                                       token=self.token)
        self.assertEqual(st, 200)
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        self.assertEqual(len(rows), MEMBERS + 2)
        self.assertEqual({r["state"] for r in rows if r["address"] == user(7)}, {"downloaded"})
        st, doc, _ = self.http.json("GET", "/api/v1/recalls", token=self.local_admin)
        self.assertEqual([r["recall_id"] for r in doc["items"]], [recall_id])
        st, doc, _ = self.http.json("GET", "/api/v1/recall/audit?text=" + recall_id,
                                    token=self.token)
        self.assertEqual(st, 200, doc)
        self.assertIn("recall", [e["action"] for e in doc["items"]])
        self.assertIn("ticket 4711: sent to the wrong list", [e["reason"] for e in doc["items"]])
        st, doc, _ = self.http.json("GET", "/api/v1/recall/audit?action=search", token=self.token)
        actors = {e["actor"] for e in doc["items"]}
        self.assertIn("token:other-admin", actors)  # its empty search is audited too
        # Another domain's admin cannot see or undo it.
        st, doc, _ = self.http.json("GET", f"/api/v1/recalls/{recall_id}", token=self.other_admin)
        self.assertEqual(st, 404, doc)
        st, doc, _ = self.http.json("POST", f"/api/v1/recalls/{recall_id}/undo",
                                    {"reason": "x"}, token=self.other_admin)
        self.assertIn(st, (403, 404), doc)

        # Undo (through mailroomctl): the copies come back with their flags.
        out = self.m.ctl("recall", "undo", recall_id, "--reason", "ticket 4711: false alarm")
        self.assertTrue(out["undone_at"] > 0, out)
        self.assertEqual(self.inbox_count(user(0)), 1)
        self.assertEqual(self.inbox_count(user(6), "Archive/2026"), 1)
        self.assertEqual(self.inbox_count("keeper@example.com"), 1)
        c = self.imap(user(8))
        c.select("INBOX")
        typ, data = c.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Answered", data[0])
        self.assertIn(b"\\Seen", data[0])
        c.logout()
        c = self.imap(user(9))
        c.select("INBOX")
        typ, data = c.fetch("1", "(FLAGS)")
        self.assertIn(b"$Forwarded", data[0])
        c.logout()
        self.assertEqual(self.inbox_count(user(10)), 0)  # the user's own delete stands

    def test_searches_over_encoded_subjects_and_addresses(self):
        self.add_user("用户@example.com")
        big5 = "=?big5?B?" + base64.b64encode("營收預測".encode("big5")).decode() + "?="
        gb = "=?gb2312?B?" + base64.b64encode("机密文件".encode("gb2312")).decode() + "?="
        utf8_words = "=?utf-8?Q?Caf=C3=A9_men=C3=BC?="
        messages = {
            "enc-big5@example.com": f"Subject: {big5}\r\n".encode(),
            "enc-gb@example.com": f"Subject: {gb}\r\n".encode(),
            "enc-utf8@example.com": "Subject: 年度計畫 draft\r\n".encode(),
            "enc-2047@example.com": f"Subject: {utf8_words}\r\n".encode(),
            # Raw Big5 bytes, no encoded word: undecodable, found by other criteria.
            "enc-raw@example.com": b"Subject: " + "人事命令".encode("big5") + b"\r\n",
        }
        for mid, subject in messages.items():
            msg = (b"From: =?utf-8?B?" + base64.b64encode("王小明".encode()) +
                   b"?= <alice@example.com>\r\nTo: x@example.com\r\n" + subject +
                   f"Message-ID: <{mid}>\r\n\r\nbody\r\n".encode())
            with smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=30) as s:
                s.starttls(context=self.m.ssl_context())
                s.login("alice@example.com", "wonderland")
                s.sendmail("alice@example.com", ["用户@example.com"], msg,
                           mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            self.wait_delivered(mid, local=1)
        for words, mid in [("營收", "enc-big5@example.com"), ("机密", "enc-gb@example.com"),
                           ("年度計畫", "enc-utf8@example.com"), ("café", "enc-2047@example.com")]:
            st, doc, _ = self.find(self.token, subject_contains=words)
            self.assertEqual(st, 200, doc)
            self.assertEqual([m["message_id"] for m in doc["messages"]], [mid], words)
        st, doc, _ = self.find(self.token, message_id="enc-big5@example.com")
        self.assertEqual(doc["messages"][0]["subject"], "營收預測")
        self.assertIn("王小明", doc["messages"][0]["from"])
        # The undecodable subject: found by Message-ID and by recipient, returned as valid UTF-8.
        st, doc, _ = self.find(self.token, message_id="enc-raw@example.com")
        self.assertEqual(st, 200, doc)
        self.assertEqual(len(doc["messages"]), 1)
        self.assertIn("\ufffd", doc["messages"][0]["subject"])
        st, doc, _ = self.find(self.token, recipient="用户@example.com")
        self.assertEqual(len(doc["messages"]), 5)
        # mailroomctl finds them by group membership too (CSV export).
        p = self.m.ctl("recall", "find", "--recipient", "用户@example.com", "--reason", "audit",
                       "--csv", json_output=False)
        self.assertEqual(len(list(csv.DictReader(io.StringIO(p.stdout)))), 5)

    def test_a_copy_another_server_accepted_is_reported_with_its_reply(self):
        mid = "sent-1@example.com"
        self.send(["out@peer.example", "bob@example.com"],
                  f"Subject: report\r\nMessage-ID: <{mid}>\r\n\r\nnumbers\r\n")
        deadline = time.time() + 60
        while time.time() < deadline:
            st, doc, _ = self.find(self.token, message_id=mid)
            states = {c["address"]: c["state"] for m in doc["messages"] for c in m["copies"]}
            if states.get("out@peer.example") == "sent" and states.get("bob@example.com"):
                break
            time.sleep(0.2)
        st, report, _ = self.http.json("POST", "/api/v1/recalls",
                                       {"message_ids": [mid], "reason": "wrong attachment"},
                                       token=self.token)
        self.assertEqual(st, 201, report)
        copies = {c["address"]: c for c in report["messages"][0]["copies"]}
        self.assertEqual(copies["out@peer.example"]["state"], "sent")
        self.assertFalse(copies["out@peer.example"]["recallable"])
        detail = copies["out@peer.example"]["detail"]  # the peer's reply, and who it was
        self.assertIn("reply=\"250", detail)
        self.assertIn("peer=127.0.0.1", detail)
        self.assertEqual(copies["bob@example.com"]["state"], "recalled")

    def test_recall_from_mailroomctl_reaches_open_sessions_and_the_queue(self):
        mid = "ctl-1@example.com"
        self.send([user(20), "late@remote.example"],
                  f"Subject: draft\r\nMessage-ID: <{mid}>\r\n\r\nnot final\r\n")
        self.wait_delivered(mid, local=1, remote=1)
        watcher = self.imap(user(20))
        watcher.select("INBOX")
        typ, data = watcher.uid("SEARCH", "HEADER", "Message-ID", mid)
        self.assertTrue(data[0].split(), data)
        # mailroomctl is another process: its store tells mailroomd's sessions through the
        # notices directory, and the queue through the spool's control files.
        p = self.m.ctl("recall", "--message-id", mid, "--reason", "draft sent too early",
                       json_output=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("recalled", p.stdout)
        out = self.m.ctl("recall", "list")
        recall_id = out["items"][0]["recall_id"]
        report = self.m.ctl("recall", "show", recall_id)
        states = {c["address"]: c["state"] for c in report["messages"][0]["copies"]}
        self.assertEqual(states, {user(20): "recalled", "late@remote.example": "stopped"})
        deadline = time.time() + 10
        expunged = False
        while time.time() < deadline and not expunged:
            watcher.noop()
            expunged = bool(watcher.untagged_responses.pop("EXPUNGE", None))
            time.sleep(0.1)
        self.assertTrue(expunged, "the open session was not told")
        watcher.logout()
        deadline = time.time() + 10
        while time.time() < deadline and any(q["queue_id"] for q in self.m.ctl("queue", "list")
                                             if "late@remote.example" in str(q)):
            time.sleep(0.2)
        self.assertFalse([q for q in self.m.ctl("queue", "list")
                          if "late@remote.example" in str(q)])
        # The audit names mailroomctl and the reason.
        audit = self.m.ctl("recall", "audit", "--text", recall_id)
        self.assertIn(("mailroomctl", "draft sent too early"),
                      [(e["actor"], e["reason"]) for e in audit["items"]])

    def test_sender_self_recall(self):
        def self_recall(mid, login="alice@example.com", password="wonderland"):
            auth = base64.b64encode(f"{login}:{password}".encode()).decode()
            return self.http.json("POST", "/api/v1/self/recall", {"message_id": mid},
                                  headers={"Authorization": "Basic " + auth})

        for mid in ("self-1@example.com", "self-2@example.com"):
            self.send(["bob@example.com"],
                      f"Subject: oops\r\nMessage-ID: <{mid}>\r\n\r\nwrong person\r\n")
            self.wait_delivered(mid, local=1)
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        c.login("bob@example.com", "builder")
        c.select("INBOX")
        typ, data = c.uid("SEARCH", "HEADER", "Message-ID", "self-2@example.com")
        c.uid("FETCH", data[0].decode(), "(BODY[])")  # bob opens the second one
        c.logout()
        st, doc, _ = self_recall("self-1@example.com", password="wrong")
        self.assertEqual(st, 401, doc)
        st, doc, _ = self_recall("self-1@example.com", login="bob@example.com", password="builder")
        self.assertEqual(st, 403, doc)  # not the sender
        st, doc, _ = self_recall("self-2@example.com")
        self.assertEqual(st, 403, doc)  # already opened
        st, doc, _ = self_recall("self-1@example.com")
        self.assertEqual(st, 201, doc)
        self.assertEqual(doc["messages"][0]["copies"][0]["state"], "recalled")
        st, doc, _ = self.find(self.token, message_id="self-1@example.com")
        self.assertEqual(doc["messages"][0]["copies"][0]["state"], "recalled")


if __name__ == "__main__":
    unittest.main()
