"""ACL (RFC 4314), the shared namespaces (RFC 2342) and the administrator's shared mailboxes
(issue 20) against a real mailroomd over TLS (imaps), with imaplib and, for IDLE, the raw wire:
two users sharing a folder, a grant to a directory group of the embedded directory (joining
the group grants access at the next command, no new login), a shared mailbox made with
`mailroomctl shared create` that mail is delivered into, and the LIST / NAMESPACE flows of
Thunderbird and Outlook. One server for the module's tests."""
import imaplib
import os
import re
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402

MESSAGE = b"From: carol@partner.example\r\nSubject: %s\r\n\r\nbody\r\n"
ALICE = "alice@example.com"


class AclTest(ServerCase):
    port_name = "imaps"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not hasattr(cls.m, "ctl"):
            raise unittest.SkipTest("needs mailroomd and mailroomctl (not imap_driver)")
        cls.m.ctl("user", "add", "carol@example.com", "--password", "carolpass")
        cls.m.ctl("group", "add", "readers@example.com", "--member", "bob@example.com")

    def login(self, user, password):
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.m.ssl_context())
        self.assertEqual(imap.login(user, password)[0], "OK")
        self.addCleanup(imap.logout)
        return imap

    def alice(self):
        return self.login(ALICE, "wonderland")

    def lines(self, data):
        return [d.decode() if isinstance(d, bytes) else str(d) for d in data if d is not None]

    def folder(self, name, grants):
        """alice's folder `name` with one message and the given (identifier, rights)."""
        a = self.alice()
        self.assertEqual(a.create(name)[0], "OK")
        self.assertEqual(a.append(name, None, None, MESSAGE % name.encode())[0], "OK")
        for ident, rights in grants:
            typ, data = a.setacl(name, ident, rights)
            self.assertEqual(typ, "OK", data)
        return a

    def test_two_users_share_a_folder(self):
        a = self.folder("Team", [("bob@example.com", "lrswi")])
        typ, data = a.getacl("Team")
        self.assertEqual(typ, "OK")
        self.assertIn("bob@example.com lrswi", self.lines(data)[0])
        b = self.login("bob", "builder")
        shared = '"Other Users/alice@example.com/Team"'
        typ, data = b.select(shared)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[0], b"1")
        typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: Team", data[0][1])
        self.assertEqual(b.store("1", "+FLAGS", "(\\Seen)")[0], "OK")
        # No "t": \Deleted refused, and no "e": EXPUNGE refused; the session goes on.
        typ, data = b.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"NOPERM", data[0])
        self.assertEqual(b.append(shared, None, None, MESSAGE % b"from bob")[0], "OK")
        typ, data = b.myrights(shared)
        self.assertIn("lrswi", self.lines(data)[0])
        # carol has no right at all: the folder is as absent as one that never existed.
        c = self.login("carol", "carolpass")
        typ, missing = c.select(shared)
        typ2, never = c.select('"Other Users/alice@example.com/NoSuchFolder"')
        self.assertEqual((typ, typ2), ("NO", "NO"))
        self.assertEqual(missing, never)
        typ, data = c.list('""', "*")
        self.assertNotIn("/Team", " ".join(self.lines(data)))
        # The appended message is charged to alice, the owner.
        typ, data = a.getquotaroot("Team")
        self.assertEqual(typ, "OK")
        a.select("Team")
        typ, data = a.search(None, "ALL")
        self.assertEqual(data[0], b"1 2")

    def test_group_grant_follows_the_directory(self):
        self.folder("Projects", [("$readers@example.com", "lr")])
        c = self.login("carol", "carolpass")
        shared = '"Other Users/alice@example.com/Projects"'
        self.assertEqual(c.select(shared, readonly=True)[0], "NO")
        # carol joins the group: the same session has access at its next command.
        self.m.ctl("group", "add-member", "readers@example.com", "carol@example.com")
        typ, data = c.select(shared, readonly=True)
        self.assertEqual(typ, "OK", data)
        typ, data = c.list('""', '"Other Users/%"')
        self.assertIn('(\\Noselect \\HasChildren) "/" "Other Users/alice@example.com"',
                      " ".join(self.lines(data)))
        self.m.ctl("group", "remove-member", "readers@example.com", "carol@example.com")
        c.close()
        self.assertEqual(c.select(shared, readonly=True)[0], "NO")

    def test_thunderbird_and_outlook_flows(self):
        self.folder("Flow", [("bob@example.com", "lr")])
        b = self.login("bob", "builder")
        # Thunderbird: NAMESPACE, LIST "" "*", subscribe, LSUB and LIST (SUBSCRIBED), SELECT.
        typ, data = b.namespace()
        self.assertEqual(self.lines(data)[0],
                         '(("" "/")) (("Other Users/" "/")) (("Shared/" "/"))')
        typ, data = b.list('""', "*")
        listed = " ".join(self.lines(data))
        self.assertIn('(\\HasNoChildren) "/" "Other Users/alice@example.com/Flow"', listed)
        self.assertIn('(\\Noselect \\HasChildren) "/" "Other Users"', listed)
        self.assertEqual(b.subscribe('"Other Users/alice@example.com/Flow"')[0], "OK")
        typ, data = b.lsub('""', "*")
        self.assertIn('"Other Users/alice@example.com/Flow"', " ".join(self.lines(data)))
        typ, data = b._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"')
        typ, data = b._untagged_response(typ, data, "LIST")
        self.assertIn('\\Subscribed) "/" "Other Users/alice@example.com/Flow"',
                      " ".join(self.lines(data)))
        self.assertEqual(b.select('"Other Users/alice@example.com/Flow"', readonly=True)[0], "OK")
        # Outlook: LIST "" "%", then one level at a time below "Other Users/".
        typ, data = b.list('""', "%")
        top = " ".join(self.lines(data))
        self.assertIn('"Other Users"', top)
        self.assertNotIn("alice@example.com", top)
        typ, data = b.list('""', '"Other Users/%"')
        self.assertEqual(len(data), 1, data)
        self.assertIn('"Other Users/alice@example.com"', self.lines(data)[0])
        typ, data = b.list('""', '"Other Users/alice@example.com/%"')
        self.assertIn('"Other Users/alice@example.com/Flow"', " ".join(self.lines(data)))

    def test_idle_sees_the_owners_new_mail(self):
        self.folder("Live", [("bob@example.com", "lr")])
        w = Wire(self.port, tls_context=self.m.ssl_context())
        self.addCleanup(w.close)
        w.cmd("LOGIN bob builder")
        _, tagged = w.cmd('SELECT "Other Users/alice@example.com/Live"')
        self.assertIn(b"OK", tagged)
        w.send("I1 IDLE\r\n")
        self.assertTrue(w.read_response_line().startswith(b"+ "))
        a = self.alice()
        self.assertEqual(a.append("Live", None, None, MESSAGE % b"second")[0], "OK")
        line = w.read_response_line()
        while not line.endswith(b"EXISTS"):
            line = w.read_response_line()
        self.assertEqual(line, b"* 2 EXISTS")
        w.send("DONE\r\n")
        w.until("I1")

    def wire(self, user, password):
        w = Wire(self.port, tls_context=self.m.ssl_context())
        self.addCleanup(w.close)
        self.assertIn(b"OK", w.cmd("LOGIN %s %s" % (user, password))[1])
        return w

    def test_metadata_on_a_shared_folder(self):
        """RFC 5464 3.3: reading needs "lr", /private writes "lr", /shared writes "lrw";
        /private entries are each user's own."""
        self.folder("Notes", [("bob@example.com", "lr"), ("carol@example.com", "lrw")])
        name = '"Other Users/alice@example.com/Notes"'
        a = self.wire("alice@example.com", "wonderland")
        self.assertIn(b"OK", a.cmd('SETMETADATA Notes (/shared/comment "team notes" '
                                   '/private/comment "alice only")')[1])
        b = self.wire("bob", "builder")
        untagged, tagged = b.cmd("GETMETADATA %s (/shared/comment /private/comment)" % name)
        self.assertIn(b"OK", tagged)
        self.assertEqual(untagged, [b'* METADATA %s (/shared/comment "team notes" '
                                    b'/private/comment NIL)' % name.encode()])
        # bob has no "w": /shared is refused, his own /private is his alone.
        untagged, tagged = b.cmd('SETMETADATA %s (/shared/comment "bob was here")' % name)
        self.assertIn(b"NO [NOPERM]", tagged)
        self.assertIn(b"OK", b.cmd('SETMETADATA %s (/private/comment "bob only")' % name)[1])
        untagged, _ = b.cmd("GETMETADATA %s (/private/comment)" % name)
        self.assertEqual(untagged, [b'* METADATA %s (/private/comment "bob only")' % name.encode()])
        untagged, _ = a.cmd("GETMETADATA Notes (/private/comment)")
        self.assertEqual(untagged, [b'* METADATA "Notes" (/private/comment "alice only")'])
        # carol has "w": she writes the shared entry everyone reads; she does not see bob's.
        c = self.wire("carol", "carolpass")
        self.assertIn(b"OK", c.cmd('SETMETADATA %s (/shared/comment "by carol")' % name)[1])
        untagged, _ = c.cmd("GETMETADATA %s (/private/comment)" % name)
        self.assertEqual(untagged, [b"* METADATA %s (/private/comment NIL)" % name.encode()])
        untagged, _ = a.cmd("GETMETADATA Notes (/shared/comment)")
        self.assertEqual(untagged, [b'* METADATA "Notes" (/shared/comment "by carol")'])
        # LIST RETURN (METADATA) (RFC 9590) shows the shared folder's entries to its readers.
        untagged, tagged = b.cmd('LIST "" %s RETURN (METADATA (/shared/comment /private/comment))'
                                 % name)
        self.assertIn(b"OK", tagged)
        self.assertIn(b'* METADATA %s (/shared/comment "by carol" /private/comment "bob only")'
                      % name.encode(), untagged)
        # A folder bob cannot see answers as one that does not exist.
        _, tagged = b.cmd('GETMETADATA "Other Users/alice@example.com/INBOX" (/shared/comment)')
        self.assertIn(b"NO [NONEXISTENT]", tagged)
        # Without "r" (only "l"), no entry can be read.
        self.assertIn(b"OK", a.cmd("SETACL Notes bob@example.com l")[1])
        _, tagged = b.cmd("GETMETADATA %s (/shared/comment)" % name)
        self.assertIn(b"NO [NOPERM]", tagged)

    @staticmethod
    def search(wire, criteria):
        """The SEARCH response alone (other untagged lines may come with it)."""
        return [l for l in wire.cmd("SEARCH " + criteria)[0] if l.startswith(b"* SEARCH")]

    def test_per_user_seen(self):
        """[imap] shared_seen = "per-user" (the default): each reader's \Seen is its own, in
        FETCH, SEARCH, STATUS, LIST-STATUS, CONDSTORE and IDLE; the owner's stays its own."""
        a = self.folder("Desk", [("bob@example.com", "lrs"), ("carol@example.com", "lrs")])
        self.assertEqual(a.append("Desk", None, None, MESSAGE % b"second")[0], "OK")
        name = '"Other Users/alice@example.com/Desk"'
        b = self.wire("bob", "builder")
        untagged, tagged = b.cmd("SELECT %s (CONDSTORE)" % name)
        self.assertIn(b"OK", tagged)
        self.assertIn(b"* OK [UNSEEN 1] First unseen", untagged)
        highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(untagged)).group(1))
        # bob's IDLE session sees his own change made from another session.
        watcher = self.wire("bob", "builder")
        self.assertIn(b"OK", watcher.cmd("SELECT %s" % name)[1])
        watcher.send("I1 IDLE\r\n")
        self.assertTrue(watcher.read_response_line().startswith(b"+ "))
        carol = self.wire("carol", "carolpass")
        self.assertIn(b"OK", carol.cmd("SELECT %s" % name)[1])
        carol.send("I2 IDLE\r\n")
        self.assertTrue(carol.read_response_line().startswith(b"+ "))
        untagged, tagged = b.cmd("STORE 1 +FLAGS (\\Seen)")
        self.assertIn(b"OK", tagged)
        m = re.match(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen[^)]*\) MODSEQ \((\d+)\)\)", untagged[0])
        self.assertIsNotNone(m, untagged)
        self.assertGreater(int(m.group(1)), highest)  # RFC 7162: bob's change has a MODSEQ
        self.assertRegex(watcher.read_response_line(), rb"^\* 1 FETCH \(FLAGS \(\\Seen")
        watcher.send("DONE\r\n")
        watcher.until("I1")
        untagged, _ = b.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % highest)
        self.assertEqual(len(untagged), 1, untagged)
        self.assertEqual(self.search(b, "SEEN"), [b"* SEARCH 1"])
        self.assertEqual(self.search(b, "UNSEEN"), [b"* SEARCH 2"])
        self.assertEqual(b.cmd("UID SEARCH RETURN (COUNT) UNSEEN")[0][0].split(b" COUNT ")[1],
                         b"1")
        # carol saw none of it: her IDLE hears of alice's new message, no FETCH before it.
        a.append("Desk", None, None, MESSAGE % b"third")
        self.assertEqual(carol.read_response_line(), b"* 3 EXISTS")
        carol.send("DONE\r\n")
        carol.until("I2")
        self.assertEqual(self.search(carol, "UNSEEN"), [b"* SEARCH 1 2 3"])
        untagged, _ = carol.cmd("FETCH 1 (FLAGS)")
        self.assertEqual(len(untagged), 1, untagged)
        self.assertNotIn(b"\\Seen", untagged[0])
        # STATUS and LIST-STATUS (RFC 5819) of the folder, not selected, count each one's own.
        c2 = self.login("carol", "carolpass")
        typ, data = c2.status(name, "(UNSEEN)")
        self.assertIn(b"UNSEEN 3", data[0])
        b2 = self.login("bob", "builder")
        typ, data = b2.status(name, "(UNSEEN)")
        self.assertIn(b"UNSEEN 2", data[0])
        typ, data = b2._simple_command("LIST", '""', name, "RETURN", "(STATUS (UNSEEN))")
        typ, data = b2._untagged_response(typ, data, "STATUS")
        self.assertIn(b"UNSEEN 2", data[0])
        # The owner's \Seen is the owner's: unset for message 1, and setting it on 2 changes
        # nothing for bob.
        a.select("Desk")
        typ, data = a.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        a.store("2", "+FLAGS", "(\\Seen)")
        self.assertEqual(self.search(b, "SEEN"), [b"* SEARCH 1"])
        # BODY[] sets the reader's \Seen (RFC 3501 6.4.5), not the owner's.
        untagged, _ = carol.cmd("FETCH 3 (BODY[])")
        self.assertIn(b"\\Seen", untagged[-1])
        typ, data = a.fetch("3", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        # Rights without "r" drop bob's marks: given back, he starts over unseen.
        self.assertEqual(a.setacl("Desk", "bob@example.com", "l")[0], "OK")
        self.assertEqual(a.setacl("Desk", "bob@example.com", "lrs")[0], "OK")
        typ, data = b2.status(name, "(UNSEEN)")
        self.assertIn(b"UNSEEN 3", data[0])

    def test_hostile_acl_commands_keep_the_session(self):
        a = self.alice()
        a.create("Hostile")
        for args in [("Hostile", "bob@example.com", "lrZ"), ("Hostile", "nobody@nowhere", "lr"),
                     ("Hostile", '"$no-group@example.com"', "lr"), ("Hostile", "-", "l")]:
            try:
                typ, _ = a.setacl(*args)
            except imaplib.IMAP4.error:  # imaplib raises on BAD
                typ = "BAD"
            self.assertIn(typ, ("NO", "BAD"), args)
        self.assertEqual(a.noop()[0], "OK")

    def test_admin_shared_mailbox(self):
        out = self.m.ctl("shared", "create", "support@example.com", "--group", "staff@example.com",
                         "--rights", "lrswipte")
        self.assertEqual(out["address"], "support@example.com")
        self.assertEqual(out["acl"]["INBOX"]["$staff@example.com"], "lrswipte")
        listed = self.m.ctl("shared", "list")
        self.assertEqual([m["address"] for m in listed], ["support@example.com"])
        # Mail to the address is delivered into it.
        s = smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30)
        self.addCleanup(s.quit)
        s.sendmail("customer@partner.example", ["support@example.com"], MESSAGE % b"help")
        b = self.login("bob", "builder")
        name = '"Shared/support@example.com/INBOX"'
        deadline = time.time() + 30
        count = b"0"
        while time.time() < deadline:  # delivery runs after the 250
            typ, data = b.status(name, "(MESSAGES)")
            self.assertEqual(typ, "OK", data)
            count = re.search(rb"MESSAGES (\d+)", data[0]).group(1)
            if count == b"1":
                break
            time.sleep(0.1)
        self.assertEqual(count, b"1")
        typ, data = b.list('""', '"Shared/%"')
        self.assertIn('"Shared/support@example.com"', " ".join(self.lines(data)))
        self.assertEqual(b.select(name)[0], "OK")
        typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: help", data[0][1])
        # carol is not in staff: nothing to see; a grant to her user changes that.
        c = self.login("carol", "carolpass")
        self.assertEqual(c.select(name, readonly=True)[0], "NO")
        self.m.ctl("shared", "grant", "support@example.com", "carol@example.com", "lr")
        self.assertEqual(c.select(name, readonly=True)[0], "OK")
        self.m.ctl("shared", "revoke", "support@example.com", "carol@example.com")
        self.assertEqual(c.select(name, readonly=True)[0], "NO")
        # Nobody logs in to the shared mailbox itself.
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.m.ssl_context())
        with self.assertRaises(imaplib.IMAP4.error):
            imap.login("support@example.com", "")
        imap.shutdown()


if __name__ == "__main__":
    unittest.main()
