"""JMAP (RFC 8620, RFC 8621) on a real mailroomd over HTTPS, with the small JMAP client of
web_client.py: the session resource and authentication, mail delivered by SMTP found by
Email/query, IMAP and JMAP seeing each other's changes at once (flags, keywords, mailboxes),
and malformed requests answered with the RFC's error types. Issue 19."""
import http.client
import imaplib
import json
import smtplib
import time
import unittest

from harness import DEFAULT_LISTENERS, Mailroom
from peers_oidc import TokenMinter
from web_client import CORE, MAIL, Jmap

LISTENERS = dict(DEFAULT_LISTENERS, https=("http", "implicit"))


class JmapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(listeners=LISTENERS)
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def setUp(self):
        self.j = Jmap(self.m)

    def tearDown(self):
        self.j.close()

    def imap(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"), ssl_context=self.m.ssl_context())
        c.login("alice@example.com", "wonderland")
        return c

    def deliver(self, subject, body="hello"):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"],
                       f"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
                       f"Subject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\n"
                       f"{body}\r\n".encode())

    def wait_for_subject(self, subject):
        """The Email/query result once the delivery (queued, then local) has landed."""
        deadline = time.time() + 60
        while True:
            ids = self.j.one("Email/query", {"filter": {"subject": subject}})["ids"]
            if ids or time.time() > deadline:
                return ids
            time.sleep(0.1)

    def inbox_id(self):
        r = self.j.one("Mailbox/query", {"filter": {"role": "inbox"}})
        return r["ids"][0]

    def test_session_and_authentication(self):
        s = self.j.session()
        self.assertIn(CORE, s["capabilities"])
        self.assertIn(MAIL, s["capabilities"])
        self.assertEqual(s["username"], "alice@example.com")
        # The account id is the account's immutable id.
        self.assertEqual(s["primaryAccounts"][MAIL], self.m.account_id("alice@example.com"))
        self.assertTrue(s["apiUrl"].startswith("https://"))
        for limit in ("maxSizeRequest", "maxCallsInRequest", "maxObjectsInGet",
                      "maxObjectsInSet", "maxConcurrentRequests"):
            self.assertGreater(s["capabilities"][CORE][limit], 0)
        bad = Jmap(self.m, password="wrong")
        try:
            status, headers, _ = bad.raw("GET", "/.well-known/jmap")
            self.assertEqual(status, 401)
            self.assertIn("Basic realm=", headers["www-authenticate"])
            self.assertIn("Bearer realm=", headers["www-authenticate"])
            status, _, _ = bad.raw("POST", "/jmap/api", "{}")
            self.assertEqual(status, 401)
        finally:
            bad.close()
        status, _, _ = self.j.raw("GET", "/.well-known/jmap", auth=False)
        self.assertEqual(status, 401)

    def test_smtp_delivery_shows_in_email_query_and_get(self):
        self.deliver("jmap-delivery", "body words 你好")
        ids = self.wait_for_subject("jmap-delivery")
        self.assertEqual(len(ids), 1)
        r = self.j.call(("Email/get", {"ids": ids, "properties": ["subject", "from", "mailboxIds",
                                                                  "bodyValues", "textBody"],
                                       "fetchTextBodyValues": True}))
        e = r[0][1]["list"][0]
        self.assertEqual(e["subject"], "jmap-delivery")
        self.assertEqual(e["from"], [{"name": "Carol", "email": "carol@remote.example"}])
        self.assertEqual(list(e["mailboxIds"]), [self.inbox_id()])
        part = e["textBody"][0]["partId"]
        self.assertIn("你好", e["bodyValues"][part]["value"])
        self.assertEqual(self.j.one("Email/query", {"filter": {"body": "你好"}})["ids"], ids)
        # The whole message by its blob id.
        blob = self.j.one("Email/get", {"ids": ids, "properties": ["blobId"]})["list"][0]["blobId"]
        status, _, data = self.j.raw("GET", f"/jmap/download/{self.j.account}/{blob}/m.eml")
        self.assertEqual(status, 200)
        self.assertIn(b"Subject: jmap-delivery", data)

    def test_imap_flag_shows_in_email_changes_and_get(self):
        self.deliver("imap-to-jmap")
        ids = self.wait_for_subject("imap-to-jmap")
        state = self.j.one("Email/get", {"ids": []})["state"]
        c = self.imap()
        try:
            c.select("INBOX")
            typ, data = c.uid("SEARCH", None, "SUBJECT", "imap-to-jmap")
            uid = data[0].split()[0]
            typ, _ = c.uid("STORE", uid, "+FLAGS", r"(\Flagged $Work)")
            self.assertEqual(typ, "OK")
        finally:
            c.logout()
        ch = self.j.one("Email/changes", {"sinceState": state})
        self.assertEqual(ch["updated"], ids)
        self.assertNotEqual(ch["newState"], state)
        kw = self.j.one("Email/get", {"ids": ids, "properties": ["keywords"]})["list"][0]["keywords"]
        self.assertEqual(kw, {"$flagged": True, "$work": True})

    def test_jmap_keyword_shows_in_imap_fetch_flags(self):
        self.deliver("jmap-to-imap")
        ids = self.wait_for_subject("jmap-to-imap")
        c = self.imap()
        try:
            c.select("INBOX")
            typ, data = c.uid("SEARCH", None, "SUBJECT", "jmap-to-imap")
            uid = data[0].split()[0]
            typ, data = c.uid("FETCH", uid, "(FLAGS MODSEQ)")
            before = data[0].decode()
            r = self.j.one("Email/set", {"update": {ids[0]: {"keywords/$seen": True,
                                                               "keywords/$answered": True}}})
            self.assertIn(ids[0], r["updated"])
            # The selected mailbox learns of others' changes at its next command (RFC 3501
            # 7: untagged FETCH on NOOP).
            self.assertEqual(c.noop()[0], "OK")
            typ, data = c.uid("FETCH", uid, "(FLAGS MODSEQ)")
            after = data[0].decode()
            self.assertIn(r"\Seen", after)
            self.assertIn(r"\Answered", after)
            self.assertNotIn(r"\Seen", before)
            self.assertNotEqual(before.split("MODSEQ")[1], after.split("MODSEQ")[1])
            # Email/id and IMAP's EMAILID are the same (RFC 8474).
            typ, data = c.uid("FETCH", uid, "(EMAILID)")
            self.assertIn(f"EMAILID ({ids[0]})", data[0].decode())
        finally:
            c.logout()

    def test_mailbox_set_create_shows_in_imap_list(self):
        r = self.j.one("Mailbox/set", {"create": {"a": {"name": "JMAP專案"},
                                                  "b": {"name": "Sub", "parentId": "#a"}}})
        self.assertEqual(sorted(r["created"]), ["a", "b"])
        c = self.imap()
        try:
            typ, data = c.list()
            names = b"\n".join(data).decode()
            # Modified UTF-7 (RFC 3501 5.1.3) for the CJK name.
            self.assertIn('JMAP&XAhoSA-', names)
            self.assertIn('JMAP&XAhoSA-/Sub', names)
        finally:
            c.logout()
        # A mailbox IMAP creates shows in Mailbox/changes.
        state = self.j.one("Mailbox/get", {"ids": []})["state"]
        c = self.imap()
        try:
            self.assertEqual(c.create("FromImap")[0], "OK")
        finally:
            c.logout()
        ch = self.j.one("Mailbox/changes", {"sinceState": state})
        self.assertEqual(len(ch["created"]), 1)
        got = self.j.one("Mailbox/get", {"ids": ch["created"], "properties": ["name"]})
        self.assertEqual(got["list"][0]["name"], "FromImap")

    def test_imap_expunge_and_move_show_in_email_changes(self):
        self.deliver("expunge-me")
        self.deliver("move-me")
        gone = self.wait_for_subject("expunge-me")
        moved = self.wait_for_subject("move-me")
        state = self.j.one("Email/get", {"ids": []})["state"]
        c = self.imap()
        try:
            c.select("INBOX")
            uid = c.uid("SEARCH", None, "SUBJECT", "expunge-me")[1][0].split()[0]
            c.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
            self.assertEqual(c.uid("EXPUNGE", uid)[0], "OK")  # UIDPLUS
            uid = c.uid("SEARCH", None, "SUBJECT", "move-me")[1][0].split()[0]
            self.assertEqual(c.uid("MOVE", uid, "Trash")[0], "OK")
        finally:
            c.logout()
        ch = self.j.one("Email/changes", {"sinceState": state})
        self.assertEqual(ch["destroyed"], gone)
        self.assertEqual(ch["updated"], moved)
        self.assertEqual(ch["created"], [])

    def test_upload_and_import(self):
        raw = (b"From: Dave <dave@remote.example>\r\nTo: alice@example.com\r\n"
               b"Subject: imported-by-jmap\r\n\r\nkept\r\n")
        blob = self.j.upload(raw)
        r = self.j.one("Email/import", {"emails": {"k": {
            "blobId": blob, "mailboxIds": {self.inbox_id(): True}, "keywords": {"$seen": True}}}})
        self.assertIn("k", r["created"], r)
        c = self.imap()
        try:
            c.select("INBOX")
            typ, data = c.uid("SEARCH", None, "SUBJECT", "imported-by-jmap")
            uid = data[0].split()[0]
            typ, data = c.uid("FETCH", uid, "(FLAGS)")
            self.assertIn(r"\Seen", data[0].decode())
        finally:
            c.logout()

    def test_draft_saves_replace_the_draft_and_downloads_are_not_cached(self):
        """The web client saves a draft as an upload imported into Drafts, replacing the last
        version; an imported upload leaves the 64-upload allowance (src/jmap/uploads.h: 70
        saves in a row in tests/unit/jmap/email_test.cpp, too slow here under ASan)."""
        self.j.session()
        drafts = self.j.one("Mailbox/query", {"filter": {"role": "drafts"}})["ids"][0]
        previous = None
        for i in range(3):
            raw = (f"From: alice@example.com\r\nTo: bob@example.com\r\n"
                   f"Subject: draft-save-{i}\r\n\r\nversion {i}\r\n").encode()
            status, _, data = self.j.raw("POST", f"/jmap/upload/{self.j.account}", raw,
                                         "message/rfc822")
            self.assertEqual(status, 201, f"save {i}: {data!r}")
            calls = [("Email/import", {"emails": {"d": {
                "blobId": json.loads(data)["blobId"], "mailboxIds": {drafts: True},
                "keywords": {"$draft": True, "$seen": True}}}})]
            if previous:
                calls.append(("Email/set", {"destroy": [previous]}))
            r = self.j.call(*calls)
            self.assertIn("d", r[0][1]["created"] or {}, f"save {i}: {r}")
            if previous:
                self.assertEqual(r[1][1]["destroyed"], [previous])
            previous = r[0][1]["created"]["d"]["id"]
        kept = self.j.one("Email/query", {"filter": {"inMailbox": drafts, "subject": "draft-save"}})
        self.assertEqual(kept["ids"], [previous])
        # Downloads of mail are kept by no cache (they would outlive a sign-out).
        blob = self.j.one("Email/get", {"ids": [previous], "properties": ["blobId"]})["list"][0]
        status, headers, data = self.j.raw("GET", f"/jmap/download/{self.j.account}/"
                                                  f"{blob['blobId']}/d.eml")
        self.assertEqual(status, 200)
        self.assertIn(b"version 2", data)
        self.assertEqual(headers["cache-control"], "private, no-store")

    def test_malformed_requests_get_the_rfc_error_types(self):
        def problem(body, content_type="application/json"):
            status, headers, data = self.j.raw("POST", "/jmap/api", body, content_type)
            self.assertEqual(status, 400)
            self.assertEqual(headers["content-type"], "application/problem+json")
            return json.loads(data)
        p = "urn:ietf:params:jmap:error:"
        self.assertEqual(problem("{not json")["type"], p + "notJSON")
        self.assertEqual(problem('{"using":[]}', "text/plain")["type"], p + "notJSON")
        self.assertEqual(problem('{"using":[CORE]}'.replace("CORE", json.dumps(CORE)))["type"],
                         p + "notRequest")
        self.assertEqual(problem('{"using":["urn:x"],"methodCalls":[]}')["type"],
                         p + "unknownCapability")
        calls = [["Core/echo", {}, str(i)] for i in range(1000)]
        doc = problem(json.dumps({"using": [CORE], "methodCalls": calls}))
        self.assertEqual((doc["type"], doc["limit"]), (p + "limit", "maxCallsInRequest"))
        r = self.j.call(("Nope/get", {}), ("Mailbox/get", {"accountId": "someone-else"}),
                        ("Mailbox/get", {"#ids": {"resultOf": "x", "name": "Mailbox/query",
                                                  "path": "/ids"}}))
        self.assertEqual([x[1]["type"] for x in r],
                         ["unknownMethod", "accountNotFound", "invalidResultReference"])


SSO = """
[sso]
allow_http = true
[[sso.issuer]]
issuer = "{issuer}"
audiences = ["mailroom"]
required_scope = "mail"
claim = "email"
"""


class JmapBearerTest(unittest.TestCase):
    """The identity provider's access tokens (a real OIDC issuer on loopback), checked as
    IMAP's AUTHENTICATE OAUTHBEARER checks them."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TokenMinter().start()
        cls.m = Mailroom(listeners=LISTENERS, extra_config=SSO.format(issuer=cls.idp.issuer))
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.idp.stop()

    def test_idp_token_opens_the_account_and_bad_tokens_get_401(self):
        j = Jmap(self.m, token=self.idp.mint("alice"))
        try:
            s = j.session()
            self.assertEqual(s["primaryAccounts"][MAIL], self.m.account_id("alice@example.com"))
            r = j.one("Mailbox/query", {"filter": {"role": "inbox"}})
            self.assertEqual(len(r["ids"]), 1)
        finally:
            j.close()
        for bad in (self.idp.mint("alice", aud="someone-else"), "not-a-token"):
            j = Jmap(self.m, token=bad)
            try:
                status, headers, _ = j.raw("GET", "/.well-known/jmap")
                self.assertEqual(status, 401)
                self.assertIn('error="invalid_token"', headers["www-authenticate"])
            finally:
                j.close()

    def test_push_stream_ends_when_its_token_expires(self):
        """RFC 6750: a bearer token is good until its exp; a push stream opened with one is
        closed then (the Basic and cookie streams end by their own checks)."""
        exp = int(time.time()) + 3
        token = self.idp.mint("alice", exp=exp)
        conn = http.client.HTTPSConnection("127.0.0.1", self.m.port("https"), timeout=30,
                                           context=self.m.ssl_context())
        try:
            conn.request("GET", "/jmap/eventsource/?types=*&closeafter=no&ping=0",
                         headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            # The server ends the stream (a 30 s socket timeout would raise instead).
            self.assertEqual(r.read(), b"")
            self.assertGreaterEqual(time.time(), exp)
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
