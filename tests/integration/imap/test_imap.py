"""IMAP4rev1 and extensions against a real mailroomd, with imaplib and a raw wire client."""
import base64
import imaplib
import os
import re
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mailroom  # noqa: E402
from imapwire import ServerCase, Wire, make_server  # noqa: E402

SIMPLE = (b"From: Alice <alice@example.com>\r\n"
          b"To: bob@example.com, \"Carol Q\" <carol@x.org>\r\n"
          b"Subject: Hello there\r\n"
          b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
          b"Message-ID: <m1@example.com>\r\n"
          b"\r\n"
          b"Hello\r\nWorld\r\n")

MULTIPART = (b"From: bob@example.com\r\n"
             b"Subject: =?Big5?B?pKSk5Q==?= report\r\n"
             b"Message-ID: <m2@example.com>\r\n"
             b"In-Reply-To: <m1@example.com>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
             b"\r\n"
             b"--XX\r\n"
             b"Content-Type: text/plain; charset=big5\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"\r\n"
             b"pKSk5Q==\r\n"
             b"--XX\r\n"
             b"Content-Type: message/rfc822\r\n"
             b"\r\n"
             b"Subject: inner\r\n"
             b"\r\n"
             b"inner body\r\n"
             b"--XX--\r\n")


class ImapTestBase(ServerCase):
    def login(self, user="alice", password="wonderland"):
        w = Wire(self.port)
        _, tagged = w.cmd("LOGIN %s@example.com %s" % (user, password))
        self.assertTrue(tagged.split()[1] == b"OK", tagged)
        return w

    def imaplib_login(self, user="alice", password="wonderland"):
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login(user + "@example.com", password)
        return c

    def fresh_mailbox(self, w, name):
        w.cmd("DELETE %s" % name)
        _, t = w.cmd("CREATE %s" % name)
        self.assertIn(b"OK", t)

    def append(self, w, mailbox, message, flags=""):
        tag = w.tag()
        w.send("%s APPEND %s %s{%d}\r\n" % (tag, mailbox, flags, len(message)))
        cont = w.read_response_line()
        self.assertTrue(cont.startswith(b"+"), cont)
        w.send(message + b"\r\n")
        _, t = w.until(tag)
        self.assertIn(b"OK [APPENDUID ", t)
        return int(t.split(b"APPENDUID ")[1].split(b"]")[0].split()[1])


class TestCore(ImapTestBase):
    def test_greeting_and_capabilities(self):
        w = Wire(self.port)
        self.assertTrue(w.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1"), w.greeting)
        self.assertIn(b"STARTTLS", w.greeting)
        self.assertIn(b"AUTH=PLAIN", w.greeting)
        self.assertNotIn(b"LOGINDISABLED", w.greeting)  # loopback plaintext allowed by config
        u, t = w.cmd("CAPABILITY")
        self.assertTrue(t.endswith(b"OK CAPABILITY completed"))
        self.assertEqual(len(u), 1)
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b"[CAPABILITY IMAP4rev1", t)
        u, _ = w.cmd("CAPABILITY")
        for cap in [b"UIDPLUS", b"MOVE", b"IDLE", b"CONDSTORE", b"QRESYNC", b"ESEARCH",
                    b"SPECIAL-USE", b"LIST-STATUS", b"QUOTA", b"SORT", b"THREAD=REFERENCES"]:
            self.assertIn(cap, u[0])
        u, t = w.cmd("LOGOUT")
        self.assertEqual(u[0], b"* BYE Logging out")
        self.assertIn(b"OK", t)

    def test_login_failures(self):
        w = Wire(self.port)
        _, t = w.cmd("LOGIN alice@example.com wrong")
        self.assertEqual(t, b"T1 NO [AUTHENTICATIONFAILED] Authentication failed")
        _, t = w.cmd("LOGIN nobody@example.com x")
        self.assertIn(b"NO [AUTHENTICATIONFAILED]", t)
        _, t = w.cmd("SELECT INBOX")
        self.assertEqual(t, b"T3 BAD Command requires authentication")
        _, t = w.cmd('LOGIN {5+}\r\nalice@example.com "wonderland"')
        self.assertIn(b"BAD", t)  # the literal holds only "alice"; the rest is garbage
        # AUTHENTICATE PLAIN with SASL-IR
        import base64
        ir = base64.b64encode(b"\0alice@example.com\0wonderland").decode()
        _, t = w.cmd("AUTHENTICATE PLAIN " + ir)
        self.assertIn(b"OK", t)
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertEqual(t.split()[1], b"BAD")

    def test_authenticate_continuation_and_cancel(self):
        import base64
        w = Wire(self.port)
        tag = w.tag()
        w.send(tag + " AUTHENTICATE PLAIN\r\n")
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send("*\r\n")
        _, t = w.until(tag)
        self.assertEqual(t, tag.encode() + b" BAD Authentication cancelled")
        tag = w.tag()
        w.send(tag + " AUTHENTICATE PLAIN\r\n")
        w.read_response_line()
        w.send(base64.b64encode(b"\0bob@example.com\0builder") + b"\r\n")
        _, t = w.until(tag)
        self.assertIn(b"OK", t)

    def test_starttls(self):
        w = Wire(self.port)
        _, t = w.cmd("STARTTLS")
        self.assertIn(b"OK Begin TLS", t)
        ctx = self.m.ssl_context()
        w.sock = ctx.wrap_socket(w.sock, server_hostname="localhost")
        u, t = w.cmd("CAPABILITY")
        self.assertNotIn(b"STARTTLS", u[0])
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b"OK", t)
        w.close()
        # implicit TLS listener
        w2 = Wire(self.m.port("imaps"), tls_context=self.m.ssl_context())
        self.assertTrue(w2.greeting.startswith(b"* OK"))
        self.assertNotIn(b"STARTTLS", w2.greeting)

    def test_append_select_fetch(self):
        w = self.login()
        self.fresh_mailbox(w, "Fetch")
        uid1 = self.append(w, "Fetch", SIMPLE, "(\\Flagged) ")
        uid2 = self.append(w, "Fetch", MULTIPART)
        self.assertEqual(uid2, uid1 + 1)
        u, t = w.cmd("SELECT Fetch")
        self.assertIn(b"* 2 EXISTS", u)
        self.assertTrue(any(l.startswith(b"* OK [UIDVALIDITY ") for l in u))
        self.assertTrue(any(l.startswith(b"* OK [UIDNEXT %d]" % (uid2 + 1)) for l in u))
        self.assertTrue(any(l.startswith(b"* OK [PERMANENTFLAGS (") for l in u))
        self.assertTrue(any(l.startswith(b"* FLAGS (") for l in u))
        self.assertIn(b"[READ-WRITE]", t)
        u, t = w.cmd("FETCH 1 (FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
        self.assertEqual(len(u), 1, u)
        line = u[0]
        self.assertIn(b"FLAGS (\\Flagged", line)
        self.assertIn(b"RFC822.SIZE %d" % len(SIMPLE), line)
        self.assertIn(b'ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "Hello there" '
                      b'(("Alice" NIL "alice" "example.com"))', line)
        self.assertIn(b'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 14 2 '
                      b'NIL NIL NIL NIL)', line)
        u, _ = w.cmd("FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.HEADER] BODY.PEEK[2.1] BODY[]<0.4> "
                     "BODY.PEEK[HEADER.FIELDS (Subject)])")
        line = u[0]
        self.assertIn(b"BODY[1] {8}\r\npKSk5Q==", line)
        self.assertIn(b"BODY[2.HEADER] {18}\r\nSubject: inner\r\n\r\n", line)
        self.assertIn(b"BODY[2.1] {10}\r\ninner body", line)
        self.assertIn(b"BODY[]<0> {4}\r\nFrom", line)
        self.assertIn(b"BODY[HEADER.FIELDS (Subject)] {39}\r\nSubject: =?Big5?B?pKSk5Q==?= report\r\n\r\n", line)
        self.assertIn(b"FLAGS (\\Seen", line)  # BODY[] without PEEK set \Seen
        u, _ = w.cmd("FETCH 2 (BODY[3] BODY.PEEK[1]<100.5>)")
        self.assertIn(b"BODY[3] NIL", u[0])
        self.assertIn(b'BODY[1]<100> {0}\r\n', u[0])
        u, t = w.cmd("UID FETCH %d:* (FLAGS)" % uid2)
        self.assertEqual(u, [b"* 2 FETCH (UID %d FLAGS (\\Seen \\Recent))" % uid2])
        u, t = w.cmd("FETCH 1:* (RFC822.HEADER INTERNALDATE)")
        self.assertEqual(len(u), 2)
        self.assertRegex(u[0].decode("latin-1"), r'INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"')
        # errors
        _, t = w.cmd("FETCH 3 FLAGS")
        self.assertIn(b"BAD Invalid message sequence number", t)
        _, t = w.cmd("UID FETCH 999 FLAGS")
        self.assertTrue(t.endswith(b"OK FETCH completed"))
        # BINARY (RFC 3516) is offered now (test_imap_ext2); a range on BINARY.SIZE is BAD.
        u, t = w.cmd("FETCH 1 BINARY.PEEK[1]")
        self.assertIn(b"OK", t)
        self.assertIn(b"BINARY[1] {", u[0])
        _, t = w.cmd("FETCH 1 BINARY.SIZE[1]<0.5>")
        self.assertIn(b"BAD", t)

    def test_store_search_expunge(self):
        w = self.login()
        self.fresh_mailbox(w, "Ops")
        for i in range(5):
            self.append(w, "Ops", SIMPLE.replace(b"Hello there", b"Msg %d" % i))
        w.cmd("SELECT Ops")
        u, t = w.cmd("STORE 2:3 +FLAGS (\\Deleted $Work)")
        # RFC 3501 7.2.6: the new keyword is announced (FLAGS, PERMANENTFLAGS) before the FETCHes.
        self.assertEqual(len(u), 4)
        self.assertTrue(u[0].startswith(b"* FLAGS (") and b"$Work" in u[0], u)
        self.assertIn(b"$Work \\*)]", u[1])
        self.assertIn(b"\\Deleted", u[2])
        self.assertIn(b"$Work", u[2])
        u, t = w.cmd("STORE 1 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(u, [])
        u, _ = w.cmd("SEARCH DELETED")
        self.assertEqual(u, [b"* SEARCH 2 3"])
        u, _ = w.cmd("SEARCH OR SEEN KEYWORD $Work")
        self.assertEqual(u, [b"* SEARCH 1 2 3"])
        u, _ = w.cmd("SEARCH NOT DELETED SUBJECT \"msg 4\"")
        self.assertEqual(u, [b"* SEARCH 5"])
        u, _ = w.cmd("SEARCH SENTON 7-Feb-1994 1:2")
        self.assertEqual(u, [b"* SEARCH 1 2"])
        u, _ = w.cmd("SEARCH BODY world FROM alice LARGER 10")
        self.assertEqual(u, [b"* SEARCH 1 2 3 4 5"])
        u, _ = w.cmd("SEARCH HEADER Message-ID <m1@example.com> UNSEEN")
        self.assertEqual(u, [b"* SEARCH 2 3 4 5"])
        u, _ = w.cmd("UID SEARCH 4:5")
        self.assertEqual(len(u[0].split()), 4)
        u, t = w.cmd("SEARCH CHARSET KOI9-X ALL")
        self.assertIn(b"NO [BADCHARSET", t)
        u, t = w.cmd("EXPUNGE")
        self.assertEqual(u, [b"* 3 EXPUNGE", b"* 2 EXPUNGE"])
        u, _ = w.cmd("SEARCH ALL")
        self.assertEqual(u, [b"* SEARCH 1 2 3"])
        # UID EXPUNGE only the given UID
        u, _ = w.cmd("UID SEARCH ALL")
        uids = [int(x) for x in u[0].split()[2:]]
        w.cmd("STORE 1:3 +FLAGS (\\Deleted)")
        u, t = w.cmd("UID EXPUNGE %d" % uids[1])
        self.assertEqual(u, [b"* 2 EXPUNGE"])
        u, _ = w.cmd("CLOSE")
        u, t = w.cmd("STATUS Ops (MESSAGES UNSEEN UIDNEXT)")
        self.assertRegex(u[0].decode(), r'^\* STATUS "?Ops"? \(MESSAGES 0 UNSEEN 0 UIDNEXT \d+\)$')

    def test_search_charsets(self):
        w = self.login()
        self.fresh_mailbox(w, "Charset")
        self.append(w, "Charset", MULTIPART)
        self.append(w, "Charset", SIMPLE)
        w.cmd("SELECT Charset")
        big5 = "中文".encode("big5")
        tag = w.tag()
        w.send(b"%s SEARCH CHARSET BIG5 SUBJECT {%d}\r\n" % (tag.encode(), len(big5)))
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send(big5 + b"\r\n")
        u, t = w.until(tag)
        self.assertEqual(u, [b"* SEARCH 1"])
        gb = "中文".encode("gb2312")
        u, _ = w.cmd(b"SEARCH CHARSET GB2312 BODY {%d+}\r\n" % len(gb) + gb)
        self.assertEqual(u, [b"* SEARCH 1"])
        utf = "中文".encode()
        u, _ = w.cmd(b"SEARCH CHARSET UTF-8 TEXT {%d+}\r\n" % len(utf) + utf)
        self.assertEqual(u, [b"* SEARCH 1"])

    def test_search_body_finds_decoded_text_only(self):
        # RFC 3501 6.4.4 BODY: the decoded text of the body. Most messages are ruled out from
        # their raw octets (src/mime/body_search.cpp); words split by a quoted-printable soft
        # break or written as =XX are still found, words only in a header or inside the
        # base64 of an attachment are not, base64 text parts are decoded.
        def msg(headers, body, subject="hello"):
            return ("From: a@example.com\r\nSubject: %s\r\nMIME-Version: 1.0\r\n%s\r\n%s"
                    % (subject, headers, body)).encode()
        qp = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " \
             "quoted-printable\r\n"
        messages = [
            msg("Content-Type: text/plain; charset=us-ascii\r\n",
                "Can we move the MEETING to Thursday?\r\n"),
            msg("", "nothing to see\r\n", subject="Meeting notes"),
            msg(qp, "please join the mee=\r\nting in room =33B\r\n"),
            msg("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64"
                "\r\n", base64.b64encode(b"the meeting is at noon\r\n").decode() + "\r\n"),
            msg('Content-Type: multipart/mixed; boundary="m"\r\n',
                "--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--m\r\n"
                "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                "%s\r\n--m--\r\n" % base64.b64encode(b"meeting").decode()),
            msg(qp, "=6Deeting=3D=4DEETING\r\n"),
            msg("", "lunch on friday\r\n"),
        ]
        w = self.login()
        self.fresh_mailbox(w, "Body")
        for m in messages:
            self.append(w, "Body", m)
        w.cmd("SELECT Body")
        self.assertEqual(w.cmd('SEARCH BODY "meeting"')[0], [b"* SEARCH 1 3 4 6"])
        self.assertEqual(w.cmd('SEARCH TEXT "meeting"')[0], [b"* SEARCH 1 2 3 4 6"])
        self.assertEqual(w.cmd('SEARCH BODY "room 3b"')[0], [b"* SEARCH 3"])
        self.assertEqual(w.cmd('SEARCH BODY "meeting=meeting"')[0], [b"* SEARCH 6"])
        self.assertEqual(w.cmd('SEARCH BODY "attached"')[0], [b"* SEARCH 5"])
        self.assertEqual(w.cmd('SEARCH BODY "zebra"')[0], [b"* SEARCH"])
        self.assertEqual(w.cmd('SEARCH NOT BODY "meeting"')[0], [b"* SEARCH 2 5 7"])

    def test_copy_move_uidplus(self):
        w = self.login()
        self.fresh_mailbox(w, "Src")
        self.fresh_mailbox(w, "Dst")
        for _ in range(3):
            self.append(w, "Src", SIMPLE)
        w.cmd("SELECT Src")
        _, t = w.cmd("COPY 1:2 Dst")
        self.assertRegex(t.decode(), r"OK \[COPYUID \d+ \d+:\d+ \d+:\d+\] COPY completed")
        _, t = w.cmd("COPY 1 NoSuchBox")
        self.assertIn(b"NO [TRYCREATE]", t)
        u, t = w.cmd("MOVE 2 Dst")
        self.assertTrue(u[0].startswith(b"* OK [COPYUID "), u)
        self.assertEqual(u[1], b"* 2 EXPUNGE")
        self.assertIn(b"OK", t)
        u, t = w.cmd("UID MOVE 1:* Dst")
        self.assertEqual(u[1:], [b"* 2 EXPUNGE", b"* 1 EXPUNGE"])
        u, _ = w.cmd("STATUS Dst (MESSAGES)")
        self.assertIn(b"MESSAGES 5", u[0])
        _, t = w.cmd("MOVE 1 Dst")
        self.assertIn(b"BAD", t)  # the mailbox is empty now

    def test_mailboxes_list_utf7(self):
        w = self.login()
        for n in ["Work/Projects", "Work", "&U,BTFw-"]:
            w.cmd("DELETE %s" % n)
        _, t = w.cmd("CREATE Work/Projects")
        self.assertIn(b"OK", t)
        _, t = w.cmd("CREATE &U,BTFw-")  # 台北
        self.assertIn(b"OK", t)
        _, t = w.cmd("CREATE Work")
        self.assertIn(b"NO [ALREADYEXISTS]", t) if b"NO" in t else None
        u, _ = w.cmd('LIST "" "*"')
        names = b"\n".join(u)
        self.assertIn(b'"&U,BTFw-"', names)
        self.assertRegex(names.decode(), r'\* LIST \([^)]*\\HasChildren[^)]*\) "/" "?Work"?')
        self.assertIn(b"\\Sent", names)
        u, _ = w.cmd('LIST "" %')
        self.assertFalse(any(b"Work/Projects" in l for l in u))
        u, _ = w.cmd('LIST "" ""')
        self.assertEqual(u, [b'* LIST (\\Noselect) "/" ""'])
        u, _ = w.cmd('LIST "Work/" "%"')
        self.assertEqual(len(u), 1)
        self.assertIn(b"Work/Projects", u[0])
        # invalid names
        for bad, msg in [("&U,BTFw", b"modified UTF-7"), ("a/../b", b".."), ("&AGE-", b"UTF-7"),
                         ("a//b", b"empty")]:
            _, t = w.cmd("CREATE %s" % bad)
            self.assertIn(b"NO", t, bad)
            self.assertIn(msg, t, bad)
        _, t = w.cmd(b'CREATE "a\x01b"')
        self.assertIn(b"NO", t)
        _, t = w.cmd("DELETE INBOX")
        self.assertIn(b"NO", t)
        _, t = w.cmd("RENAME Work/Projects Work/Done")
        self.assertIn(b"OK", t)
        u, _ = w.cmd('LIST "" Work/*')
        self.assertIn(b"Work/Done", u[0])
        _, t = w.cmd("SUBSCRIBE Work/Done")
        self.assertIn(b"OK", t)
        u, _ = w.cmd('LSUB "" *')
        self.assertTrue(any(b"Work/Done" in l for l in u))
        u, _ = w.cmd('LIST (SUBSCRIBED) "" * RETURN (CHILDREN)')
        self.assertTrue(any(b"\\Subscribed" in l and b"Work/Done" in l for l in u))
        _, t = w.cmd("UNSUBSCRIBE Work/Done")
        self.assertIn(b"OK", t)
        u, _ = w.cmd('LIST "" * RETURN (STATUS (MESSAGES UIDNEXT))')
        self.assertTrue(any(l.startswith(b"* STATUS ") for l in u))
        # RFC 6154 2.3: only mailboxes with a special use, each with its attribute.
        u, _ = w.cmd('LIST (SPECIAL-USE) "" *')
        uses = {}
        for line in u:
            m = re.match(rb'\* LIST \(([^)]*)\) "/" "?([^"]+)"?$', line)
            self.assertIsNotNone(m, line)
            uses[m.group(2)] = set(m.group(1).split())
        for name, attr in ((b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"),
                           (b"Trash", b"\\Trash"), (b"Junk", b"\\Junk")):
            self.assertIn(attr, uses.get(name, set()), (name, u))
        self.assertNotIn(b"INBOX", uses)
        self.assertNotIn(b"Work/Done", uses)
        _, t = w.cmd("CREATE Archive2 (USE (\\Archive))")
        self.assertIn(b"OK", t)
        _, t = w.cmd("CREATE Bogus (USE (\\Bogus))")
        self.assertIn(b"NO [USEATTR]", t)
        w.cmd("DELETE Archive2")
        u, t = w.cmd("NAMESPACE")
        self.assertEqual(u, [b'* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))'])

    def test_examine_is_read_only(self):
        w = self.login()
        self.fresh_mailbox(w, "RO")
        self.append(w, "RO", SIMPLE)
        _, t = w.cmd("EXAMINE RO")
        self.assertIn(b"[READ-ONLY]", t)
        _, t = w.cmd("STORE 1 +FLAGS (\\Seen)")
        self.assertIn(b"NO", t)
        u, _ = w.cmd("FETCH 1 BODY[]")
        u, _ = w.cmd("FETCH 1 FLAGS")
        self.assertNotIn(b"\\Seen", u[0])  # EXAMINE never sets \Seen
        _, t = w.cmd("UNSELECT")
        self.assertIn(b"OK", t)
        _, t = w.cmd("FETCH 1 FLAGS")
        self.assertIn(b"BAD No mailbox selected", t)


class TestSync(ImapTestBase):
    def test_idle_sees_other_sessions(self):
        a = self.login()
        b = self.login()
        self.fresh_mailbox(a, "Idle")
        self.append(a, "Idle", SIMPLE)
        a.cmd("SELECT Idle")
        b.cmd("SELECT Idle")
        tag = a.tag()
        a.send(tag + " IDLE\r\n")
        self.assertEqual(a.read_response_line(), b"+ idling")
        self.append(b, "Idle", SIMPLE)
        got = [a.read_response_line(), a.read_response_line()]
        self.assertIn(b"* 2 EXISTS", got)
        b.cmd("STORE 1 +FLAGS (\\Flagged)")
        self.assertIn(b"* 1 FETCH (FLAGS (\\Flagged", a.read_response_line())
        b.cmd("STORE 1 +FLAGS (\\Deleted)")
        a.read_response_line()
        b.cmd("EXPUNGE")
        self.assertEqual(a.read_response_line(), b"* 1 EXPUNGE")
        a.send("DONE\r\n")
        _, t = a.until(tag)
        self.assertEqual(t, tag.encode() + b" OK IDLE terminated")
        u, _ = a.cmd("FETCH 1 UID")
        self.assertEqual(len(u), 1)

    def test_no_expunge_during_fetch(self):
        a = self.login()
        b = self.login()
        self.fresh_mailbox(a, "Hold")
        for _ in range(2):
            self.append(a, "Hold", SIMPLE)
        a.cmd("SELECT Hold")
        b.cmd("SELECT Hold")
        b.cmd("STORE 1 +FLAGS (\\Deleted)")
        b.cmd("EXPUNGE")
        u, t = a.cmd("FETCH 2 FLAGS")  # RFC 3501 7.4.1: no EXPUNGE here
        self.assertFalse(any(b"EXPUNGE" in l for l in u), u)
        u, t = a.cmd("NOOP")
        self.assertIn(b"* 1 EXPUNGE", u)

    def test_recent_per_session(self):
        a = self.login()
        self.fresh_mailbox(a, "Rec")
        self.append(a, "Rec", SIMPLE)
        u, _ = a.cmd("SELECT Rec")
        self.assertIn(b"* 1 RECENT", u)
        b = self.login()
        u, _ = b.cmd("SELECT Rec")
        self.assertIn(b"* 0 RECENT", u)

    def test_condstore_qresync(self):
        w = self.login()
        self.fresh_mailbox(w, "Cs")
        for _ in range(3):
            self.append(w, "Cs", SIMPLE)
        u, t = w.cmd("ENABLE CONDSTORE QRESYNC")
        self.assertIn(b"* ENABLED CONDSTORE QRESYNC", u)
        u, _ = w.cmd("SELECT Cs (CONDSTORE)")
        hms = [l for l in u if b"HIGHESTMODSEQ" in l]
        self.assertTrue(hms)
        modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", hms[0]).group(1))
        validity = int(re.search(rb"UIDVALIDITY (\d+)", b" ".join(u)).group(1))
        u, _ = w.cmd("STORE 1 +FLAGS (\\Seen)")
        self.assertIn(b"MODSEQ (", u[0])
        u, _ = w.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq)
        self.assertEqual(len(u), 1)
        m1 = int(re.search(rb"MODSEQ \((\d+)\)", u[0]).group(1))
        _, t = w.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % (m1 - 1))
        self.assertIn(b"[MODIFIED 1]", t)
        u, _ = w.cmd("SEARCH MODSEQ %d" % m1)
        self.assertIn(b"(MODSEQ", u[0])
        w.cmd("STORE 3 +FLAGS (\\Deleted)")
        u, _ = w.cmd("UID SEARCH ALL")
        uids = u[0].split()[2:]
        u, _ = w.cmd("EXPUNGE")
        self.assertTrue(u[0].startswith(b"* VANISHED "), u)
        w.cmd("UNSELECT")
        u, t = w.cmd("SELECT Cs (QRESYNC (%d %d))" % (validity, modseq))
        self.assertTrue(any(l.startswith(b"* VANISHED (EARLIER) " + uids[2]) for l in u), u)
        self.assertTrue(any(b"FETCH (UID" in l for l in u), u)

    def test_esearch_sort_thread(self):
        w = self.login()
        self.fresh_mailbox(w, "St")
        self.append(w, "St", MULTIPART)
        self.append(w, "St", SIMPLE)
        self.append(w, "St", SIMPLE.replace(b"Hello there", b"Re: Hello there")
                    .replace(b"<m1@example.com>", b"<m3@example.com>\r\nReferences: <m1@example.com>"))
        w.cmd("SELECT St")
        u, _ = w.cmd("SEARCH RETURN (MIN MAX COUNT) ALL")
        self.assertEqual(u, [b'* ESEARCH (TAG "T2") MIN 1 MAX 3 COUNT 3'.replace(b"T2", u[0].split(b'"')[1])])
        u, _ = w.cmd("SEARCH RETURN () SEEN")
        self.assertTrue(u[0].startswith(b"* ESEARCH (TAG"))
        self.assertNotIn(b"ALL", u[0])
        u, _ = w.cmd("SORT (SUBJECT) UTF-8 ALL")
        self.assertEqual(u, [b"* SORT 2 3 1"])
        u, _ = w.cmd("SORT (REVERSE SIZE) UTF-8 ALL")
        self.assertEqual(len(u[0].split()), 5)
        u, _ = w.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"(2 ", u[0])
        u, _ = w.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")
        self.assertTrue(u[0].startswith(b"* THREAD ("))
        _, t = w.cmd("THREAD FOO UTF-8 ALL")
        self.assertIn(b"BAD", t)

    def test_quota_and_id(self):
        w = self.login()
        u, t = w.cmd("GETQUOTAROOT INBOX")
        self.assertEqual(u, [b'* QUOTAROOT "INBOX"'])  # alice has no quota: no quota root
        _, t = w.cmd('SETQUOTA "" (STORAGE 1)')
        self.assertIn(b"NO", t)
        u, t = w.cmd('ID ("name" "test")')
        self.assertTrue(u[0].startswith(b'* ID ("name" "Mailroom"'))

    def test_imaplib_roundtrip(self):
        c = self.imaplib_login("bob", "builder")
        typ, _ = c.append("INBOX", "(\\Seen)", None, SIMPLE)
        self.assertEqual(typ, "OK")
        typ, data = c.select("INBOX")
        self.assertEqual(typ, "OK")
        n = int(data[0])
        typ, data = c.fetch(str(n), "(RFC822)")
        self.assertEqual(data[0][1], SIMPLE)
        typ, data = c.uid("SEARCH", None, "ALL")
        self.assertTrue(data[0])
        c.logout()


class TestRobustness(ImapTestBase):
    def test_bad_input_keeps_session(self):
        w = self.login()
        _, t = w.cmd("FROBNICATE")
        self.assertEqual(t.split(b" ", 1)[1], b"BAD Unknown command FROBNICATE")
        w.send("\r\n")
        self.assertEqual(w.read_response_line(), b"* BAD Empty command line")
        w.send("+++ NOOP\r\n")
        self.assertEqual(w.read_response_line(), b"* BAD Invalid tag")
        w.cmd("SELECT INBOX")
        _, t = w.cmd("FETCH 1:: FLAGS")
        self.assertEqual(t.split(b" ", 1)[1], b"BAD Invalid sequence set")
        _, t = w.cmd("SEARCH " + "(" * 500 + "ALL" + ")" * 500)
        self.assertIn(b"BAD Too deeply nested", t)
        _, t = w.cmd("NOOP")
        self.assertIn(b"OK", t)

    def test_huge_line_and_literal(self):
        w = self.login()
        w.send(b"A1 NOOP " + b"x" * (10 * 1024 * 1024) + b"\r\n")
        self.assertEqual(w.read_response_line(), b"* BAD Command line too long")
        _, t = w.cmd("NOOP")
        self.assertIn(b"OK", t)
        w.send(b"A2 APPEND INBOX {999999999999}\r\n")
        self.assertEqual(w.read_response_line(), b"A2 BAD [TOOBIG] Literal too large")
        _, t = w.cmd("NOOP")
        self.assertIn(b"OK", t)
        w.send(b"A3 APPEND INBOX {999999999999+}\r\n")
        self.assertEqual(w.read_response_line(), b"* BYE [TOOBIG] Literal too large")
        self.assertRaises((EOFError, ConnectionError), w.read_line)

    def test_abusive_client_gets_bye(self):
        w = Wire(self.port)
        for i in range(19):
            _, t = w.cmd("BOGUS%d" % i)
            self.assertIn(b"BAD", t)
        w.send("X BOGUS\r\n")
        self.assertIn(b"BAD", w.read_response_line())
        self.assertEqual(w.read_response_line(), b"* BYE Too many invalid commands")


def thread_msg(n, subject, date, refs=b""):
    return (b"From: t@example.com\r\nSubject: " + subject + b"\r\nDate: " + date +
            b"\r\nMessage-ID: <thr%d@example.com>\r\n" % n + refs + b"\r\nbody\r\n")


class TestCompliance(ImapTestBase):
    def test_select_and_examine_response_codes(self):
        w = self.login()
        self.fresh_mailbox(w, "Codes")
        self.append(w, "Codes", SIMPLE)
        u, t = w.cmd("SELECT Codes")
        text = b"\n".join(u)
        # RFC 3501 6.3.1: FLAGS, EXISTS, RECENT and the OK codes; tagged [READ-WRITE].
        self.assertRegex(text, rb"\* FLAGS \(")
        self.assertRegex(text, rb"\* OK \[PERMANENTFLAGS \([^)]*\\\*\)\]")
        self.assertRegex(text, rb"\* OK \[UIDVALIDITY \d+\]")
        self.assertRegex(text, rb"\* OK \[UIDNEXT 2\]")
        self.assertRegex(text, rb"\* OK \[UNSEEN 1\]")
        self.assertIn(b"* 1 EXISTS", u)
        self.assertRegex(t, rb"^T\d+ OK \[READ-WRITE\]")
        u, t = w.cmd("EXAMINE Codes")
        self.assertRegex(t, rb"^T\d+ OK \[READ-ONLY\]")
        self.assertIn(b"* OK [PERMANENTFLAGS ()] Read-only mailbox", u)
        # A failed SELECT deselects (RFC 3501 6.3.1) and is a NO without TRYCREATE.
        u, t = w.cmd("SELECT NoSuchBox")
        self.assertRegex(t, rb"^T\d+ NO ")
        self.assertNotIn(b"TRYCREATE", t)
        _, t = w.cmd("FETCH 1 FLAGS")
        self.assertRegex(t, rb"^T\d+ BAD ")
        # APPEND and COPY to a missing mailbox: NO [TRYCREATE] (RFC 3501 6.3.11, 6.4.7).
        tag = w.tag()
        w.send("%s APPEND NoSuchBox {%d}\r\n" % (tag, len(SIMPLE)))
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send(SIMPLE + b"\r\n")
        _, t = w.until(tag)
        self.assertRegex(t, rb"^T\d+ NO \[TRYCREATE\]")
        w.cmd("SELECT Codes")
        _, t = w.cmd("COPY 1 NoSuchBox")
        self.assertRegex(t, rb"^T\d+ NO \[TRYCREATE\]")
        _, t = w.cmd("UID COPY 1 Codes")
        self.assertRegex(t, rb"^T\d+ OK \[COPYUID \d+ 1 2\]")
        _, t = w.cmd("STATUS NoSuchBox (MESSAGES)")
        self.assertRegex(t, rb"^T\d+ NO ")

    def test_delete_with_inferiors_keeps_noselect_parent(self):
        w = self.login()
        for n in ["Par/Kid", "Par"]:
            w.cmd("DELETE %s" % n)
        self.assertIn(b"OK", w.cmd("CREATE Par")[1])
        self.assertIn(b"OK", w.cmd("CREATE Par/Kid")[1])
        self.append(w, "Par", SIMPLE)
        # RFC 3501 6.3.4: DELETE removes the mailbox but not its inferiors ...
        _, t = w.cmd("DELETE Par")
        self.assertRegex(t, rb"^T\d+ OK ")
        u, _ = w.cmd('LIST "" "Par*"')
        par = [l for l in u if l.endswith(b' "Par"') or l.endswith(b" Par")]
        self.assertEqual(len(par), 1, u)
        self.assertIn(b"\\Noselect", par[0])
        self.assertIn(b"\\HasChildren", par[0])
        self.assertTrue(any(b"Par/Kid" in l for l in u), u)
        _, t = w.cmd("SELECT Par")
        self.assertRegex(t, rb"^T\d+ NO ")
        # ... and deleting the \Noselect name that has inferiors is an error.
        _, t = w.cmd("DELETE Par")
        self.assertRegex(t, rb"^T\d+ NO ")
        self.assertIn(b"inferior", t)
        # The inferior is intact, and the name can be created again (new UIDVALIDITY).
        u, t = w.cmd("SELECT Par/Kid")
        self.assertRegex(t, rb"OK \[READ-WRITE\]")
        self.assertIn(b"OK", w.cmd("CREATE Par")[1])
        u, _ = w.cmd("SELECT Par")
        self.assertIn(b"* 0 EXISTS", u)
        w.cmd("UNSELECT")
        self.assertIn(b"OK", w.cmd("DELETE Par/Kid")[1])
        self.assertIn(b"OK", w.cmd("DELETE Par")[1])

    def test_thread_references_merges_by_base_subject(self):
        w = self.login()
        self.fresh_mailbox(w, "Thr")
        msgs = [
            thread_msg(1, b"Lunch plans", b"Mon, 2 Nov 2026 10:00:00 +0000"),
            thread_msg(2, b"Budget", b"Mon, 2 Nov 2026 10:05:00 +0000"),
            # A reply whose client dropped References/In-Reply-To: joined by subject.
            thread_msg(3, b"Re: Lunch plans", b"Mon, 2 Nov 2026 10:10:00 +0000"),
            # A proper reply to 2.
            thread_msg(4, b"Re: Budget", b"Mon, 2 Nov 2026 10:20:00 +0000",
                       b"References: <thr2@example.com>\r\n"),
            # Two replies to a message that is not in the mailbox: a dummy parent.
            thread_msg(5, b"Re: Offsite", b"Mon, 2 Nov 2026 10:30:00 +0000",
                       b"In-Reply-To: <gone@example.com>\r\n"),
            thread_msg(6, b"Re: Offsite", b"Mon, 2 Nov 2026 10:40:00 +0000",
                       b"In-Reply-To: <gone@example.com>\r\n"),
            # Same subject as 1 but not a reply, arriving later: 1 stays the thread's root.
            thread_msg(7, b"[team] Lunch plans", b"Mon, 2 Nov 2026 10:50:00 +0000"),
        ]
        for m in msgs:
            self.append(w, "Thr", m)
        w.cmd("SELECT Thr")
        u, t = w.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertIn(b"OK", t)
        # 1 and 7 are both originals with the same base subject: a dummy holds them, with 3
        # (a reply, merged by subject) under the message in the subject table.
        self.assertEqual(u, [b"* THREAD ((1 3)(7))(2 4)((5)(6))"])
        u, _ = w.cmd("UID THREAD REFERENCES UTF-8 ALL")
        self.assertTrue(u[0].startswith(b"* THREAD ("))
        u, _ = w.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")
        self.assertEqual(u, [b"* THREAD (1 (3)(7))(2 4)(5 6)"])
        u, _ = w.cmd("SORT (SUBJECT) UTF-8 ALL")
        self.assertEqual(u, [b"* SORT 2 4 1 3 7 5 6"])

    def test_recent_is_claimed_once_also_across_restarts(self):
        m = make_server()
        try:
            m.seed_demo()
            m.start()
            a = Wire(m.port("imap"))
            self.assertIn(b"OK", a.cmd("LOGIN alice@example.com wonderland")[1])
            a.cmd("CREATE Rc")
            self.append(a, "Rc", SIMPLE)
            self.append(a, "Rc", SIMPLE)
            u, _ = a.cmd("EXAMINE Rc")  # EXAMINE shows \Recent but claims nothing
            self.assertIn(b"* 2 RECENT", u)
            u, _ = a.cmd("SELECT Rc")
            self.assertIn(b"* 2 RECENT", u)
            u, _ = a.cmd("FETCH 1 FLAGS")
            self.assertIn(b"\\Recent", u[0])
            b = Wire(m.port("imap"))
            b.cmd("LOGIN alice@example.com wonderland")
            # A message delivered while both have it selected is \Recent in exactly one.
            u, _ = b.cmd("SELECT Rc")
            self.assertIn(b"* 0 RECENT", u)
            self.append(b, "Rc", SIMPLE)  # b's APPEND reply announces it first: b claims it
            u, _ = b.cmd("FETCH 3 FLAGS")
            self.assertIn(b"\\Recent", u[0])
            ua, _ = a.cmd("NOOP")
            self.assertIn(b"* 3 EXISTS", ua)
            self.assertIn(b"* 2 RECENT", ua)
            u, _ = a.cmd("FETCH 3 FLAGS")
            self.assertNotIn(b"\\Recent", u[0])
            a.close()
            b.close()
            # Reconnect: nothing is \Recent any more.
            c = Wire(m.port("imap"))
            c.cmd("LOGIN alice@example.com wonderland")
            u, _ = c.cmd("SELECT Rc")
            self.assertIn(b"* 0 RECENT", u)
            u, _ = c.cmd("STATUS Rc (RECENT)")
            c.close()
            # ... also after a restart of the server.
            m.restart()
            d = Wire(m.port("imap"))
            d.cmd("LOGIN alice@example.com wonderland")
            u, _ = d.cmd("STATUS Rc (RECENT MESSAGES)")
            self.assertIn(b"RECENT 0", u[0])
            u, _ = d.cmd("SELECT Rc")
            self.assertIn(b"* 0 RECENT", u)
            # A mailbox deleted and created again is a new incarnation: its mail is \Recent.
            d.cmd("UNSELECT")
            d.cmd("DELETE Rc")
            d.cmd("CREATE Rc")
            self.append(d, "Rc", SIMPLE)
            u, _ = d.cmd("SELECT Rc")
            self.assertIn(b"* 1 RECENT", u)
            d.close()
        finally:
            m.close()

    def test_invalid_sequence_sets_and_arguments(self):
        w = self.login()
        self.fresh_mailbox(w, "Seq")
        for _ in range(3):
            self.append(w, "Seq", SIMPLE)
        w.cmd("SELECT Seq")
        for bad in ["0", "0:2", "1:0", "1,,2", ",1", "1:", "*:", "a", "1:2:3", "4294967296",
                    "-1", "1.5"]:
            _, t = w.cmd("FETCH %s FLAGS" % bad)
            self.assertRegex(t, rb"^T\d+ BAD ", bad)
        # Explicit numbers above EXISTS are an error for sequence numbers, ignored for UIDs.
        _, t = w.cmd("FETCH 4 FLAGS")
        self.assertRegex(t, rb"^T\d+ BAD ")
        u, t = w.cmd("UID FETCH 100:200 FLAGS")
        self.assertRegex(t, rb"^T\d+ OK ")
        # Ranges in any order, "*" anywhere.
        u, _ = w.cmd("FETCH 3:2 FLAGS")
        self.assertEqual(len(u), 2)
        u, _ = w.cmd("FETCH *:1 FLAGS")
        self.assertEqual(len(u), 3)
        # A fresh session: 20 BAD answers end a session (max_bad_commands).
        w = self.login()
        w.cmd("SELECT Seq")
        for bad in ["FETCH 1 (FLAGS", "FETCH 1 BOGUS", "STORE 1 +FLAGS (\\Bogus)", "SEARCH BOGUS",
                    "FETCH 1 BODY[1.0]", "FETCH 1 BODY[HEADER.FIELDS ()]", "UID FROB 1",
                    "SELECT", "LOGIN a", "FETCH 1 FLAGS extra"]:
            _, t = w.cmd(bad)
            self.assertRegex(t, rb"^T\d+ BAD ", bad)
        self.assertIn(b"OK", w.cmd("NOOP")[1])

    def test_bad_mailbox_names(self):
        w = self.login()
        cases = ["..", "a/..", "../x", ".", "a/./b", "&", "&-x&", "&Jjo", "&Jjo!", "&AGEAYQ-",
                 "/lead", "a//b"]
        for bad in cases:
            for cmd in ("CREATE %s", "SELECT %s", "DELETE %s", "RENAME INBOX/x %s"):
                _, t = w.cmd(cmd % mime_quote(bad))
                self.assertRegex(t, rb"^T\d+ (NO|BAD) ", (cmd, bad))
        # NUL in a literal mailbox name: refused precisely, session continues.
        tag = w.tag()
        w.send("%s CREATE {3}\r\n" % tag)
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send(b"a\x00b\r\n")
        _, t = w.until(tag)
        self.assertRegex(t, rb"^T\d+ (NO|BAD) ")
        self.assertIn(b"OK", w.cmd("NOOP")[1])
        u, _ = w.cmd('LIST "" "*"')
        self.assertFalse(any(b".." in l for l in u), u)

    def test_line_without_crlf_and_oversized_literal(self):
        w = self.login()
        # A bare LF ends a command line too (tolerated), and the session goes on.
        w.send(b"L1 NOOP\n")
        self.assertRegex(w.read_response_line(), rb"^L1 (OK|BAD)")
        # A literal above the limit for a non-synchronizing APPEND closes the session (the
        # client is already sending it); a synchronizing one is refused before any data.
        w.send(b"L2 APPEND INBOX {100000000000}\r\n")
        self.assertEqual(w.read_response_line(), b"L2 BAD [TOOBIG] Literal too large")
        self.assertIn(b"OK", w.cmd("NOOP")[1])
        # A command line within the limit but whose literal count is absurd.
        w.send(b"L3 LOGIN {99999999999999999999999}\r\n")
        self.assertRegex(w.read_response_line(), rb"^L3 BAD ")
        self.assertIn(b"OK", w.cmd("NOOP")[1])


def mime_quote(name):
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


if __name__ == "__main__":
    unittest.main()
