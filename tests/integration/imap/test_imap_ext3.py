"""Issue 20's next IMAP extensions against a real mailroomd over TLS (port imaps), on the wire
(imapwire.Wire; imaplib knows neither CATENATE nor ESEARCH updates): CATENATE (RFC 4469) with
IMAP URLs (RFC 5092); CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267 4) with updates during IDLE;
SORT=DISPLAY (RFC 5957).
One server for the module's tests."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_imap_ext2  # noqa: E402
from imapwire import ServerCase  # noqa: E402

MULTIPART = (b"From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
             b"--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n")
PLAIN = b"From: b@example.com\r\nSubject: plain\r\n\r\nhello\r\n"


def literal(data, sync=False):
    return b"{%d%s}\r\n" % (len(data), b"" if sync else b"+") + data


class Ext3(ServerCase):
    port_name = "imaps"

    wire = test_imap_ext2.Ext2.wire  # a logged-in Wire, the mailbox created afresh

    def body(self, w, mailbox, uid):
        w.cmd("EXAMINE " + mailbox)
        untagged, _ = w.cmd("UID FETCH %d BODY.PEEK[]" % uid)
        m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", untagged[0])
        self.assertIsNotNone(m, untagged)
        start = m.end()
        return untagged[0][start:start + int(m.group(1))]

    def test_catenate(self):
        w = self.wire("Cat")
        self.wire("CatOut")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" CATENATE", untagged[0])
        _, tagged = w.cmd(b"APPEND Cat " + literal(MULTIPART))
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 1\]")
        _, tagged = w.cmd(b"APPEND Cat " + literal(PLAIN))
        validity = re.search(rb"APPENDUID (\d+) 2\]", tagged).group(1).decode()
        # TEXT (synchronizing: a continuation first), a part by absolute path, a whole message
        # by a network URL naming the address the client connected to, a partial section.
        head = b"Subject: built\r\nContent-Type: text/plain\r\n\r\n"
        w.send(b"C1 APPEND CatOut (\\Seen) CATENATE (TEXT {%d}\r\n" % len(head))
        self.assertTrue(w.read_response_line().startswith(b"+ "))
        w.send(head + b" URL \"/Cat;UIDVALIDITY=" + validity.encode() + b"/;UID=1/;SECTION=2\""
               b" URL \"imap://alice%40example.com@127.0.0.1/Cat/;UID=2/;SECTION=TEXT\""
               b" URL /Cat/;UID=1/;SECTION=1/;PARTIAL=0.5)\r\n")
        _, tagged = w.until("C1")
        self.assertRegex(tagged, rb"^C1 OK \[APPENDUID \d+ 1\]")
        self.assertEqual(self.body(w, "CatOut", 1), head + b"second part" + b"hello\r\n" + b"first")
        # Each bad URL: NO [BADURL url], nothing stored, the session goes on.
        bad = [
            "/Cat;UIDVALIDITY=%d/;UID=1" % (int(validity) + 1),  # wrong UIDVALIDITY
            "/Cat/;UID=9",                                        # no such message
            "/Cat/;UID=1/;SECTION=7",                             # no such part
            "/Nowhere/;UID=1",                                    # no such mailbox
            "imap://bob@127.0.0.1/Cat/;UID=1",                    # another user
            "imap://alice%40example.com@mail.elsewhere.example/Cat/;UID=1",  # another server
            "/Cat/;UID=1/;URLAUTH=anonymous:internal:00",         # no URLAUTH
        ]
        for url in bad:
            _, tagged = w.cmd(b"APPEND CatOut " + literal(PLAIN) +
                              b" CATENATE (TEXT " + literal(b"x") + b" URL \"" + url.encode() +
                              b"\")")
            self.assertRegex(tagged, rb"^T\d+ NO \[BADURL " + re.escape(url.encode()) + rb"\] ")
        # An expunged message (MULTIAPPEND: the plain message before it is not stored either).
        w.cmd("SELECT Cat")
        w.cmd("UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        w.cmd("EXPUNGE")
        _, tagged = w.cmd(b"APPEND CatOut " + literal(PLAIN) + b" CATENATE (URL \";UID=2\")")
        self.assertRegex(tagged, rb"^T\d+ NO \[BADURL ;UID=2\] ")
        # Bad syntax: BAD, and the session lives on.
        _, tagged = w.cmd("APPEND CatOut CATENATE (FOO bar)")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        _, tagged = w.cmd("APPEND CatOut CATENATE ()")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        untagged, tagged = w.cmd("STATUS CatOut (MESSAGES)")
        self.assertIn(b"(MESSAGES 1)", untagged[0])
        # MULTIAPPEND with CATENATE: all stored, APPENDUID with a set.
        _, tagged = w.cmd(b"APPEND CatOut CATENATE (URL \";UID=1\") " + literal(PLAIN) +
                          b" CATENATE (TEXT " + literal(PLAIN) + b")")
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 2:4\]")
        self.assertEqual(self.body(w, "CatOut", 2), MULTIPART)

    def test_sort_display(self):
        w = self.wire("Disp")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" SORT=DISPLAY", untagged[0])
        # (From, To): mailboxes and display names sort in opposite orders.
        for sender, to in [(b"\"Zoe Adams\" <adams@example.com>", b"x@example.com"),
                           (b"=?UTF-8?Q?Bea_Zimmer?= <zimmer@example.com>", b"Quinn <a@example.com>"),
                           (b"mike@example.com", b"")]:
            message = b"From: " + sender + b"\r\n" + (b"To: " + to + b"\r\n" if to else b"") + \
                b"Subject: d\r\n\r\nhi\r\n"
            _, tagged = w.cmd(b"APPEND Disp " + literal(message))
            self.assertIn(b" OK ", tagged)
        w.cmd("SELECT Disp")
        untagged, _ = w.cmd("SORT (FROM) UTF-8 ALL")
        self.assertEqual(untagged, [b"* SORT 1 3 2"])
        untagged, _ = w.cmd("SORT (DISPLAYFROM) UTF-8 ALL")
        self.assertEqual(untagged, [b"* SORT 2 3 1"])
        untagged, _ = w.cmd("UID SORT (REVERSE DISPLAYTO) UTF-8 ALL")
        self.assertEqual(untagged, [b"* SORT 1 2 3"])  # x@example.com, Quinn, "" (no To)
        _, tagged = w.cmd("SORT (DISPLAYCC) UTF-8 ALL")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        untagged, _ = w.cmd("NOOP")
        self.assertEqual(untagged, [])

    def test_context_updates_during_idle(self):
        w = self.wire("Ctx")
        other = self.wire()
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" CONTEXT=SEARCH", untagged[0])
        self.assertIn(b" CONTEXT=SORT", untagged[0])
        for subject in (b"c", b"a", b"b"):
            msg = PLAIN.replace(b"Subject: plain", b"Subject: " + subject)
            _, tagged = w.cmd(b"APPEND Ctx " + literal(msg))
            self.assertRegex(tagged, rb"OK \[APPENDUID")
        w.cmd("SELECT Ctx")
        untagged, _ = w.cmd("UID SORT RETURN (PARTIAL 1:2) (SUBJECT) UTF-8 ALL", tag="P1")
        self.assertEqual(untagged, [b'* ESEARCH (TAG "P1") UID PARTIAL (1:2 2:3)'])
        untagged, tagged = w.cmd("SEARCH RETURN (UPDATE) ALL", tag="N1")
        self.assertIn(b'* NO [NOUPDATE "N1"]', b"\n".join(untagged))
        self.assertRegex(tagged, rb"^N1 OK")
        w.cmd("UID SEARCH RETURN (UPDATE) UNSEEN", tag="U1")
        w.cmd("UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL", tag="S1")
        # IDLE: another session's message reaches both contexts without more input.
        w.send(b"I1 IDLE\r\n")
        self.assertTrue(w.read_response_line().startswith(b"+ "))
        msg = PLAIN.replace(b"Subject: plain", b"Subject: bb")
        _, tagged = other.cmd(b"APPEND Ctx " + literal(msg))
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 4\]")
        seen = []
        while not any(line.startswith(b'* ESEARCH (TAG "S1")') for line in seen):
            seen.append(w.read_response_line())
        self.assertIn(b"* 4 EXISTS", seen)
        self.assertIn(b'* ESEARCH (TAG "U1") UID ADDTO (0 4)', seen)
        self.assertIn(b'* ESEARCH (TAG "S1") UID ADDTO (3 4)', seen)  # a b bb c
        w.send(b"DONE\r\n")
        _, tagged = w.until("I1")
        self.assertRegex(tagged, rb"^I1 OK")
        # Another session's flag change and expunge, reported after NOOP.
        other.cmd("SELECT Ctx")
        other.cmd("UID STORE 4 +FLAGS.SILENT (\\Seen)")
        other.cmd("UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        other.cmd("EXPUNGE")
        untagged, _ = w.cmd("NOOP")
        self.assertIn(b'* ESEARCH (TAG "U1") UID REMOVEFROM (0 2,4)', untagged)
        self.assertIn(b'* ESEARCH (TAG "S1") UID REMOVEFROM (1 2)', untagged)
        _, tagged = w.cmd('CANCELUPDATE "U1" "S1"')
        self.assertRegex(tagged, rb"^T\d+ OK")
        _, tagged = w.cmd('CANCELUPDATE "U1"')
        self.assertRegex(tagged, rb"^T\d+ BAD")
        other.cmd(b"APPEND Ctx " + literal(PLAIN))
        untagged, _ = w.cmd("NOOP")
        self.assertFalse([line for line in untagged if line.startswith(b"* ESEARCH")], untagged)


if __name__ == "__main__":
    unittest.main()
