"""Outbound mail from a real mailroomd to real peers on loopback (issue 15).

dnsmasq serves the test domains' MX, A and TXT records; Postfix is the remote MX of
remote.test; an aiosmtpd peer plays the relay host (AUTH + STARTTLS) and a server without
8BITMIME. A user submits with smtplib; what the peers received, the delivery log and the
reports (RFC 3464 bounces and delay notices) in the sender's INBOX, read over IMAP and parsed
by Python's email package, are the evidence.
"""
import email
import email.policy
import imaplib
import os
import smtplib
import sys
import ssl
import time
import unittest
import uuid

import dkim
import dns.resolver

from harness import Mailroom
from peers import DNSMASQ, close_all, POSTFIX, Dnsmasq, PostfixPeer, ScriptedSmtpPeer

PASSWORD = "outbound-pass-1"


def wait_for(predicate, timeout=40, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def connections_to(port):
    """The local addresses of the established TCP connections to `port` (mailroomd's SMTP
    client sessions to a peer), from /proc/net/tcp and tcp6 (remote address, state 01)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                found.append(fields[1])
    return found


def submit_as(m, user, password, rcpts, text):
    """Submits `text` on `m`'s submission port with STARTTLS and AUTH; all rcpts accepted."""
    ctx = ssl.create_default_context(cafile=m.ca)
    with smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=30) as s:
        s.starttls(context=ctx)
        s.login(user, password)
        refused = s.sendmail(user, rcpts, text.encode() if isinstance(text, str) else text)
    assert refused == {}, refused


def message(sender, to, subject, body="Hello from Mailroom.\r\n", headers=""):
    token = uuid.uuid4().hex[:12]
    text = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject} {token}\r\n"
            f"Message-ID: <{token}@example.com>\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
            f"{headers}\r\n{body}")
    return token, text


@unittest.skipUnless(os.path.exists(DNSMASQ) and os.path.exists(POSTFIX),
                     "needs dnsmasq-base and postfix (scripts/setup)")
class OutboundTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.postfix = PostfixPeer(["remote.test", "backup.test"])
        cls.postfix.start()
        cls.relay = ScriptedSmtpPeer(users={"relayuser": "relaypass"}, require_tls=True)
        cls.relay.start()
        cls.seven = ScriptedSmtpPeer(drop=["8BITMIME"])
        cls.seven.start()
        cls.dsnpeer = ScriptedSmtpPeer()  # DSN and SMTPUTF8 offered
        cls.dsnpeer.start()
        cls.noutf8 = ScriptedSmtpPeer(drop=["SMTPUTF8"])
        cls.noutf8.start()
        cls.reuse = ScriptedSmtpPeer()
        cls.reuse.start()
        cls.dns = Dnsmasq()
        (cls.dns.mx("remote.test", "mx.remote.test", 10).host("mx.remote.test", "127.0.0.1")
         # a lower-preference MX that refuses connections: the client must move on
         .mx("backup.test", "dead.backup.test", 5).mx("backup.test", "mx.remote.test", 10)
         .host("dead.backup.test", "127.0.0.9")
         .mx("down.test", "dead.down.test", 10).host("dead.down.test", "127.0.0.9")
         .null_mx("nomail.test")
         # our own host name as the only MX: a loop
         .mx("loop.test", "mail.example.com", 10)
         # a TLS policy of "verify" against a certificate that does not name the MX host
         .mx("verify.test", "mx.remote.test", 10))
        cls.dns.start()
        cls.mailroom = Mailroom(extra_config=f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = 2
tries = 1

[outbound]
port = {cls.postfix.port}
connect_timeout = 5
command_timeout = 20
connection_idle = 1

tls_ca_file = "{{ca}}"

[outbound.tls_policy]
"verify.test" = "verify"

[outbound.transports]
"seven.test" = "[127.0.0.1]:{cls.seven.port}"
"dsn.test" = "[127.0.0.1]:{cls.dsnpeer.port}"
"noutf8.test" = "[127.0.0.1]:{cls.noutf8.port}"
"reuse.test" = "[127.0.0.1]:{cls.reuse.port}"

[queue]
remote_retry_min = 1
remote_retry_max = 2
delay_warning = 4
max_queue_time = 12
""")
        with open(cls.mailroom.config_path) as f:
            config = f.read()
        with open(cls.mailroom.config_path, "w") as f:
            f.write(config.replace("{ca}", cls.mailroom.ca))
        cls.mailroom.seed_demo()
        cls.users = {}
        for name in ("carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
                     "niaj", "olivia", "peggy", "rupert", "sybil"):
            address = f"{name}@example.com"
            cls.mailroom.ctl("user", "add", address, "--password", PASSWORD)
            cls.users[name] = address
        cls.mailroom.ctl("dkim", "create", "example.com", "--selector", "s2026",
                         "--algorithm", "rsa", "--activate")
        record = cls.mailroom.ctl("dkim", "show", "example.com")
        cls.dns.txt("s2026._domainkey.example.com", record["txt"])
        cls.dns.reload()
        cls.mailroom.start()

    @classmethod
    def tearDownClass(cls):
        close_all(cls, ("mailroom", "dns", "seven", "dsnpeer", "noutf8", "reuse", "relay",
                        "postfix"))

    # --- helpers ---
    def set_access(self, access):
        """Postfix's access map; a connection our client keeps open (connection_idle = 1 s)
        would still see the old map (Postfix reads it per smtpd process), so wait until none
        is open: every later connection sees the new map."""
        self.postfix.set_access(access)
        self.assertTrue(wait_for(lambda: not connections_to(self.postfix.port), timeout=30,
                                 interval=0.05), "a connection to Postfix stayed open")

    def submit(self, sender, rcpts, text):
        submit_as(self.mailroom, sender, PASSWORD, rcpts, text)

    def inbox(self, user):
        imap = imaplib.IMAP4("127.0.0.1", self.mailroom.port("imap"))
        try:
            imap.starttls(ssl.create_default_context(cafile=self.mailroom.ca))
            imap.login(user, PASSWORD)
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(email.message_from_bytes(parts[0][1], policy=email.policy.default))
            return out
        finally:
            imap.logout()

    def reports(self, user, count, timeout=40):
        got = wait_for(lambda: len(self.inbox(user)) >= count and self.inbox(user), timeout)
        self.assertTrue(got, f"{user} got no delivery report; log:\n{self.mailroom.log()[-4000:]}")
        return got

    def delivery_log(self, **query):
        args = ["delivery-log"]
        for k, v in query.items():
            args += ["--" + k.replace("_", "-"), v]
        return self.mailroom.ctl(*args)

    def status_groups(self, report):
        """The per-recipient field groups of a report's message/delivery-status part."""
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        parts = list(report.iter_parts())
        if parts[1].get_content_type() == "message/global-delivery-status":
            # RFC 6533 (UTF-8 addresses): Python leaves the fields as text; read the groups.
            text = parts[1].as_string().replace("\r\n", "\n")
            raw = text.split("\n\n", 1)[1]  # after the part's own header
            groups = []
            for block in raw.replace("\r\n", "\n").strip().split("\n\n"):
                fields = {}
                for line in block.split("\n"):
                    if ":" in line and not line[0].isspace():
                        k, v = line.split(":", 1)
                        fields[k.strip()] = v.strip()
                groups.append(fields)
            return groups[0], groups[1:]
        self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
        groups = [dict(g.items()) for g in parts[1].get_payload()]
        return groups[0], groups[1:]

    # --- tests ---
    def test_delivery_over_starttls_signed_and_logged(self):
        sender = self.users["carol"]
        token, text = message(sender, "bob@remote.test", "tls")
        self.submit(sender, ["bob@remote.test"], text)
        got = wait_for(lambda: [m for m in self.postfix.messages("bob@remote.test")
                                if token.encode() in m])
        self.assertTrue(got, self.mailroom.log()[-4000:])
        received = got[0]
        # Postfix names the TLS version our client negotiated in its Received: line.
        self.assertRegex(received.decode(errors="replace"), r"using TLSv1\.[23]")
        records = wait_for(lambda: [r for r in self.delivery_log(recipient="bob@remote.test")
                                    if r["result"] == "sent" and token in r["subject"]])
        self.assertTrue(records)
        self.assertIn("tls=TLSv1.", records[0]["detail"])
        self.assertIn(f"peer=mx.remote.test[127.0.0.1]:{self.postfix.port}", records[0]["detail"])
        # DKIM: an independent verifier (dkimpy) against the TXT record served by dnsmasq.
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.dns.port

        def dnsfunc(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            answer = resolver.resolve(name.rstrip("."), "TXT")
            return b"".join(b"".join(r.strings) for r in answer)

        self.assertIn(b"DKIM-Signature:", received)
        self.assertIn(b"d=example.com", received)
        self.assertTrue(dkim.verify(received, dnsfunc=dnsfunc), "dkimpy rejects our signature")
        tampered = received.replace(b"Hello from Mailroom.", b"Hello from someone else")
        self.assertFalse(dkim.verify(tampered, dnsfunc=dnsfunc))

    def test_lower_mx_unreachable_next_one_takes_it(self):
        sender = self.users["dave"]
        token, text = message(sender, "x@backup.test", "backup")
        self.submit(sender, ["x@backup.test"], text)
        got = wait_for(lambda: [m for m in self.postfix.messages() if token.encode() in m])
        self.assertTrue(got, self.mailroom.log()[-4000:])

    def test_4xx_is_retried_until_accepted(self):
        sender = self.users["erin"]
        self.set_access({"later@remote.test": "450 4.2.0 try later"})
        try:
            token, text = message(sender, "later@remote.test", "retry")
            self.submit(sender, ["later@remote.test"], text)
            deferred = wait_for(lambda: [r for r in self.delivery_log(recipient="later@remote.test")
                                         if r["result"] == "deferred" and token in r["subject"]])
            self.assertTrue(deferred, self.mailroom.log()[-4000:])
            self.assertIn("450 4.2.0", deferred[0]["detail"])
        finally:
            self.set_access({})
        got = wait_for(lambda: [m for m in self.postfix.messages("later@remote.test")
                                if token.encode() in m])
        self.assertTrue(got, self.mailroom.log()[-4000:])
        self.assertEqual(len(got), 1)

    def test_5xx_bounces_to_the_sender_as_a_valid_dsn(self):
        sender = self.users["frank"]
        self.set_access({"nobody@remote.test": "550 5.1.1 no such user"})
        try:
            token, text = message(sender, "nobody@remote.test", "bounce")
            self.submit(sender, ["nobody@remote.test", "bob@remote.test"], text)
            reports = self.reports(sender, 1)
        finally:
            self.set_access({})
        self.assertEqual(len(reports), 1)
        report = reports[0]
        self.assertEqual(report["Return-Path"], "<>")
        self.assertIn("Undelivered", report["Subject"])
        per_message, recipients = self.status_groups(report)
        self.assertIn("Reporting-MTA", per_message)
        self.assertEqual(len(recipients), 1)  # bob@ was delivered: not in the bounce
        self.assertEqual(recipients[0]["Action"], "failed")
        self.assertEqual(recipients[0]["Status"], "5.1.1")
        self.assertIn("nobody@remote.test", recipients[0]["Final-Recipient"])
        self.assertIn("550", recipients[0]["Diagnostic-Code"])
        returned = list(report.iter_parts())[2]
        self.assertIn(returned.get_content_type(), ("text/rfc822-headers", "message/rfc822"))
        self.assertIn(token, returned.as_string())
        self.assertTrue(wait_for(lambda: [m for m in self.postfix.messages("bob@remote.test")
                                          if token.encode() in m]))

    def test_peer_down_delay_notice_then_bounce(self):
        sender = self.users["grace"]
        token, text = message(sender, "x@down.test", "down")
        self.submit(sender, ["x@down.test"], text)
        reports = self.reports(sender, 2, timeout=60)
        actions = []
        for r in reports:
            _, recipients = self.status_groups(r)
            actions.append(recipients[0]["Action"])
        self.assertEqual(actions, ["delayed", "failed"])
        _, final = self.status_groups(reports[1])
        self.assertEqual(final[0]["Status"], "4.4.7")
        self.assertEqual(self.mailroom.ctl("queue", "list"), [])

    def queue_id_of(self, recipient, token):
        records = wait_for(lambda: [r for r in self.delivery_log(recipient=recipient)
                                    if token in r["subject"] and r["result"] == "deferred"])
        self.assertTrue(records, self.mailroom.log()[-4000:])
        return records[0]["queue_id"]

    def test_queue_hold_release_and_delete(self):
        sender = self.users["judy"]
        self.set_access({"held@remote.test": "450 4.2.0 not yet"})
        token, text = message(sender, "held@remote.test", "hold")
        self.submit(sender, ["held@remote.test"], text)
        qid = self.queue_id_of("held@remote.test", token)
        self.mailroom.ctl("queue", "hold", qid)
        listed = wait_for(lambda: [q for q in self.mailroom.ctl("queue", "list")
                                   if q["queue_id"] == qid and q["held"]], timeout=10)
        self.assertTrue(listed)
        self.set_access({})
        self.mailroom.ctl("queue", "flush", qid)  # a held message is not tried
        time.sleep(4)
        self.assertEqual([m for m in self.postfix.messages("held@remote.test")
                          if token.encode() in m], [])
        self.mailroom.ctl("queue", "release", qid)
        self.mailroom.ctl("queue", "flush", qid)
        self.assertTrue(wait_for(lambda: [m for m in self.postfix.messages("held@remote.test")
                                          if token.encode() in m]), self.mailroom.log()[-4000:])
        # delete: a message to a dead peer is dropped, without a bounce
        token, text = message(sender, "x@down.test", "delete")
        self.submit(sender, ["x@down.test"], text)
        qid = self.queue_id_of("x@down.test", token)
        self.mailroom.ctl("queue", "delete", qid)
        self.assertTrue(wait_for(lambda: not [q for q in self.mailroom.ctl("queue", "list")
                                              if q["queue_id"] == qid], timeout=10))
        deleted = [r for r in self.delivery_log(queue_id=qid) if r["result"] == "failed"]
        self.assertIn("deleted", deleted[0]["detail"])
        time.sleep(2)
        # No bounce. A delay notice is not one: on a loaded machine the held message, or this
        # one before the delete, can stay deferred past delay_warning (4 s) and get one.
        actions = [self.status_groups(r)[1][0]["Action"] for r in self.inbox(sender)]
        self.assertEqual([a for a in actions if a != "delayed"], [])
        bad = self.mailroom.ctl("queue", "hold", "not-an-id", check=False, json_output=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("not a queue id", bad.stdout + bad.stderr)

    def test_mx_pointing_at_ourselves_bounces_as_a_loop(self):
        sender = self.users["niaj"]
        token, text = message(sender, "x@loop.test", "loop")
        self.submit(sender, ["x@loop.test"], text)
        _, recipients = self.status_groups(self.reports(sender, 1)[0])
        self.assertEqual(recipients[0]["Status"], "5.4.6")
        self.assertIn("loops back to myself", recipients[0]["Diagnostic-Code"])

    def test_verify_policy_defers_on_a_certificate_that_does_not_match(self):
        sender = self.users["olivia"]
        token, text = message(sender, "x@verify.test", "verify")
        self.submit(sender, ["x@verify.test"], text)
        deferred = wait_for(lambda: [r for r in self.delivery_log(recipient="x@verify.test")
                                     if r["result"] == "deferred"])
        self.assertTrue(deferred, self.mailroom.log()[-4000:])
        self.assertIn("certificate", deferred[0]["detail"])
        self.assertEqual([m for m in self.postfix.messages() if token.encode() in m], [])
        for q in self.mailroom.ctl("queue", "list"):
            if any(r["address"] == "x@verify.test" for r in q["recipients"]):
                self.mailroom.ctl("queue", "delete", q["queue_id"])

    def test_dsn_parameters_reach_a_peer_that_offers_dsn(self):
        sender = self.users["peggy"]
        token, text = message(sender, "x@dsn.test", "dsnparams")
        ctx = ssl.create_default_context(cafile=self.mailroom.ca)
        with smtplib.SMTP("127.0.0.1", self.mailroom.port("submission"), timeout=30) as s:
            s.starttls(context=ctx)
            s.login(sender, PASSWORD)
            s.sendmail(sender, ["x@dsn.test"], text.encode(),
                       mail_options=["RET=HDRS", "ENVID=env+2Did-42"],
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@dsn.test"])
        # The peer is shared with other tests: find this message's transaction by its token.
        got = wait_for(lambda: [t for t in self.dsnpeer.transactions
                                if t.delivered and token.encode() in (t.data or b"")])
        self.assertTrue(got, self.mailroom.log()[-4000:])
        txn = got[-1]
        self.assertEqual(txn.mail_params.get("RET"), "HDRS")
        self.assertEqual(txn.mail_params.get("ENVID"), "env+2Did-42")
        params = txn.rcpts[0].params
        self.assertEqual(params.get("NOTIFY"), "SUCCESS,FAILURE")
        self.assertEqual(params.get("ORCPT"), "rfc822;x@dsn.test")
        time.sleep(2)
        self.assertEqual(self.inbox(sender), [])  # the peer took NOTIFY=SUCCESS over

    def test_binarymime_is_sent_re_encoded(self):
        # RFC 3030: submitted with BDAT and BODY=BINARYMIME; the peer must get 7-bit data
        # whose decoded part is the same bytes (a bare LF and a NUL included).
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "smtp"))
        from smtp_util import Raw
        import base64
        sender = self.users["peggy"]
        payload = bytes(range(256)) + b"\nbare LF\x00NUL\r\nend"
        token = uuid.uuid4().hex[:12]
        text = (f"From: <{sender}>\r\nTo: <x@dsn.test>\r\nSubject: binary {token}\r\n"
                f"Message-ID: <{token}@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: binary\r\n\r\n").encode() + payload
        c = Raw(self.mailroom.port("submission"))
        try:
            self.assertEqual(c.read_reply()[0], 220)
            self.assertEqual(c.cmd("EHLO laptop")[0], 250)
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.starttls(ssl.create_default_context(cafile=self.mailroom.ca))
            self.assertEqual(c.cmd("EHLO laptop")[0], 250)
            auth = base64.b64encode(f"\0{sender}\0{PASSWORD}".encode()).decode()
            self.assertEqual(c.cmd("AUTH PLAIN " + auth)[0], 235)
            self.assertEqual(c.cmd(f"MAIL FROM:<{sender}> BODY=BINARYMIME")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<x@dsn.test>")[0], 250)
            c.send(f"BDAT {len(text)} LAST\r\n".encode() + text)
            self.assertEqual(c.read_reply()[0], 250)
            c.cmd("QUIT")
        finally:
            c.close()
        got = wait_for(lambda: [t for t in self.dsnpeer.transactions
                                if t.delivered and token.encode() in (t.data or b"")])
        self.assertTrue(got, self.mailroom.log()[-4000:])
        txn = got[-1]
        self.assertTrue(all(b < 0x80 for b in txn.data))
        self.assertNotEqual(txn.mail_params.get("BODY"), "BINARYMIME")
        parsed = email.message_from_bytes(txn.data, policy=email.policy.default)
        self.assertEqual(parsed.get_payload(decode=True), payload)

    def test_smtputf8_message_for_a_peer_without_it_bounces(self):
        sender = self.users["rupert"]
        rcpt = "用户@noutf8.test"
        token, text = message(sender, rcpt, "utf8")
        ctx = ssl.create_default_context(cafile=self.mailroom.ca)
        with smtplib.SMTP("127.0.0.1", self.mailroom.port("submission"), timeout=30) as s:
            s.starttls(context=ctx)
            s.login(sender, PASSWORD)
            s.sendmail(sender, [rcpt], text.encode(), mail_options=["SMTPUTF8"])
        _, recipients = self.status_groups(self.reports(sender, 1)[0])
        self.assertEqual(recipients[0]["Status"], "5.6.7")
        self.assertEqual([t for t in self.noutf8.transactions if t.delivered], [])

    def test_one_connection_carries_consecutive_messages(self):
        sender = self.users["sybil"]
        for n in range(3):
            token, text = message(sender, f"r{n}@reuse.test", "reuse")
            self.submit(sender, [f"r{n}@reuse.test"], text)
            self.assertTrue(self.reuse.wait_for(n + 1, timeout=40), self.mailroom.log()[-4000:])
        self.assertEqual(len([t for t in self.reuse.transactions if t.delivered]), 3)
        self.assertEqual(self.reuse.connections, 1)  # RSET and the next MAIL, no new session

    def test_null_mx_bounces_at_once(self):
        sender = self.users["heidi"]
        token, text = message(sender, "x@nomail.test", "nullmx")
        self.submit(sender, ["x@nomail.test"], text)
        report = self.reports(sender, 1)[0]
        _, recipients = self.status_groups(report)
        self.assertEqual(recipients[0]["Status"], "5.1.10")

    def test_8bit_message_is_downgraded_for_a_peer_without_8bitmime(self):
        sender = self.users["ivan"]
        body = "Grüße aus Taipei – 你好\r\n"
        token, text = message(sender, "x@seven.test", "eightbit", body=body,
                              headers="MIME-Version: 1.0\r\n"
                                      "Content-Type: text/plain; charset=utf-8\r\n"
                                      "Content-Transfer-Encoding: 8bit\r\n")
        self.submit(sender, ["x@seven.test"], text)
        self.assertTrue(self.seven.wait_for(1, timeout=40), self.mailroom.log()[-4000:])
        txn = [t for t in self.seven.transactions if t.delivered][-1]
        self.assertNotIn("BODY", txn.mail_params)
        self.assertTrue(all(b < 0x80 for b in txn.data), "8-bit bytes sent to a 7-bit peer")
        parsed = email.message_from_bytes(txn.data, policy=email.policy.default)
        self.assertIn(parsed["Content-Transfer-Encoding"].lower(), ("quoted-printable", "base64"))
        self.assertEqual(parsed.get_content(), body.replace("\r\n", "\n"))


if __name__ == "__main__":
    unittest.main()
