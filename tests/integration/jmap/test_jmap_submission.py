"""JMAP sending (RFC 8621 6-7) on a real mailroomd: Identity/get from the directory, a draft
made by Email/import submitted by EmailSubmission/set, read by bob over IMAP and received
DKIM-signed by a remote SMTP peer (the outbound SMTP client, aiosmtpd on loopback); the
implicit Email/set moving the draft to Sent; a From: alice may not use refused with
forbiddenFrom and nothing queued; a VacationResponse set over JMAP answering mail delivered by
SMTP, the reply received by the remote peer. Issue 19."""
import imaplib
import smtplib
import time
import unittest

import dkim

from harness import Mailroom
from peers_smtp import ScriptedSmtpPeer
from test_jmap import LISTENERS
from web_client import CORE, MAIL, Jmap

SUBMISSION = "urn:ietf:params:jmap:submission"
VACATION = "urn:ietf:params:jmap:vacationresponse"
USING = (CORE, MAIL, SUBMISSION, VACATION)


def wait_for(what, predicate, timeout=60):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            if not value:
                raise AssertionError(f"timed out waiting for {what}")
            return value
        time.sleep(0.1)


class JmapSubmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedSmtpPeer()
        cls.peer.start()
        cls.m = Mailroom(listeners=LISTENERS, extra_config=f"""
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
        cls.m.ctl("dkim", "create", "example.com", "--selector", "s2026", "--algorithm", "rsa",
                  "--activate")
        cls.dkim_txt = cls.m.ctl("dkim", "show", "example.com")["txt"]
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.peer.stop()

    def setUp(self):
        self.j = Jmap(self.m)

    def tearDown(self):
        self.j.close()

    def call(self, *calls):
        return self.j.call(*calls, using=USING)

    def one(self, name, args):
        r = self.call((name, args))[0]
        self.assertEqual(r[0], name, r)
        return r[1]

    def mailbox(self, role):
        return self.j.one("Mailbox/query", {"filter": {"role": role}})["ids"][0]

    def identity(self, email):
        for i in self.one("Identity/get", {})["list"]:
            if i["email"] == email:
                return i["id"]
        raise AssertionError(f"no identity {email}")

    def draft(self, text):
        """A draft in Drafts made by upload + Email/import; its Email id."""
        r = self.j.one("Email/import", {"emails": {"d": {
            "blobId": self.j.upload(text.encode()), "mailboxIds": {self.mailbox("drafts"): True},
            "keywords": {"$draft": True, "$seen": True}}}})
        return r["created"]["d"]["id"]

    def bob_subjects(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        try:
            c.login("bob@example.com", "builder")
            c.select("INBOX")
            typ, data = c.search(None, "ALL")
            out = []
            for n in data[0].split():
                typ, d = c.fetch(n, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                out.append(d[0][1].decode().strip())
            return out
        finally:
            c.logout()

    def test_identities_come_from_the_directory(self):
        ids = {i["email"]: i for i in self.one("Identity/get", {})["list"]}
        self.assertIn("alice@example.com", ids)
        self.assertEqual(ids["alice@example.com"]["name"], "Alice")
        self.assertFalse(ids["alice@example.com"]["mayDelete"])
        # info@ is an alias of alice: an identity she may add; bob@ is not hers.
        r = self.one("Identity/set", {"create": {"a": {"email": "info@example.com"},
                                                 "b": {"email": "bob@example.com"}}})
        self.assertIn("a", r["created"], r)
        self.assertEqual(r["notCreated"]["b"]["type"], "forbiddenFrom")

    def test_draft_is_sent_to_bob_and_to_a_remote_peer_dkim_signed(self):
        email_id = self.draft(
            "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
            "Cc: far@remote.example\r\nBcc: secret@remote.example\r\n"
            "Subject: sent-by-jmap\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nHello from JMAP.\r\n")
        drafts, sent = self.mailbox("drafts"), self.mailbox("sent")
        r = self.call(("EmailSubmission/set", {
            "create": {"s": {"identityId": self.identity("alice@example.com"),
                             "emailId": email_id}},
            "onSuccessUpdateEmail": {"#s": {f"mailboxIds/{drafts}": None,
                                            f"mailboxIds/{sent}": True,
                                            "keywords/$draft": None}}}))
        self.assertEqual(r[0][0], "EmailSubmission/set", r)
        self.assertIn("s", r[0][1]["created"], r)
        self.assertEqual(r[1][0], "Email/set", r)
        self.assertIn(email_id, r[1][1]["updated"])
        e = self.j.one("Email/get", {"ids": [email_id], "properties": ["mailboxIds", "keywords"]})
        self.assertEqual(e["list"][0]["mailboxIds"], {sent: True})
        self.assertNotIn("$draft", e["list"][0]["keywords"])
        # bob reads it over IMAP.
        wait_for("bob's copy", lambda: "Subject: sent-by-jmap" in self.bob_subjects())
        # The remote peer gets it once per remote recipient, signed, without Bcc:.
        got = self.peer.wait_for(1, "far@remote.example")
        received = got[0]
        self.assertNotIn(b"\r\nBcc:", received)
        self.assertIn(b"DKIM-Signature:", received)
        self.assertIn(b"d=example.com", received)
        txt = self.dkim_txt.encode()
        self.assertTrue(dkim.verify(received, dnsfunc=lambda name, timeout=5: txt),
                        "dkimpy rejects our signature")
        self.peer.wait_for(1, "secret@remote.example")
        sub = self.one("EmailSubmission/get", {"ids": [r[0][1]["created"]["s"]["id"]]})
        self.assertEqual(sub["list"][0]["undoStatus"], "final")
        self.assertEqual(sub["list"][0]["envelope"]["mailFrom"]["email"], "alice@example.com")

    def test_forbidden_from_is_refused_and_nothing_is_queued(self):
        # What other tests sent has left the queue, so an empty queue below is this test's.
        wait_for("the queue to drain", lambda: not (self.m.ctl("queue", "list") or []))
        before = len(self.peer.transactions)
        queued = self.m.log().count("event=jmap_submission_queued")
        email_id = self.draft("From: bob@example.com\r\nTo: far@remote.example\r\n"
                              "Subject: not-alice\r\n\r\nx\r\n")
        r = self.one("EmailSubmission/set", {"create": {"s": {
            "identityId": self.identity("alice@example.com"), "emailId": email_id}}})
        self.assertEqual(r["notCreated"]["s"]["type"], "forbiddenFrom", r)
        self.assertEqual(self.m.ctl("queue", "list") or [], [])
        self.assertEqual(self.m.log().count("event=jmap_submission_queued"), queued)
        self.assertEqual(len(self.peer.transactions), before)
        # An envelope sender that is not hers: forbiddenMailFrom.
        email_id = self.draft("From: alice@example.com\r\nTo: far@remote.example\r\n"
                              "Subject: bad-envelope\r\n\r\nx\r\n")
        r = self.one("EmailSubmission/set", {"create": {"s": {
            "identityId": self.identity("alice@example.com"), "emailId": email_id,
            "envelope": {"mailFrom": {"email": "bob@example.com"},
                         "rcptTo": [{"email": "far@remote.example"}]}}}})
        self.assertEqual(r["notCreated"]["s"]["type"], "forbiddenMailFrom", r)

    def test_vacation_response_replies_to_smtp_mail(self):
        r = self.one("VacationResponse/set", {"update": {"singleton": {
            "isEnabled": True, "subject": "Out of office (JMAP)",
            "textBody": "I am away until Monday."}}})
        self.assertIn("singleton", r["updated"], r)
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            for n in (1, 2):  # one reply per sender and period
                s.sendmail("carol@remote.example", ["alice@example.com"],
                           f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
                           f"Subject: question {n}\r\nMessage-ID: <q{n}@remote.example>\r\n\r\n"
                           f"Are you there?\r\n".encode())
        try:
            got = self.peer.wait_for(1, "carol@remote.example")
            reply = got[0]
            self.assertIn(b"Subject: Out of office (JMAP)", reply)
            self.assertIn(b"I am away until Monday.", reply)
            self.assertIn(b"Auto-Submitted: auto-replied", reply)
            self.assertIn(b"In-Reply-To: <q1@remote.example>", reply)
            # Both messages were delivered; still one reply.
            ids = wait_for("both questions", lambda: len(self.j.one(
                "Email/query", {"filter": {"subject": "question"}})["ids"]) == 2)
            self.assertTrue(ids)
            wait_for("the queue to drain", lambda: not (self.m.ctl("queue", "list") or []))
            self.assertEqual(len(self.peer.messages("carol@remote.example")), 1)
        finally:
            self.one("VacationResponse/set", {"update": {"singleton": {"isEnabled": False}}})


if __name__ == "__main__":
    unittest.main()
