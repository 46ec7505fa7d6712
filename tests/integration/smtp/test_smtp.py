"""SMTP (MX), submission and LMTP against a real mailroomd.

One server for the whole module (starting one costs seconds); tests use distinct users or
count deltas so they do not depend on order.
"""
import base64
import email
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest
import uuid

from harness import Mailroom
from smtp_util import (ENHANCED_RE, Raw, export_mbox, mailbox_count, session_of,
                       tls_client_context, wait_count, wait_for, wait_session_closed)

MAX_SIZE = 200000
EXTRA = f"""
[smtp]
max_message_size = {MAX_SIZE}
max_recipients = 20
max_errors = 8
"""

M = None


def setUpModule():
    global M
    M = Mailroom(extra_config=EXTRA)
    M.start()
    M.seed_demo()
    M.ctl("user", "add", "carol@example.com", "--password", "x", "--status", "disabled")
    M.ctl("user", "add", "dave@example.com", "--password", "dave-pw")
    M.ctl("user", "add", "tiny@example.com", "--password", "x", "--quota-bytes", "2000")
    M.ctl("user", "add", "erin@example.com", "--password", "x")
    M.ctl("user", "add", "frank@example.com", "--password", "x")
    M.ctl("user", "add", "utf8@example.com", "--password", "x")
    M.ctl("group", "add", "board@example.com", "--member", "erin@example.com",
          "--member", "frank@example.com", "--policy", "members")


def tearDownModule():
    if M:
        M.close()


def msg(subject="test", body="hello\r\n", extra_headers="", sender="ext@remote.example",
        to="alice@example.com"):
    token = uuid.uuid4().hex
    text = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{token}@remote.example>\r\nX-Token: {token}\r\n{extra_headers}\r\n{body}")
    return token, text


def mx():
    s = smtplib.SMTP("127.0.0.1", M.port("smtp"), timeout=15)
    s.ehlo("client.remote.example")
    return s


def submission(user="alice@example.com", password="wonderland"):
    s = smtplib.SMTP("127.0.0.1", M.port("submission"), timeout=15)
    s.ehlo("laptop")
    s.starttls(context=tls_client_context(M))
    s.ehlo("laptop")
    s.login(user, password)
    return s


class MxTest(unittest.TestCase):
    def test_ehlo_advertises_extensions(self):
        s = mx()
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8",
                    "chunking", "binarymime", "dsn", "starttls"):
            self.assertTrue(s.has_extn(ext), ext)
        self.assertEqual(s.esmtp_features["size"], str(MAX_SIZE))
        s.quit()

    def test_delivers_to_local_mailbox_and_reads_back(self):
        before = mailbox_count(M, "alice@example.com")
        token, text = msg(subject="delivery test")
        s = mx()
        s.sendmail("ext@remote.example", ["alice@example.com"], text)
        s.quit()
        self.assertEqual(wait_count(M, "alice@example.com", before + 1), before + 1)
        box = export_mbox(M, "alice@example.com")
        self.assertIn(token.encode(), box)
        raw = box[box.rfind(b"Return-Path:", 0, box.find(token.encode())):]
        self.assertTrue(raw.startswith(b"Return-Path: <ext@remote.example>"))
        self.assertIn(b"Delivered-To: alice@example.com", raw[:300])
        self.assertRegex(raw[:1000].decode(), r"Received: from client\.remote\.example "
                         r"\(\[127\.0\.0\.1\]\)\r?\n\tby mail\.example\.com \(Mailroom\) "
                         r"with ESMTP id MR[0-9A-F]{20}")

    def test_every_reply_has_enhanced_code(self):
        r = Raw(M.port("smtp"))
        code, _ = r.read_reply()
        self.assertEqual(code, 220)
        r.cmd("EHLO x")  # RFC 2034: EHLO replies carry no enhanced code
        for line in ("NOOP", "MAIL FROM:<a@remote.example>", "RCPT TO:<nobody@example.com>",
                     "RCPT TO:<alice@example.com>", "RSET", "VRFY alice", "HELP", "FOO",
                     "MAIL FROM:<broken", "QUIT"):
            code, lines = r.cmd(line)
            self.assertNotEqual(code, 0, line)
            for l in lines:
                self.assertRegex(l, ENHANCED_RE, f"{line} -> {code} {l!r}")
        r.close()

    def test_unknown_and_disabled_recipients(self):
        s = mx()
        s.mail("ext@remote.example")
        code, text = s.rcpt("nobody@example.com")
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        code, text = s.rcpt("carol@example.com")
        self.assertEqual((code, text[:5]), (550, b"5.2.1"))
        code, text = s.rcpt("alice@example.com")
        self.assertEqual(code, 250)
        s.quit()

    def test_alias_subaddress_and_group(self):
        a0 = mailbox_count(M, "alice@example.com")
        b0 = mailbox_count(M, "bob@example.com")
        s = mx()
        _, text = msg()
        s.sendmail("ext@remote.example", ["info@example.com"], text)        # alias -> alice
        _, text = msg()
        s.sendmail("ext@remote.example", ["alice+news@example.com"], text)  # subaddress
        _, text = msg()
        s.sendmail("ext@remote.example", ["staff@example.com"], text)       # group: alice, bob
        s.quit()
        self.assertEqual(wait_count(M, "alice@example.com", a0 + 3), a0 + 3)
        self.assertEqual(wait_count(M, "bob@example.com", b0 + 1), b0 + 1)

    def test_group_send_policy(self):
        s = mx()
        s.mail("ext@remote.example")
        code, text = s.rcpt("board@example.com")  # policy "members": outsiders refused
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        s.quit()

    def test_recipient_limit(self):
        s = mx()
        s.mail("ext@remote.example")
        for i in range(20):
            self.assertEqual(s.rcpt("alice@example.com")[0], 250)
        code, text = s.rcpt("alice@example.com")
        self.assertEqual((code, text[:5]), (452, b"4.5.3"))
        s.rset()
        s.quit()

    def test_8bit_and_smtputf8(self):
        before = mailbox_count(M, "utf8@example.com")
        body = "Grüße aus Zürich — 中文\r\n"
        text = ("From: <jörg@bücher.example>\r\nTo: <utf8@example.com>\r\n"
                "Subject: Grüße\r\n\r\n" + body).encode("utf-8")
        s = mx()
        self.assertTrue(s.has_extn("smtputf8"))
        s.sendmail("jörg@bücher.example", ["utf8@example.com"], text,
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        # Without SMTPUTF8 a non-ASCII address is refused (RFC 6531 3.5).
        s.command_encoding = "utf-8"
        code, resp = s.docmd("MAIL FROM:<jörg@bücher.example>")
        self.assertEqual((code, resp[:5]), (553, b"5.6.7"))
        s.quit()
        self.assertEqual(wait_count(M, "utf8@example.com", before + 1), before + 1)
        self.assertIn(body.rstrip("\r\n").encode("utf-8"), export_mbox(M, "utf8@example.com"))

    def test_size_at_and_over_the_limit(self):
        s = mx()
        session = session_of(M, s.sock)
        code, resp = s.docmd(f"MAIL FROM:<ext@remote.example> SIZE={MAX_SIZE + 1}")
        self.assertEqual((code, resp[:5]), (552, b"5.3.4"))
        before = mailbox_count(M, "dave@example.com")
        # The limit counts the message as received (CRLF lines, after dot-unstuffing).
        head = "Subject: big\r\n\r\n"
        line = "x" * 98 + "\r\n"
        n = (MAX_SIZE - len(head)) // len(line)
        pad = MAX_SIZE - len(head) - n * len(line)
        body = head + line * n + ("y" * (pad - 2) + "\r\n" if pad >= 2 else "")
        self.assertEqual(len(body), MAX_SIZE)
        s.sendmail("ext@remote.example", ["dave@example.com"], body)  # exactly at the limit
        # One line more, without a SIZE parameter: refused at the end of DATA.
        self.assertEqual(s.mail("ext@remote.example")[0], 250)
        self.assertEqual(s.rcpt("dave@example.com")[0], 250)
        code, resp = s.data(body + "z\r\n")  # smtplib returns the final reply
        self.assertEqual((code, resp[:5]), (552, b"5.3.4"))
        self.assertEqual(s.noop()[0], 250)  # the session survives
        s.quit()
        # Once the session has ended, the log says what it queued: the message at the limit
        # only. So once that one is delivered, no second copy can follow.
        log = wait_session_closed(M, session)
        self.assertEqual(log.count(f"event=smtp_queued session={session} "), 1)
        self.assertEqual(wait_count(M, "dave@example.com", before + 1), before + 1)

    def test_quota(self):
        s = mx()
        code, resp = s.docmd("MAIL FROM:<ext@remote.example> SIZE=5000")
        self.assertEqual(code, 250)
        code, resp = s.rcpt("tiny@example.com")
        self.assertEqual((code, resp[:5]), (552, b"5.2.2"))
        s.rset()
        self.assertEqual(s.mail("ext@remote.example")[0], 250)
        self.assertEqual(s.rcpt("tiny@example.com")[0], 250)
        code, resp = s.data("Subject: q\r\n\r\n" + ("q" * 70 + "\r\n") * 45)
        self.assertEqual((code, resp[:5]), (552, b"5.2.2"))
        s.quit()

    def test_pipelining(self):
        before = mailbox_count(M, "bob@example.com")
        r = Raw(M.port("smtp"))
        r.read_reply()
        r.cmd("EHLO pipeliner")
        r.send("MAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.com>\r\n"
               "RCPT TO:<nobody@example.com>\r\nDATA\r\n")
        codes = [r.read_reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 550, 354])
        r.send("Subject: pipelined\r\n\r\n..leading dot\r\n.\r\nNOOP\r\nQUIT\r\n")
        code, lines = r.read_reply()
        self.assertEqual(code, 250)
        self.assertRegex(lines[0], rb"^2\.0\.0 Ok: queued as MR[0-9A-F]{20}$")
        self.assertEqual(r.read_reply()[0], 250)
        self.assertEqual(r.read_reply()[0], 221)
        r.close()
        self.assertEqual(wait_count(M, "bob@example.com", before + 1), before + 1)
        box = export_mbox(M, "bob@example.com")
        self.assertIn(b"\n.leading dot", box)       # RFC 5321 4.5.2: one dot removed
        self.assertNotIn(b"..leading dot", box)

    def test_bdat(self):
        before = mailbox_count(M, "erin@example.com")
        r = Raw(M.port("smtp"))
        r.read_reply()
        r.cmd("EHLO chunker")
        # BDAT before MAIL: refused, but the chunk is consumed (session stays in sync).
        r.send(b"BDAT 5\r\nhello")
        self.assertEqual(r.read_reply()[0], 503)
        self.assertEqual(r.cmd("MAIL FROM:<c@remote.example> BODY=BINARYMIME")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<erin@example.com>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 503)  # BINARYMIME needs BDAT
        part1 = b"Subject: chunked\r\n\r\nbinary \x00\x01\xff "
        part2 = b"end of chunked body\r\n"
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        code, lines = r.read_reply()
        self.assertEqual(code, 250, lines)
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        code, lines = r.read_reply()
        self.assertEqual(code, 250, lines)
        self.assertRegex(lines[0], rb"queued as MR")
        # BDAT 0 LAST on its own ends a message too.
        self.assertEqual(r.cmd("MAIL FROM:<c@remote.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<erin@example.com>")[0], 250)
        r.send(b"BDAT 20\r\nSubject: two\r\n\r\nbody")
        self.assertEqual(r.read_reply()[0], 250)
        self.assertEqual(r.cmd("BDAT 0 LAST")[0], 250)
        r.cmd("QUIT")
        r.close()
        self.assertEqual(wait_count(M, "erin@example.com", before + 2), before + 2)
        self.assertIn(b"binary \x00\x01\xff end of chunked", export_mbox(M, "erin@example.com"))


class RelayMatrixTest(unittest.TestCase):
    """No open relay: only an authenticated session may name a non-local recipient."""

    def rcpt_code(self, port_name, rcpt, sender="ext@remote.example", login=None):
        s = smtplib.SMTP("127.0.0.1", M.port(port_name), timeout=15)
        s.ehlo("relay-probe")
        if login:
            s.starttls(context=tls_client_context(M))
            s.ehlo("relay-probe")
            s.login(*login)
        code, resp = s.mail(sender)
        if code != 250:
            s.quit()
            return ("MAIL", code, resp[:5])
        code, resp = s.docmd(f"RCPT TO:{rcpt}")
        s.rset()
        s.quit()
        return ("RCPT", code, resp[:5])

    def test_matrix(self):
        denied = ("RCPT", 554, b"5.7.1")
        unknown = ("RCPT", 550, b"5.1.1")
        cases = [
            ("smtp", "<victim@elsewhere.example>", "ext@remote.example", None, denied),
            ("smtp", "<victim@elsewhere.example>", "alice@example.com", None, denied),  # forged
            ("smtp", "<@example.com:victim@elsewhere.example>", "ext@remote.example", None,
             denied),                                                                 # route
            ("smtp", "<victim%elsewhere.example@example.com>", "ext@remote.example", None,
             unknown),                                                                # % hack
            ("smtp", "<\"victim@elsewhere.example\"@example.com>", "ext@remote.example", None,
             unknown),                                                                # quoted
            ("smtp", "<victim@[127.0.0.1]>", "ext@remote.example", None, unknown),    # literal
            ("smtp", "<alice@example.com>", "ext@remote.example", None, ("RCPT", 250, b"2.1.5")),
            ("submission", "<victim@elsewhere.example>", "alice@example.com", None,
             ("MAIL", 530, b"5.7.0")),                                                # no AUTH
            ("submission", "<victim@elsewhere.example>", "alice@example.com",
             ("alice@example.com", "wonderland"), ("RCPT", 250, b"2.1.5")),
        ]
        for port, rcpt, sender, login, want in cases:
            with self.subTest(port=port, rcpt=rcpt, sender=sender, login=bool(login)):
                # Each refusal pinned: a non-local domain is a relay attempt (554 5.7.1); an
                # address in a local domain that names no account is unknown (550 5.1.1), and
                # so is an address literal (the resolver serves no literal domain).
                self.assertEqual(self.rcpt_code(port, rcpt, sender, login), want)

    def test_lmtp_refuses_remote(self):
        r = Raw(M.port("lmtp"))
        r.read_reply()
        self.assertEqual(r.cmd("LHLO gw")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.example>")[0], 250)
        code, lines = r.cmd("RCPT TO:<victim@elsewhere.example>")
        self.assertEqual((code, lines[0][:5]), (554, b"5.7.1"))
        r.close()


class SubmissionTest(unittest.TestCase):
    def test_auth_plain_and_login(self):
        for mech in ("PLAIN", "LOGIN"):
            with self.subTest(mech=mech):
                s = smtplib.SMTP("127.0.0.1", M.port("submission"), timeout=15)
                s.ehlo("laptop")
                s.starttls(context=tls_client_context(M))
                s.ehlo("laptop")
                self.assertIn(mech, s.esmtp_features["auth"].split())
                s.user, s.password = "bob@example.com", "builder"
                code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                                    initial_response_ok=(mech == "PLAIN"))
                self.assertEqual(code, 235)
                s.quit()

    def test_wrong_password(self):
        s = smtplib.SMTP("127.0.0.1", M.port("submission"), timeout=15)
        s.ehlo("laptop")
        s.starttls(context=tls_client_context(M))
        s.ehlo("laptop")
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login("bob@example.com", "wrong")
        self.assertEqual(cm.exception.smtp_code, 535)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.8"))
        s.close()

    def test_auth_cancel_and_bad_base64(self):
        r = Raw(M.port("submission"))
        r.read_reply()
        r.cmd("EHLO x")
        r.cmd("STARTTLS")
        r.starttls(tls_client_context(M))
        r.cmd("EHLO x")
        code, _ = r.cmd("AUTH LOGIN")
        self.assertEqual(code, 334)
        code, lines = r.cmd("*")
        self.assertEqual((code, lines[0][:5]), (501, b"5.0.0"))
        code, lines = r.cmd("AUTH PLAIN !!!notbase64")
        self.assertEqual((code, lines[0][:5]), (501, b"5.5.2"))
        r.close()

    def test_send_as(self):
        s = submission()
        code, resp = s.mail("bob@example.com")
        self.assertEqual((code, resp[:5]), (553, b"5.7.1"))
        s.rset()
        self.assertEqual(s.mail("info@example.com")[0], 250)  # alias of alice
        s.rset()
        # From: header checked too.
        _, text = msg(sender="bob@example.com", to="dave@example.com")
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            s.sendmail("alice@example.com", ["dave@example.com"], text)
        self.assertEqual(cm.exception.smtp_code, 553)
        s.quit()

    def test_send_as_header_tricks(self):
        """Every From: and Sender: mailbox is checked, read as clients display them
        (issue 13, item 4): obsolete "From :", a From hidden behind a bare CR, Sender:,
        several mailboxes, groups; the account's own address and aliases still pass."""
        def data_code(header_block):
            s = submission()
            try:
                s.mail("alice@example.com")
                s.rcpt("dave@example.com")
                code, resp = s.data(header_block + b"\r\n\r\nbody\r\n")
                return code, resp[:5]
            finally:
                s.quit()
        refused = (553, b"5.7.1")
        for header in (b"From : bob@example.com",
                       b"From: alice@example.com\r\nX-Note: a\rFrom: bob@example.com",
                       b"Subject: x\rFrom: bob@example.com",
                       b"From: alice@example.com\r\nSender: bob@example.com",
                       b"From: alice@example.com, bob@example.com",
                       b"From: team: alice@example.com, bob@example.com;",
                       b"From: Alice <alice@example.com> (bob@example.com), <bob@example.com>",
                       b"From: undisclosed-recipients:;",
                       b"From: alice"):
            with self.subTest(header=header):
                self.assertEqual(data_code(header), refused)
        for header in (b"From: Alice <alice@example.com>",
                       b"From: (Alice) alice@example.com",
                       b"From: alice@example.com\r\nSender: info@example.com",
                       b"From : \"bob@example.com\" <alice@example.com>"):
            with self.subTest(header=header):
                self.assertEqual(data_code(header)[0], 250)

    def test_submission_adds_headers_and_trace(self):
        before = mailbox_count(M, "dave@example.com")
        token = uuid.uuid4().hex
        s = submission()
        s.sendmail("alice@example.com", ["dave@example.com"],
                   f"From: Alice <alice@example.com>\r\nSubject: {token}\r\n\r\nno id, no date\r\n")
        s.quit()
        self.assertEqual(wait_count(M, "dave@example.com", before + 1), before + 1)
        box = export_mbox(M, "dave@example.com")
        i = box.find(token.encode())
        start = box.rfind(b"Return-Path:", 0, i)
        head = box[start:i].decode()
        self.assertIn("with ESMTPSA id MR", head)
        self.assertIn("(using TLSv1.", head)
        self.assertIn("(authenticated user alice@example.com)", head)
        self.assertRegex(head, r"\nMessage-ID: <MR[0-9A-F]{20}@mail\.example\.com>")
        self.assertRegex(head, r"\nDate: \w{3}, \d\d \w{3} \d{4} ")

    def test_remote_recipient_stays_queued(self):
        s = submission()
        token, text = msg(sender="alice@example.com", to="friend@elsewhere.example")
        s.sendmail("alice@example.com", ["friend@elsewhere.example"], text)
        s.quit()
        want = {"rcpt": "friend@elsewhere.example", "address": "friend@elsewhere.example",
                "state": "remote"}

        def queued():
            return [r for m in M.ctl("queue", "list") for r in m["recipients"]]

        wait_for(lambda: want in queued(), interval=0.2)
        self.assertIn(want, queued())

    def test_implicit_tls_port(self):
        ctx = tls_client_context(M)
        s = smtplib.SMTP_SSL("127.0.0.1", M.port("submissions"), timeout=15, context=ctx)
        s.ehlo("laptop")
        self.assertNotIn("starttls", s.esmtp_features)
        s.login("alice@example.com", "wonderland")
        s.quit()

    def test_swaks(self):
        if not shutil.which("swaks"):
            self.skipTest("swaks not installed")
        before = mailbox_count(M, "bob@example.com")
        for auth in ("PLAIN", "LOGIN"):
            p = subprocess.run(
                ["swaks", "--server", "127.0.0.1", "--port", str(M.port("submission")),
                 "--tls", "--tls-ca-path", M.ca, "--auth", auth, "--auth-user",
                 "alice@example.com", "--auth-password", "wonderland",
                 "--from", "alice@example.com", "--to", "bob@example.com",
                 "--header", "Subject: swaks " + auth, "--pipeline"],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("queued as MR", p.stdout)
        self.assertEqual(wait_count(M, "bob@example.com", before + 2), before + 2)


class LmtpTest(unittest.TestCase):
    def test_per_recipient_replies(self):
        a0 = mailbox_count(M, "alice@example.com")
        r = Raw(M.port("lmtp"))
        r.read_reply()
        self.assertEqual(r.cmd("EHLO x")[0], 500)  # LMTP wants LHLO
        self.assertEqual(r.cmd("LHLO gateway")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<x@remote.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@example.com>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<nobody@example.com>")[0], 550)
        self.assertEqual(r.cmd("RCPT TO:<tiny@example.com>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send("Subject: lmtp\r\n\r\n" + ("z" * 900 + "\r\n") * 4 + ".\r\n")
        c1, l1 = r.read_reply()
        c2, l2 = r.read_reply()
        self.assertEqual(c1, 250)
        self.assertEqual((c2, l2[0][:5]), (552, b"5.2.2"))  # larger than tiny's quota
        r.cmd("QUIT")
        r.close()
        self.assertEqual(mailbox_count(M, "alice@example.com"), a0 + 1)  # delivered at reply


class MalformedInputTest(unittest.TestCase):
    def session(self):
        r = Raw(M.port("smtp"))
        self.assertEqual(r.read_reply()[0], 220)
        r.cmd("EHLO malformed")
        return r

    def test_bare_lf_command(self):
        r = self.session()
        r.send(b"NOOP\n")
        code, lines = r.read_reply()
        self.assertEqual((code, lines[0][:5]), (500, b"5.5.2"))
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()

    def test_overlong_command_and_nul(self):
        r = self.session()
        code, lines = r.cmd("NOOP " + "a" * 2000)
        self.assertEqual((code, lines[0][:5]), (500, b"5.5.2"))
        code, _ = r.cmd(b"HELO a\x00b")
        self.assertEqual(code, 500)
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()

    def test_auth_line_limit_is_the_sasl_one_and_only_for_auth(self):
        # RFC 4954 4: a SASL response may be 12288 octets; an AUTH line with a long initial
        # response (XOAUTH2 tokens) is read whole, anything longer is "Line too long" and the
        # session goes on. Other commands keep the 1000-octet limit (above).
        r = self.session()
        code, lines = r.cmd("AUTH PLAIN " + "A" * 3000)
        self.assertNotIn(b"Line too long", lines[0], (code, lines))  # read, then judged
        code, lines = r.cmd("AUTH PLAIN " + "A" * 13000)
        self.assertEqual((code, lines[0][:5]), (500, b"5.5.2"))
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()

    def test_out_of_sequence(self):
        r = self.session()
        self.assertEqual(r.cmd("RCPT TO:<alice@example.com>")[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 503)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 503)
        self.assertEqual(r.cmd("DATA")[0], 554)  # no valid recipients
        r.close()
        r = Raw(M.port("smtp"))
        r.read_reply()
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 503)  # before EHLO
        r.close()

    def assert_nothing_queued(self, session, user, before):
        """After the session ended: it queued nothing, and `user` got nothing."""
        log = wait_session_closed(M, session)
        self.assertNotIn(f"event=smtp_queued session={session} ", log)
        self.assertEqual(mailbox_count(M, user), before)
        pending = [m for m in M.ctl("queue", "list")
                   if any(r["address"] == user for r in m["recipients"])]
        self.assertEqual(pending, [])

    def data_rejected(self, payload, user="frank@example.com"):
        before = mailbox_count(M, user)
        r = self.session()
        session = session_of(M, r.sock)
        r.cmd("MAIL FROM:<a@remote.example>")
        r.cmd(f"RCPT TO:<{user}>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(payload + b".\r\n")
        code, lines = r.read_reply()
        self.assertEqual(r.cmd("NOOP")[0], 250)  # session still in sync
        r.close()
        self.assert_nothing_queued(session, user, before)
        return code, lines[0][:5]

    def test_overlong_data_line(self):
        self.assertEqual(self.data_rejected(b"Subject: x\r\n\r\n" + b"a" * 1200 + b"\r\nok\r\n"),
                         (554, b"5.6.0"))

    def test_bare_lf_in_data(self):
        # A bare LF inside the message: refused at the final CRLF.CRLF, session in sync.
        self.assertEqual(self.data_rejected(b"Subject: x\r\n\r\nline\nmore\n\r\n"),
                         (554, b"5.6.0"))

    def test_bare_lf_end_of_data(self):
        # ".\n" is not the end of data (RFC 5321 4.1.1.4): what follows is part of the
        # message, never commands (SMTP smuggling; test_smuggling.py has every variant). The
        # message is refused at the real CRLF.CRLF and the session stays in sync.
        tail = b"MAIL FROM:<x@y.z>\r\nRCPT TO:<frank@example.com>\r\nDATA\r\n"
        before = mailbox_count(M, "frank@example.com")
        r = self.session()
        session = session_of(M, r.sock)
        r.cmd("MAIL FROM:<a@remote.example>")
        r.cmd("RCPT TO:<frank@example.com>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: x\r\n\r\nline\n.\n" + tail + b".\r\n")
        code, lines = r.read_reply()
        self.assertEqual((code, lines[0][:5]), (554, b"5.6.0"))
        self.assertEqual(r.cmd("NOOP")[0], 250)
        r.close()
        self.assert_nothing_queued(session, "frank@example.com", before)

    def test_nul_in_data(self):
        self.assertEqual(self.data_rejected(b"Subject: x\r\n\r\na\x00b\r\n"), (554, b"5.6.0"))

    def test_disconnect_mid_data_delivers_nothing(self):
        before = mailbox_count(M, "frank@example.com")
        r = self.session()
        session = session_of(M, r.sock)
        r.cmd("MAIL FROM:<a@remote.example>")
        r.cmd("RCPT TO:<frank@example.com>")
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(b"Subject: half\r\n\r\nhalf a message\r\n")
        r.close()
        # The server noticed the disconnect inside the transaction and discarded the message.
        log = wait_session_closed(M, session)
        self.assertRegex(log, rf"event=smtp_data_aborted session={session} reason=eof bytes=\d+")
        self.assert_nothing_queued(session, "frank@example.com", before)

    def test_tls_garbage(self):
        r = self.session()
        self.assertEqual(r.cmd("STARTTLS")[0], 220)
        # Not a TLS record (type 0): the handshake fails at once. The server must end the
        # connection, at most after a TLS alert record (type 21); it must not answer in SMTP
        # or keep the connection open (a timeout here fails the test).
        r.send(b"\x00" + os.urandom(1999))
        r.sock.settimeout(30)
        try:
            data = r.sock.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertTrue(data == b"" or data[0] == 0x15, data)
        if data:  # after the alert, the end of the connection
            try:
                while data:
                    data = r.sock.recv(4096)
            except ConnectionResetError:
                pass
        r.close()
        # The server is fine.
        s = mx()
        self.assertEqual(s.noop()[0], 250)
        s.quit()

    def test_starttls_discards_pipelined_plaintext(self):
        r = Raw(M.port("smtp"))
        r.read_reply()
        r.cmd("EHLO x")
        # CVE-2011-0411: "MAIL" injected after STARTTLS in the same packet must be dropped.
        r.send("STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n")
        self.assertEqual(r.read_reply()[0], 220)
        r.starttls(tls_client_context(M))
        code, lines = r.cmd("EHLO x")
        self.assertEqual(code, 250)
        self.assertNotIn(b"STARTTLS", lines)
        # If the injected MAIL had been kept, this would be "503 nested MAIL".
        self.assertEqual(r.cmd("MAIL FROM:<real@remote.example>")[0], 250)
        r.close()

    def test_too_many_errors(self):
        r = self.session()
        code = 0
        for _ in range(20):
            code, lines = r.cmd("BOGUS")
            if code == 421:
                break
        self.assertEqual(code, 421)
        self.assertEqual(lines[0][:5], b"4.7.0")
        r.close()


def mail_from_code(sender):
    s = mx()
    try:
        return s.mail(sender)[0]
    finally:
        s.quit()


def greeting_code():
    r = Raw(M.port("smtp"))
    try:
        return r.read_reply()[0]
    finally:
        r.close()


def wait_mail_from(codes):
    """mailroomd sees a changed block list file within filter::Blocklist::kRecheck (0.5 s):
    polls until MAIL FROM answers `codes` ({sender: code}); returns what it last answered."""
    def answers():
        return {a: mail_from_code(a) for a in codes}

    wait_for(lambda: answers() == codes, interval=0.1)
    return answers()


class BlocklistTest(unittest.TestCase):
    def test_sender_and_domain_reload_without_restart(self):
        M.ctl("blocklist", "add", "sender", "spammer@bad.example")
        M.ctl("blocklist", "add", "domain", "worse.example")
        blocked = {"spammer@bad.example": 550, "x@mail.worse.example": 550}
        try:
            self.assertEqual(wait_mail_from(blocked), blocked)
            s = mx()
            code, resp = s.mail("spammer@bad.example")
            self.assertEqual((code, resp[:5]), (550, b"5.7.1"))
            s.rset()
            code, resp = s.mail("x@mail.worse.example")
            self.assertEqual((code, resp[:5]), (550, b"5.7.1"))
            s.rset()
            self.assertEqual(s.mail("fine@bad.example")[0], 250)
            s.quit()
            listed = M.ctl("blocklist", "list")
            self.assertIn({"kind": "sender", "value": "spammer@bad.example"}, listed)
        finally:
            M.ctl("blocklist", "remove", "sender", "spammer@bad.example")
            M.ctl("blocklist", "remove", "domain", "worse.example")
        allowed = {"spammer@bad.example": 250, "x@mail.worse.example": 250}
        self.assertEqual(wait_mail_from(allowed), allowed)

    def test_ip_block_at_connect(self):
        M.ctl("blocklist", "add", "ip", "127.0.0.0/8")
        try:
            wait_for(lambda: greeting_code() == 554, interval=0.1)
            r = Raw(M.port("smtp"))
            code, lines = r.read_reply()
            self.assertEqual((code, lines[0][:5]), (554, b"5.7.1"))
            r.close()
        finally:
            M.ctl("blocklist", "remove", "ip", "127.0.0.0/8")
        wait_for(lambda: greeting_code() == 220, interval=0.1)
        self.assertEqual(greeting_code(), 220)

    def test_bad_entries_refused(self):
        p = M.ctl("blocklist", "add", "ip", "300.1.1.1", check=False)
        self.assertEqual(p.returncode, 1)
        p = M.ctl("blocklist", "add", "color", "red", check=False)
        self.assertEqual(p.returncode, 1)


class DeliveryLogTest(unittest.TestCase):
    def test_record_per_recipient(self):
        token = uuid.uuid4().hex
        start = int(time.time()) - 1
        s = mx()
        s.sendmail("Logger@Remote.example", ["staff@example.com"],
                   f"From: =?UTF-8?B?w4lsb2lzZQ==?= <logger@remote.example>\r\n"
                   f"Subject: =?UTF-8?Q?r=C3=A9sum=C3=A9_{token}?=\r\n"
                   f"Message-ID: <{token}@remote.example>\r\n\r\nbody\r\n")
        s.quit()
        deadline = time.time() + 20
        recs = []
        while time.time() < deadline and len(recs) < 2:
            recs = M.ctl("delivery-log", "--message-id", f"{token}@remote.example")
            time.sleep(0.2)
        self.assertEqual(len(recs), 2)
        for r in recs:
            self.assertEqual(r["result"], "delivered")
            self.assertEqual(r["subject"], f"résumé {token}")
            self.assertEqual(r["header_from"], "Éloise <logger@remote.example>")
            self.assertEqual(r["envelope_sender"], "logger@remote.example")
            self.assertEqual(r["recipient"], "staff@example.com")
            self.assertEqual(r["mailbox"], "INBOX")
            self.assertGreater(r["uid"], 0)
        self.assertEqual(sorted(r["final_address"] for r in recs),
                         ["alice@example.com", "bob@example.com"])
        # Recall searches (mailroomctl delivery-log): domains and the subject prefix in any case.
        subject = ["--subject", f"RÉSUMÉ {token}".replace("RÉSUMÉ", "Résumé")]
        self.assertEqual(len(M.ctl("delivery-log", "--sender-domain", "REMOTE.example",
                                   *subject)), 2)
        self.assertEqual(len(M.ctl("delivery-log", "--recipient-domain", "Example.COM",
                                   "--since", str(start), *subject)), 2)
        self.assertEqual(M.ctl("delivery-log", "--until", str(start - 1), *subject), [])
        self.assertEqual(M.ctl("delivery-log", "--subject", f"résumé {token}x"), [])
        alice = M.account_id("alice@example.com")
        mine = M.ctl("delivery-log", "--account", alice, *subject)
        self.assertEqual([r["final_address"] for r in mine], ["alice@example.com"])


if __name__ == "__main__":
    unittest.main()
