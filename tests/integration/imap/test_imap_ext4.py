"""Issue 20's METADATA (RFC 5464) and LIST-METADATA (RFC 9590) against a real mailroomd over TLS
(port imaps), with imaplib for the plain commands and the raw wire (imapwire.Wire) where
imaplib falls short (literal8 values with NUL, LONGENTRIES). One server for the module; one
restart shows the annotations are in the store's index, not in the process. The same server
carries the IMAP4rev2 (RFC 9051) session test: ENABLE IMAP4rev2 over TLS on the raw wire, next
to a rev1 session of the same user."""
import imaplib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mailroom  # noqa: E402
import test_imap_ext2  # noqa: E402

# imaplib refuses commands it does not know; these two are valid when authenticated.
imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))

ADMIN = "mailto:postmaster@example.com"
CONFIG = ('[imap]\nmetadata_admin = "%s"\nmetadata_comment = "Mailroom metadata test"\n'
          'metadata_max_value = 2048\nmetadata_max_entries = 40\n' % ADMIN)


class Ext4(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom(extra_config=CONFIG)
        cls.m.seed_demo()
        cls.m.start()
        cls.port = cls.m.port("imaps")

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    wire = test_imap_ext2.Ext2.wire  # a logged-in Wire, the mailbox created afresh

    def imaplib(self):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                              ssl_context=self.m.ssl_context())
        self.addCleanup(c.logout)
        c.login("alice@example.com", "wonderland")
        return c

    def test_capability_and_server_entries(self):
        c = self.imaplib()
        self.assertNotIn("METADATA", c.capabilities)  # before login
        typ, data = c.capability()
        self.assertEqual(typ, "OK")
        caps = data[0].split()
        for cap in (b"METADATA", b"METADATA-SERVER", b"LIST-METADATA"):
            self.assertIn(cap, caps)
        typ, data = c._simple_command("GETMETADATA", '""', "(/shared/admin /shared/comment)")
        self.assertEqual(typ, "OK")
        _, resp = c._untagged_response(typ, data, "METADATA")
        self.assertIn(b'/shared/admin "%s"' % ADMIN.encode(), resp[0])
        self.assertIn(b'/shared/comment "Mailroom metadata test"', resp[0])
        # The server's /shared entries are the administrator's.
        typ, data = c._simple_command("SETMETADATA", '""', '(/shared/comment "mine")')
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[NOPERM]"), data)
        # A bad entry name is BAD (imaplib raises for BAD).
        with self.assertRaises(imaplib.IMAP4.error):
            c._simple_command("GETMETADATA", '""', "/shared//admin")

    def test_values_depth_limits_rename_delete_restart(self):
        w = self.wire("Meta")
        w.cmd("DELETE Renamed")
        _, tagged = w.cmd('SETMETADATA Meta (/shared/comment "team" /private/comment "mine" '
                          '/private/vendor/mailroom/color "#ff0000")')
        self.assertRegex(tagged, rb"^T\d+ OK ")
        # literal8 with NUL, non-synchronizing.
        binary = b"\x00\x01\xff\r\nend"
        _, tagged = w.cmd(b"SETMETADATA Meta (/private/vendor/mailroom/bin ~{%d+}\r\n" %
                          len(binary) + binary + b")")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        untagged, _ = w.cmd("GETMETADATA Meta /private/vendor/mailroom/bin")
        self.assertEqual(untagged[0], b'* METADATA "Meta" (/private/vendor/mailroom/bin ~{%d}\r\n'
                         % len(binary) + binary + b")")
        untagged, tagged = w.cmd("GETMETADATA (DEPTH infinity MAXSIZE 5) Meta /private")
        self.assertRegex(tagged, rb"^T\d+ BAD ")  # "/private" alone names no entry
        untagged, tagged = w.cmd("GETMETADATA (DEPTH infinity MAXSIZE 5) Meta /private/vendor")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        untagged, tagged = w.cmd("GETMETADATA (DEPTH 1 MAXSIZE 5) Meta /private/vendor/mailroom")
        self.assertEqual(untagged, [])  # both values are longer than 5 octets
        self.assertRegex(tagged, rb"^T\d+ OK \[METADATA LONGENTRIES 8\] ")
        # Limits: too large a value, then too many entries; each refuses the whole command.
        _, tagged = w.cmd(b'SETMETADATA Meta (/shared/comment "changed" '
                          b'/shared/vendor/mailroom/big {2049+}\r\n' + b"b" * 2049 + b")")
        self.assertRegex(tagged, rb"^T\d+ NO \[METADATA MAXSIZE 2048\] ")
        many = " ".join('/shared/vendor/mailroom/n%d "x"' % i for i in range(40))
        _, tagged = w.cmd('SETMETADATA Meta (/shared/comment "changed" ' + many + ")")
        self.assertRegex(tagged, rb"^T\d+ NO \[METADATA TOOMANY\] ")
        _, tagged = w.cmd('SETMETADATA Meta (/shared/comm*nt "x")')
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        untagged, _ = w.cmd("GETMETADATA Meta /shared/comment")
        self.assertEqual(untagged, [b'* METADATA "Meta" (/shared/comment "team")'])
        # LIST-METADATA (RFC 9590): after each mailbox's LIST response.
        untagged, tagged = w.cmd('LIST "" "Meta" RETURN (METADATA (/shared/comment '
                                 '/private/specialuse))')
        self.assertRegex(tagged, rb"^T\d+ OK ")
        self.assertEqual(untagged[1], b'* METADATA "Meta" (/shared/comment "team" '
                                      b"/private/specialuse NIL)")
        untagged, _ = w.cmd('LIST "" "Sent" RETURN (METADATA (/private/specialuse))')
        self.assertEqual(untagged[1], b'* METADATA "Sent" (/private/specialuse "\\\\Sent")')
        # Kept by RENAME, and across a restart of the server (the store's index).
        _, tagged = w.cmd("RENAME Meta Renamed")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        w.close()
        self.m.restart()
        type(self).port = self.m.port("imaps")
        w = self.wire()
        untagged, _ = w.cmd("GETMETADATA Renamed (/shared/comment /private/comment)")
        self.assertEqual(untagged, [b'* METADATA "Renamed" (/shared/comment "team" '
                                    b'/private/comment "mine")'])
        # Gone with DELETE: a new mailbox of the same name starts with none.
        w.cmd("DELETE Renamed")
        w.cmd("CREATE Renamed")
        untagged, _ = w.cmd("GETMETADATA Renamed /shared/comment")
        self.assertEqual(untagged, [b'* METADATA "Renamed" (/shared/comment NIL)'])
        w.cmd("DELETE Renamed")

    def test_rev2_session_next_to_rev1(self):
        box = "R\u00e9union".encode()
        w = self.wire()
        w.cmd(b"DELETE " + box)
        w.cmd(b"DELETE " + box + b"2")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" IMAP4rev1 IMAP4rev2 ", untagged[0])
        untagged, _ = w.cmd("ENABLE IMAP4rev2")
        self.assertEqual(untagged, [b"* ENABLED IMAP4rev2"])
        # Mailbox names are UTF-8 both ways (RFC 9051 5.1).
        _, tagged = w.cmd(b'CREATE "' + box + b'"')
        self.assertRegex(tagged, rb"^T\d+ OK ")
        for subject in (b"one", b"two"):
            msg = b"Subject: " + subject + b"\r\n\r\nbody\r\n"
            _, tagged = w.cmd(b'APPEND "' + box + b'" {%d+}\r\n' % len(msg) + msg)
            self.assertRegex(tagged, rb"^T\d+ OK \[APPENDUID ")
        untagged, tagged = w.cmd(b'SELECT "' + box + b'"')
        self.assertRegex(tagged, rb"^T\d+ OK \[READ-WRITE\] ")
        self.assertIn(b'* LIST (\\HasNoChildren) "/" "' + box + b'"', untagged)
        self.assertFalse([u for u in untagged if b"RECENT" in u or b"[UNSEEN" in u], untagged)
        untagged, _ = w.cmd("SEARCH UNSEEN")
        self.assertRegex(untagged[0], rb'^\* ESEARCH \(TAG "T\d+"\) ALL 1:2$')
        # SEARCHRES: SAVE answers nothing, "$" is the saved result.
        untagged, tagged = w.cmd("SEARCH RETURN (SAVE) SUBJECT two")
        self.assertEqual(untagged, [])
        untagged, _ = w.cmd("FETCH $ (UID FLAGS)")
        self.assertEqual(untagged, [b"* 2 FETCH (UID 2 FLAGS ())"])
        w.cmd("STORE $ +FLAGS.SILENT (\\Deleted)")
        untagged, _ = w.cmd(b'STATUS "' + box + b'" (DELETED MESSAGES)')
        self.assertEqual(untagged, [b'* STATUS "' + box + b'" (DELETED 1 MESSAGES 2)'])
        # A rev1 session of the same user still sees both messages as \Recent and the name
        # in modified UTF-7.
        rev1 = self.wire()
        untagged, _ = rev1.cmd("SELECT R&AOk-union")
        self.assertIn(b"* 2 RECENT", untagged)
        self.assertFalse([u for u in untagged if u.startswith(b"* LIST")], untagged)
        untagged, _ = rev1.cmd("SEARCH UNSEEN")
        self.assertEqual(untagged, [b"* SEARCH 1 2"])
        # New mail from the rev1 session: the rev2 session hears EXISTS, never RECENT.
        msg = b"Subject: three\r\n\r\nbody\r\n"
        _, tagged = rev1.cmd(b"APPEND R&AOk-union {%d+}\r\n" % len(msg) + msg)
        self.assertRegex(tagged, rb"^T\d+ OK \[APPENDUID ")
        rev1.cmd("LOGOUT")
        untagged, _ = w.cmd("NOOP")
        self.assertIn(b"* 3 EXISTS", untagged)
        self.assertFalse([u for u in untagged if b"RECENT" in u], untagged)
        untagged, _ = w.cmd("FETCH 3 (FLAGS)")
        self.assertEqual(untagged, [b"* 3 FETCH (FLAGS ())"])
        # RENAME tells a rev2 client the old name (OLDNAME).
        w.cmd("UNSELECT")
        untagged, _ = w.cmd(b'RENAME "' + box + b'" "' + box + b'2"')
        self.assertEqual(untagged, [b'* LIST () "/" "' + box + b'2" ("OLDNAME" ("' + box +
                                    b'"))'])
        _, tagged = w.cmd(b'DELETE "' + box + b'2"')
        self.assertRegex(tagged, rb"^T\d+ OK ")


if __name__ == "__main__":
    unittest.main()
