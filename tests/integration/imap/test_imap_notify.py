"""NOTIFY (RFC 5465) against a real mailroomd over TLS (imaps), two real connections: one
changes (imaplib), the other is told without sending a command (the raw wire): EXISTS and
MessageNew's FETCH for its selected mailbox, STATUS for another mailbox, LIST for a mailbox
created, and STATUS for another user's shared folder (ACL "lr"). One server for the module."""
import imaplib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402

MESSAGE = b"From: carol@partner.example\r\nSubject: %s\r\n\r\nbody\r\n"
ALICE = "alice@example.com"


class NotifyTest(ServerCase):
    port_name = "imaps"

    def imaplib_login(self, user, password):
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.m.ssl_context())
        self.assertEqual(imap.login(user, password)[0], "OK")
        self.addCleanup(imap.logout)
        return imap

    def wire(self, login):
        w = Wire(self.port, tls_context=self.m.ssl_context())
        self.addCleanup(w.close)
        _, tagged = w.cmd(login)
        self.assertIn(b" OK", tagged)
        return w

    @staticmethod
    def wait_for(w, prefix):
        """Reads unsolicited responses (no command sent) until one starts with `prefix`; the
        socket's timeout ends a wait for something that never comes."""
        seen = []
        while True:
            line = w.read_response_line()
            seen.append(line)
            if line.startswith(prefix):
                return line, seen

    def test_two_connections(self):
        a = self.imaplib_login(ALICE, "wonderland")
        self.assertEqual(a.create("Work")[0], "OK")
        w = self.wire("LOGIN alice wonderland")
        untagged, tagged = w.cmd("CAPABILITY")
        self.assertIn(b" NOTIFY", untagged[0])
        untagged, tagged = w.cmd("SELECT INBOX")
        self.assertIn(b" OK", tagged)
        n = 1 + int([u for u in untagged if u.endswith(b" EXISTS")][0].split()[1])
        _, tagged = w.cmd("NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS "
                          "(SUBJECT)]) MessageExpunge)) (personal (MessageNew MessageExpunge "
                          "MailboxName))")
        self.assertIn(b" OK", tagged)
        self.assertEqual(a.append("INBOX", None, None, MESSAGE % b"pushed")[0], "OK")
        line, seen = self.wait_for(w, b"* %d FETCH" % n)
        self.assertIn(b"* %d EXISTS" % n, seen)
        self.assertIn(b" BODY[HEADER.FIELDS (SUBJECT)]", line)
        self.assertIn(b"Subject: pushed", line)
        self.assertEqual(a.append("Work", None, None, MESSAGE % b"work")[0], "OK")
        line, _ = self.wait_for(w, b'* STATUS "Work"')
        self.assertIn(b"MESSAGES 1 UIDNEXT 2", line)
        self.assertEqual(a.create("Fresh")[0], "OK")
        line, _ = self.wait_for(w, b"* LIST")
        self.assertEqual(line, b'* LIST () "/" "Fresh"')
        # Unknown events: NO [BADEVENT], the session and its NOTIFY go on.
        _, tagged = w.cmd("NOTIFY SET (personal (MessageNew MessageExpunge Bogus))")
        self.assertIn(b"NO [BADEVENT (", tagged)
        _, tagged = w.cmd("NOTIFY NONE")
        self.assertIn(b" OK", tagged)

    def test_shared_folder_needs_rights(self):
        a = self.imaplib_login(ALICE, "wonderland")
        for name in ("Team", "Private"):
            self.assertEqual(a.create(name)[0], "OK")
        self.assertEqual(a.setacl("Team", "bob@example.com", "lr")[0], "OK")
        w = self.wire("LOGIN bob builder")
        _, tagged = w.cmd('NOTIFY SET (mailboxes ("Other Users/alice@example.com/Team" '
                          '"Other Users/alice@example.com/Private") (MessageNew MessageExpunge))')
        self.assertIn(b" OK", tagged)
        # Private first: bob has no right there, so nothing may come of it.
        self.assertEqual(a.append("Private", None, None, MESSAGE % b"secret")[0], "OK")
        self.assertEqual(a.append("Team", None, None, MESSAGE % b"team")[0], "OK")
        line, seen = self.wait_for(w, b"* STATUS")
        self.assertEqual(len(seen), 1, seen)
        self.assertTrue(line.startswith(
            b'* STATUS "Other Users/alice@example.com/Team" (MESSAGES 1 UIDNEXT 2'), line)


if __name__ == "__main__":
    unittest.main()
