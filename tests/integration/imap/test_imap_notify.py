"""NOTIFY (RFC 5465) against a real mailroomd over TLS (imaps), two real connections: one
changes (imaplib), the other is told without sending a command (the raw wire): EXISTS and
MessageNew's FETCH for its selected mailbox, STATUS for another mailbox, LIST for a mailbox
created, and STATUS for another user's shared folder (ACL "lr"). One server for the module."""
import imaplib
import os
import ssl
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


    def test_metadata_events(self):
        # RFC 5465 5.6, 5.7: another connection's SETMETADATA reaches the NOTIFY session as an
        # unsolicited METADATA with the entry names (RFC 5464 4.4.2), without a command.
        a = self.wire("LOGIN alice wonderland")
        _, tagged = a.cmd("CREATE Notes")
        self.assertIn(b" OK", tagged)
        w = self.wire("LOGIN alice wonderland")
        _, tagged = w.cmd("NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))")
        self.assertIn(b" OK", tagged)
        _, tagged = a.cmd('SETMETADATA Notes (/private/comment "hi")')
        self.assertIn(b" OK", tagged)
        line, _ = self.wait_for(w, b"* METADATA")
        self.assertEqual(line, b'* METADATA "Notes" /private/comment')
        _, tagged = a.cmd('SETMETADATA "" (/private/vendor/acme/x "1")')
        self.assertIn(b" OK", tagged)
        line, _ = self.wait_for(w, b"* METADATA")
        self.assertEqual(line, b'* METADATA "" /private/vendor/acme/x')

    def test_bye_between_commands_closes_the_connection_at_once(self):
        # The selected mailbox is deleted and created again under the session: the NOTIFY loop
        # sends BYE between commands and the server closes the connection then, not at the
        # client's next line (the client here sends nothing more).
        a = self.imaplib_login(ALICE, "wonderland")
        self.assertEqual(a.create("Doomed")[0], "OK")
        w = self.wire("LOGIN alice wonderland")
        _, tagged = w.cmd("SELECT Doomed")
        self.assertIn(b" OK", tagged)
        _, tagged = w.cmd("NOTIFY SET (selected (MessageNew MessageExpunge))")
        self.assertIn(b" OK", tagged)
        self.assertEqual(a.delete("Doomed")[0], "OK")
        self.assertEqual(a.create("Doomed")[0], "OK")
        self.assertEqual(a.append("Doomed", None, None, MESSAGE % b"new")[0], "OK")
        line, _ = self.wait_for(w, b"* BYE")
        self.assertIn(b"deleted and created again", line)
        w.sock.settimeout(10)  # before the fix: no end until the client's next line
        try:
            rest = w.sock.recv(1024)
        except (ssl.SSLError, ConnectionResetError):
            rest = b""
        self.assertEqual(rest, b"")


if __name__ == "__main__":
    unittest.main()
