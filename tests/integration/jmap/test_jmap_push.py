"""JMAP push by EventSource (RFC 8620 7.3) on a real mailroomd over HTTPS: a message delivered
by SMTP and a flag set over IMAP each produce a StateChange with the states JMAP then answers;
ping events with the interval; closeafter=state; refused credentials and parameters; the
[http] caps on open streams. One mailroomd for the module."""
import base64
import http.client
import imaplib
import json
import smtplib
import time
import unittest

from harness import DEFAULT_LISTENERS, Mailroom
from web_client import CORE, MAIL, Jmap

LISTENERS = dict(DEFAULT_LISTENERS, https=("http", "implicit"))
PASSWORDS = {"alice@example.com": "wonderland", "bob@example.com": "builder"}


class EventStream:
    """One EventSource request on its own HTTPS connection; reads events as the server sends
    them (30 s socket timeout: a deadline for the server, never a measure of speed)."""

    def __init__(self, m, query="types=*&closeafter=no&ping=0", user="alice@example.com",
                 password=None, auth=True, headers=None):
        self.conn = http.client.HTTPSConnection("127.0.0.1", m.port("https"), timeout=30,
                                                context=m.ssl_context())
        h = dict(headers or {})
        if auth:
            secret = password or PASSWORDS[user]
            h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.conn.request("GET", "/jmap/eventsource/?" + query, headers=h)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.body = self.response.read() if self.status != 200 else b""

    def next_event(self):
        """(event type, data as JSON, id) of the next event; None at the end of the stream.
        SSE comments (keep-alives) are skipped (HTML Living Standard 9.2.6)."""
        kind, data, ident = "message", [], None
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    return kind, json.loads("\n".join(data)), ident
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                ident = value

    def close(self):
        self.conn.close()


class JmapPushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(listeners=LISTENERS,
                         extra_config="[http]\nmax_streams = 3\nmax_streams_per_user = 2\n")
        cls.m.seed_demo()
        cls.m.start()
        cls.j = Jmap(cls.m)
        cls.account = cls.j.session()["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.j.close()
        cls.m.close()

    def open(self, *args, **kwargs):
        """A stream that must open: a stream of an earlier test may still be counted for the
        moment its server side takes to see the close, so a cap refusal is retried."""
        deadline = time.time() + 30
        while True:
            s = EventStream(self.m, *args, **kwargs)
            if s.status == 200 or s.status not in (429, 503) or time.time() > deadline:
                self.assertEqual(s.status, 200, s.body)
                self.addCleanup(s.close)
                return s
            s.close()
            time.sleep(0.05)

    def states(self):
        r = self.j.call(("Email/get", {"ids": []}), ("Mailbox/get", {"ids": []}))
        return r[0][1]["state"], r[1][1]["state"]

    def deliver(self, subject):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("carol@remote.example", ["alice@example.com"],
                       f"From: carol@remote.example\r\nTo: alice@example.com\r\n"
                       f"Subject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\n"
                       f"hello\r\n".encode())

    def state_events_until(self, stream, done):
        """Reads state events until done(changed-for-the-account) holds; returns them all."""
        seen = []
        while True:
            ev = stream.next_event()
            self.assertIsNotNone(ev, f"the stream ended; events so far: {seen}")
            kind, data, ident = ev
            if kind != "state":
                continue
            self.assertEqual(data["@type"], "StateChange")
            self.assertEqual(list(data["changed"]), [self.account])
            self.assertTrue(ident)
            changed = data["changed"][self.account]
            seen.append(changed)
            if done(changed):
                return seen

    def test_session_names_the_event_source(self):
        s = self.j.session()
        self.assertTrue(s["eventSourceUrl"].startswith("https://"))
        self.assertTrue(s["eventSourceUrl"].endswith(
            "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}"))

    def test_delivery_then_imap_flag_each_push_the_new_states(self):
        stream = self.open()
        self.deliver("push-delivery")
        # Poll JMAP for the message, then read events up to the state JMAP answers with.
        deadline = time.time() + 60
        while not self.j.one("Email/query", {"filter": {"subject": "push-delivery"}})["ids"]:
            self.assertLess(time.time(), deadline, "the message was not delivered")
            time.sleep(0.05)
        email_state, mailbox_state = self.states()
        seen = self.state_events_until(stream, lambda c: c.get("Email") == email_state)
        self.assertTrue(any("EmailDelivery" in c for c in seen), seen)
        self.assertTrue(any(c.get("Mailbox") == mailbox_state for c in seen), seen)
        self.assertTrue(any(c.get("Thread") == email_state for c in seen), seen)

        imap = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                                 ssl_context=self.m.ssl_context())
        try:
            imap.login("alice@example.com", "wonderland")
            imap.select("INBOX")
            typ, data = imap.search(None, "SUBJECT", "push-delivery")
            self.assertEqual(typ, "OK")
            imap.store(data[0].split()[-1], "+FLAGS", "\\Flagged")
        finally:
            imap.logout()
        flagged_state, _ = self.states()
        self.assertNotEqual(flagged_state, email_state)
        seen = self.state_events_until(stream, lambda c: c.get("Email") == flagged_state)
        # A flag is no delivery.
        self.assertFalse(any("EmailDelivery" in c for c in seen), seen)

    def test_identity_vacation_and_submission_push_their_states(self):
        """RFC 8620 7.1: the objects the mail store does not keep push their states too."""
        using = (CORE, MAIL, "urn:ietf:params:jmap:submission",
                 "urn:ietf:params:jmap:vacationresponse")

        def one(name, args):
            r = self.j.call((name, args), using=using)[0]
            self.assertEqual(r[0], name, r)
            return r[1]

        me = [i["id"] for i in one("Identity/get", {})["list"]
              if i["email"] == "alice@example.com"][0]
        stream = self.open("types=Identity,EmailSubmission,VacationResponse&closeafter=no&ping=0")
        one("VacationResponse/set", {"update": {"singleton": {"isEnabled": False,
                                                              "textBody": "push test"}}})
        vacation = one("VacationResponse/get", {})["state"]
        seen = self.state_events_until(stream, lambda c: c.get("VacationResponse") == vacation)
        self.assertFalse(any("Email" in c for c in seen), seen)  # only the types asked for
        one("Identity/set", {"update": {me: {"textSignature": "-- pushed"}}})
        identity = one("Identity/get", {})["state"]
        self.state_events_until(stream, lambda c: c.get("Identity") == identity)
        status, _, data = self.j.raw(
            "POST", f"/jmap/upload/{self.account}",
            b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: push-sent\r\n\r\nhi\r\n",
            "message/rfc822")
        self.assertEqual(status, 201, data)
        drafts = self.j.one("Mailbox/query", {"filter": {"role": "drafts"}})["ids"][0]
        draft = self.j.one("Email/import", {"emails": {"d": {
            "blobId": json.loads(data)["blobId"], "mailboxIds": {drafts: True}}}})
        sent = one("EmailSubmission/set", {"create": {"s": {
            "identityId": me, "emailId": draft["created"]["d"]["id"]}}})
        self.assertIn("s", sent["created"] or {}, sent)
        submission = one("EmailSubmission/get", {"ids": []})["state"]
        self.state_events_until(stream, lambda c: c.get("EmailSubmission") == submission)

    def test_types_filter_and_ping(self):
        stream = self.open("types=EmailDelivery&closeafter=no&ping=1")
        kind, data, ident = stream.next_event()
        self.assertEqual(kind, "ping")
        self.assertEqual(data, {"interval": 1})
        self.assertIsNone(ident)  # RFC 8620 7.3: a ping sets no event id
        self.deliver("push-types")
        seen = self.state_events_until(stream, lambda c: "EmailDelivery" in c)
        for changed in seen:
            self.assertEqual(list(changed), ["EmailDelivery"])

    def test_closeafter_state_ends_after_one_event(self):
        stream = self.open("types=Email&closeafter=state&ping=0")
        self.deliver("push-closeafter")
        kind, data, _ = stream.next_event()
        self.assertEqual(kind, "state")
        self.assertIn("Email", data["changed"][self.account])
        self.assertIsNone(stream.next_event())

    def test_last_event_id_from_before_a_change_gets_the_states_at_once(self):
        first = self.open("types=Email&closeafter=state&ping=0")
        self.deliver("push-resume-1")
        _, _, ident = first.next_event()
        self.deliver("push-resume-2")
        deadline = time.time() + 60
        while not self.j.one("Email/query", {"filter": {"subject": "push-resume-2"}})["ids"]:
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        resumed = self.open("types=Email&closeafter=state&ping=0",
                            headers={"Last-Event-ID": ident})
        kind, data, _ = resumed.next_event()
        self.assertEqual(kind, "state")
        self.assertEqual(data["changed"][self.account]["Email"], self.states()[0])

    def test_refusals(self):
        s = EventStream(self.m, auth=False)
        self.assertEqual(s.status, 401)
        s.close()
        s = EventStream(self.m, password="wrong")
        self.assertEqual(s.status, 401)
        s.close()
        for query in ("types=Nothing&closeafter=no&ping=0", "types=*&closeafter=maybe&ping=0",
                      "types=*&closeafter=no&ping=-1", "types=*&types=Email"):
            s = EventStream(self.m, query)
            self.assertEqual(s.status, 400, query)
            self.assertEqual(json.loads(s.body)["status"], 400)
            s.close()

    def test_caps_per_user_and_total(self):
        self.open(user="alice@example.com")
        self.open(user="alice@example.com")
        third = EventStream(self.m, user="alice@example.com")
        self.addCleanup(third.close)
        self.assertEqual(third.status, 429)  # [http] max_streams_per_user = 2
        self.open(user="bob@example.com")
        over = EventStream(self.m, user="bob@example.com")
        self.addCleanup(over.close)
        self.assertEqual(over.status, 503)  # [http] max_streams = 3


if __name__ == "__main__":
    unittest.main()
