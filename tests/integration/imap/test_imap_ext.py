"""Issue 20's IMAP extensions against a real mailroomd over TLS (port imaps), with Python's
imaplib: MULTIAPPEND (RFC 3502), REPLACE (RFC 8508), SAVEDATE (RFC 8514),
OBJECTID (RFC 8474). imaplib has no verb for these, so the commands go through
its _command() with LITERAL+ literals inline; a second connection checks what another
session sees."""
import datetime
import imaplib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase  # noqa: E402

imaplib.Commands.setdefault("REPLACE", ("SELECTED",))  # RFC 8508, unknown to imaplib


def message(subject, body=b"body"):
    return (b"From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <" + subject + b"@remote.example>\r\n\r\n"
            + body + b"\r\n")


def literal(data):
    return b"{%d+}\r\n" % len(data) + data


class ExtBase(ServerCase):
    port_name = "imaps"

    def connect(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.m.ssl_context())
        c.login("alice@example.com", "wonderland")
        self.addCleanup(self._logout, c)
        return c

    @staticmethod
    def _logout(c):
        try:
            c.logout()
        except Exception:
            pass

    def command(self, c, name, *args):
        """(typ, tagged text) of a command imaplib cannot spell itself."""
        tag = c._command(name, *args)
        typ, data = c._command_complete(name, tag)
        return typ, data[-1] if data else b""

    def fresh(self, c, name):
        c.delete(name)
        typ, _ = c.create(name)
        self.assertEqual(typ, "OK")


class TestMultiappend(ExtBase):
    def test_multiappend_all_or_nothing_and_seen_by_another_session(self):
        a = self.connect()
        b = self.connect()
        self.fresh(a, "Multi")
        self.assertIn(b"MULTIAPPEND", a.capability()[1][0])
        typ, data = b.select("Multi")
        self.assertEqual((typ, data[0]), ("OK", b"0"))
        b.response("EXISTS")  # imaplib keeps SELECT's; response() takes them
        msgs = [message(b"one"), message(b"two"), message(b"three")]
        args = b"(\\Seen) " + literal(msgs[0]) + b" " + literal(msgs[1]) + b" " + literal(msgs[2])
        typ, text = self.command(a, "APPEND", "Multi", args)
        self.assertEqual(typ, "OK", text)
        m = re.match(rb"\[APPENDUID (\d+) (\d+):(\d+)\]", text)
        self.assertIsNotNone(m, text)
        self.assertEqual(int(m.group(3)) - int(m.group(2)), 2)
        # The other session is told of all three at once.
        b.noop()
        self.assertEqual(b.response("EXISTS"), ("EXISTS", [b"3"]))
        typ, data = b.fetch("1:3", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual([s.strip() for s in subjects],
                         [b"Subject: one", b"Subject: two", b"Subject: three"])
        # An empty second message: NO, and nothing of the batch is added.
        typ, text = self.command(a, "APPEND", "Multi",
                                 literal(msgs[0]) + b" " + literal(b"") + b" " + literal(msgs[1]))
        self.assertEqual(typ, "NO", text)
        b.noop()
        typ, data = a.status("Multi", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        # A missing mailbox: NO [TRYCREATE], the connection goes on.
        typ, text = self.command(a, "APPEND", "NoSuchBox", literal(msgs[0]) + b" " + literal(msgs[1]))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", text)
        self.assertEqual(a.noop()[0], "OK")


class TestReplace(ExtBase):
    def test_replace_a_draft_seen_by_another_session(self):
        a = self.connect()
        b = self.connect()
        self.fresh(a, "RDrafts")
        self.assertIn(b"REPLACE", a.capability()[1][0])
        typ, data = a.append("RDrafts", "(\\Draft)", None, message(b"draft-1"))
        self.assertEqual(typ, "OK")
        a.select("RDrafts")
        b.select("RDrafts")
        b.response("EXISTS")
        typ, text = self.command(a, "REPLACE", "1", "RDrafts",
                                 b"(\\Draft) " + literal(message(b"draft-2")))
        self.assertEqual(typ, "OK", text)
        self.assertEqual(text, b"REPLACE completed")
        # RFC 8508 3.3: APPENDUID in an untagged OK before the tagged one.
        codes = a.untagged_responses.get("OK", [])
        self.assertTrue(any(re.match(rb"\[APPENDUID \d+ 2\]", c) for c in codes), codes)
        b.noop()
        self.assertEqual(b.response("EXPUNGE"), ("EXPUNGE", [b"1"]))
        typ, data = b.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        fetched = [d for d in data if isinstance(d, tuple)]
        self.assertEqual(len(fetched), 1, data)
        self.assertIn(b"UID 2", fetched[0][0])
        self.assertEqual(fetched[0][1].strip(), b"Subject: draft-2")
        # A UID that is not there: NO, nothing appended; bad syntax: BAD, the session lives.
        typ, text = self.command(a, "UID", "REPLACE", "99", "RDrafts", literal(message(b"x")))
        self.assertEqual(typ, "NO", text)
        with self.assertRaises(imaplib.IMAP4.error):
            self.command(a, "REPLACE", "1:2", "RDrafts", literal(message(b"x")))
        typ, data = a.status("RDrafts", "(MESSAGES UIDNEXT)")
        self.assertIn(b"MESSAGES 1 UIDNEXT 3", data[0])


def imap_date(d):
    return "%d-%s-%d" % (d.day, ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                 "Oct", "Nov", "Dec")[d.month - 1], d.year)


class TestSavedate(ExtBase):
    def test_savedate_fetch_search_and_copy(self):
        a = self.connect()
        self.fresh(a, "Saved")
        self.fresh(a, "SavedCopy")
        self.assertIn(b"SAVEDATE", a.capability()[1][0])
        # An old internal date: the save date is still the time of the APPEND.
        self.assertEqual(a.append("Saved", None, '"01-Jan-2000 00:00:00 +0000"', message(b"s1"))[0],
                         "OK")
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        a.select("Saved")
        typ, data = a.fetch("1", "(INTERNALDATE SAVEDATE)")
        m = re.search(rb'SAVEDATE "([^"]+)"', data[0])
        self.assertIsNotNone(m, data)
        saved = datetime.datetime.strptime(m.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
        after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        self.assertTrue(before - datetime.timedelta(minutes=5) <= saved <= after, (saved, before))
        self.assertIn(b'INTERNALDATE "01-Jan-2000', data[0])
        yesterday = imap_date((saved - datetime.timedelta(days=1)).date())
        typ, data = a.search(None, "SAVEDSINCE", yesterday)
        self.assertEqual(data, [b"1"])
        typ, data = a.search(None, "SAVEDBEFORE", yesterday)
        self.assertEqual(data, [b""])
        typ, data = a.search(None, "SAVEDATESUPPORTED")
        self.assertEqual(data, [b"1"])
        # A copy has its own save date, seen by another session in the destination.
        typ, data = a.copy("1", "SavedCopy")
        self.assertEqual(typ, "OK")
        b = self.connect()
        b.select("SavedCopy", readonly=True)
        typ, data = b.fetch("1", "(SAVEDATE)")
        self.assertRegex(data[0], rb'SAVEDATE "\d\d-\w{3}-\d{4} [0-9:]{8} \+0000"')
        # Bad syntax: BAD (imaplib raises), the session goes on.
        with self.assertRaises(imaplib.IMAP4.error):
            a.search(None, "SAVEDON", "notadate")
        self.assertEqual(a.noop()[0], "OK")


class TestObjectid(ExtBase):
    def test_mailboxid_and_emailid(self):
        a = self.connect()
        a.delete("ObjA")
        a.delete("ObjB")
        self.assertIn(b"OBJECTID", a.capability()[1][0])
        typ, data = a.create("ObjA")
        self.assertEqual(typ, "OK")
        m = re.match(rb"\[MAILBOXID \((F[0-9a-f]{32})\)\]", data[0])
        self.assertIsNotNone(m, data)
        mailbox_id = m.group(1)
        typ, data = a.rename("ObjA", "ObjB")
        self.assertEqual(typ, "OK")
        typ, data = a.status("ObjB", "(MAILBOXID)")
        self.assertIn(b"MAILBOXID (" + mailbox_id + b")", data[0])
        self.assertEqual(a.append("ObjB", None, None, message(b"obj"))[0], "OK")
        a.select("ObjB")
        # imaplib files a response code's data under its name.
        self.assertEqual(a.response("MAILBOXID"), ("MAILBOXID", [b"(" + mailbox_id + b")"]))
        typ, data = a.fetch("1", "(EMAILID THREADID)")
        m = re.search(rb"EMAILID \((M[0-9a-f]{32})\) THREADID \((T[0-9a-f]+)\)", data[0])
        self.assertIsNotNone(m, data)
        email_id = m.group(1)
        # The copy in another mailbox, seen by another session, has the same EMAILID.
        self.assertEqual(a.copy("1", "INBOX")[0], "OK")
        b = self.connect()
        b.select("INBOX", readonly=True)
        typ, data = b.search(None, "EMAILID", email_id.decode())
        self.assertEqual(len(data[0].split()), 1, data)
        typ, data = b.fetch(data[0], "(EMAILID)")
        self.assertIn(b"EMAILID (" + email_id + b")", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            b.search(None, "EMAILID", "not.an.id")
        self.assertEqual(b.noop()[0], "OK")


if __name__ == "__main__":
    unittest.main()
