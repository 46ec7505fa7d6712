"""POP3 against a real mailroomd with Python's poplib and raw sockets: every command in every
state, STLS and implicit TLS, [IN-USE], drop without QUIT, retrieval marks in the store,
UIDL equal to IMAP's UIDVALIDITY.UID, malformed input and the error limit."""
import os
import poplib
import socket
import sqlite3
import ssl
import sys
import tempfile
import time
import unittest
import imaplib
import base64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mailroom  # noqa: E402
import corpus  # noqa: E402

# A message with lines that need byte-stuffing, stored from an mbox with bare LF line endings.
DOTTY = (b"From: x@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
         b"middle . dot\r\nlast line\r\n")


def import_messages(m, address, messages, line_ending=b"\n"):
    fd, path = tempfile.mkstemp(suffix=".mbox")
    os.close(fd)
    try:
        corpus.write_mboxrd(path, messages, line_ending)
        m.ctl("import", "mbox", address, "INBOX", path, json_output=False)
    finally:
        os.unlink(path)


class Raw:
    """A line-level POP3 client for what poplib cannot send."""

    def __init__(self, port, tls_context=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls_context:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().rstrip(b"\r\n").decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def multiline(self):
        lines = []
        while True:
            l = self.line()
            if l == ".":
                return lines
            lines.append(l)

    def close(self):
        self.sock.close()


def drop(p):
    """Ends a poplib session without QUIT (poplib's makefile keeps the socket open otherwise)."""
    p.sock.shutdown(socket.SHUT_RDWR)
    p.file.close()
    p.sock.close()


class Pop3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom()
        m = cls.m
        m.seed_demo()
        for user in ("carol", "dave", "erin", "frank", "gina"):
            m.ctl("user", "add", f"{user}@example.com", "--password", "secret-" + user)
        cls.alice_messages = corpus.make_messages(12, seed=3) + [DOTTY]
        import_messages(m, "alice@example.com", cls.alice_messages)
        # Bob's messages arrive with bare LF line endings; sizes must still be CRLF sizes.
        cls.bob_messages = [b"Subject: lf %d\r\n\r\nbody %d\r\n.dot\r\n" % (i, i) for i in range(5)]
        import_messages(m, "bob@example.com", cls.bob_messages, line_ending=b"\n")
        for user in ("carol", "dave", "erin"):
            import_messages(m, f"{user}@example.com",
                            [b"Subject: %s %d\r\n\r\nhello %d\r\n" % (user.encode(), i, i)
                             for i in range(4)])
        m.start()
        cls.tls = m.ssl_context()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def pop(self, user=None, password=None):
        p = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=10)
        if user:
            p.user(user)
            p.pass_(password)
        return p

    def pop_after_drop(self, user, password):
        """Logs in once the server has noticed that the previous session dropped (until then
        the maildrop is still locked and the answer is [IN-USE])."""
        deadline = time.time() + 30
        while True:
            p = self.pop()
            p.user(user)
            try:
                answer = p.pass_(password)
                self.assertTrue(answer.startswith(b"+OK"), answer)
                return p
            except poplib.error_proto as e:
                drop(p)
                if not e.args[0].startswith(b"-ERR [IN-USE]") or time.time() > deadline:
                    raise
                time.sleep(0.1)

    def index(self, address):
        account = self.m.account_id(address)
        path = os.path.join(self.m.data, "mail", account, "index.db")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return db

    def store_rows(self, address):
        db = self.index(address)
        try:
            uv = db.execute("SELECT uid_validity FROM mailboxes WHERE name='INBOX'").fetchone()[0]
            rows = db.execute(
                "SELECT m.uid, m.size, m.retrieved_at, m.retrieved_by FROM messages m "
                "JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.name='INBOX' "
                "ORDER BY m.uid").fetchall()
            return uv, rows
        finally:
            db.close()

    # --- capabilities and greeting ---
    def test_greeting_and_capa_before_and_after_login(self):
        p = self.pop()
        self.assertTrue(p.getwelcome().startswith(b"+OK"))
        caps = p.capa()
        for c in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "STLS",
                  "SASL", "IMPLEMENTATION", "EXPIRE"):
            self.assertIn(c, caps)
        self.assertEqual(caps["EXPIRE"], ["NEVER"])
        self.assertIn("PLAIN", caps["SASL"])
        p.user("carol@example.com")
        p.pass_("secret-carol")
        caps = p.capa()
        self.assertIn("TOP", caps)
        self.assertNotIn("USER", caps)
        self.assertNotIn("STLS", caps)
        p.quit()

    # --- every TRANSACTION command ---
    def test_transaction_commands(self):
        p = self.pop("alice@example.com", "wonderland")
        msgs = self.alice_messages
        count, octets = p.stat()
        self.assertEqual(count, len(msgs))
        self.assertEqual(octets, sum(len(x) for x in msgs))
        resp, listing, _ = p.list()
        self.assertTrue(resp.startswith(b"+OK"))
        self.assertEqual([int(l.split()[1]) for l in listing], [len(x) for x in msgs])
        self.assertEqual(p.list(3), b"+OK 3 %d" % len(msgs[2]))
        uv, rows = self.store_rows("alice@example.com")
        _, uidls, _ = p.uidl()
        self.assertEqual([l.split()[1].decode() for l in uidls],
                         [f"{uv}.{r[0]}" for r in rows])
        self.assertEqual(p.uidl(2), b"+OK 2 %d.%d" % (uv, rows[1][0]))
        for i, expected in enumerate(msgs, start=1):
            resp, lines, size = p.retr(i)
            self.assertEqual(resp, b"+OK %d octets" % len(expected))
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", expected)
        resp, lines, _ = p.top(len(msgs), 1)
        self.assertEqual(lines, [b"From: x@example.org", b"Subject: dots", b"", b".leading dot"])
        self.assertEqual(p.noop(), b"+OK")
        self.assertTrue(p.dele(1).startswith(b"+OK"))
        with self.assertRaises(poplib.error_proto) as e:
            p.retr(1)
        self.assertIn(b"deleted", e.exception.args[0])
        with self.assertRaises(poplib.error_proto):
            p.list(1)
        self.assertEqual(p.stat(), (len(msgs) - 1, octets - len(msgs[0])))
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat(), (len(msgs), octets))
        with self.assertRaises(poplib.error_proto):
            p.retr(len(msgs) + 1)
        p.quit()  # nothing marked deleted: nothing removed
        uv2, rows2 = self.store_rows("alice@example.com")
        self.assertEqual((uv2, [r[0] for r in rows2]), (uv, [r[0] for r in rows]))

    def test_sizes_of_messages_stored_from_bare_lf(self):
        p = self.pop("bob@example.com", "builder")
        _, listing, _ = p.list()
        self.assertEqual([int(l.split()[1]) for l in listing], [len(x) for x in self.bob_messages])
        _, rows = self.store_rows("bob@example.com")
        self.assertEqual([r[1] for r in rows], [len(x) for x in self.bob_messages])
        for i, expected in enumerate(self.bob_messages, start=1):
            _, lines, _ = p.retr(i)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", expected)
        p.quit()

    def test_retrieval_mark_in_store(self):
        before = int(time.time()) - 1
        p = self.pop("dave@example.com", "secret-dave")
        p.retr(2)
        p.top(3, 0)      # headers only: not a retrieval
        p.top(4, 1000)   # the whole message: a retrieval
        p.quit()
        _, rows = self.store_rows("dave@example.com")
        marks = {r[0]: (r[2], r[3]) for r in rows}
        uids = [r[0] for r in rows]
        self.assertGreaterEqual(marks[uids[1]][0], before)
        self.assertEqual(marks[uids[1]][1], "127.0.0.1")
        self.assertGreaterEqual(marks[uids[3]][0], before)
        self.assertFalse(marks[uids[0]][0])
        self.assertFalse(marks[uids[2]][0])

    def test_drop_without_quit_deletes_nothing_and_quit_expunges(self):
        p = self.pop("erin@example.com", "secret-erin")
        self.assertEqual(p.stat()[0], 4)
        _, before, _ = p.uidl()
        p.dele(1)
        p.dele(2)
        drop(p)  # no QUIT
        p = self.pop_after_drop("erin@example.com", "secret-erin")
        self.assertEqual(p.stat()[0], 4)
        p.dele(1)
        p.dele(3)
        self.assertIn(b"2 messages deleted", p.quit())
        p = self.pop("erin@example.com", "secret-erin")
        _, after, _ = p.uidl()
        # Survivors keep their UIDL (renumbered 1..n).
        self.assertEqual([l.split()[1] for l in after],
                         [before[1].split()[1], before[3].split()[1]])
        p.quit()

    def test_in_use(self):
        first = self.pop("carol@example.com", "secret-carol")
        second = self.pop()
        second.user("carol@example.com")
        with self.assertRaises(poplib.error_proto) as e:
            second.pass_("secret-carol")
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"), e.exception.args)
        first.quit()
        second.user("carol@example.com")
        self.assertTrue(second.pass_("secret-carol").startswith(b"+OK"))
        second.quit()

    def test_in_use_released_when_connection_drops(self):
        first = self.pop("carol@example.com", "secret-carol")
        drop(first)
        p = self.pop_after_drop("carol@example.com", "secret-carol")  # asserts the +OK of PASS
        self.assertTrue(p.noop().startswith(b"+OK"))
        self.assertTrue(p.quit().startswith(b"+OK"))

    def test_uidl_equals_imap_uidvalidity_uid(self):
        p = self.pop("bob@example.com", "builder")
        _, uidls, _ = p.uidl()
        p.quit()
        # No skip: the IMAP listener is part of every test server (harness.DEFAULT_LISTENERS).
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        imap.login("bob@example.com", "builder")
        typ, data = imap.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        uv = int(imap.untagged_responses["UIDVALIDITY"][0])
        typ, data = imap.uid("SEARCH", None, "ALL")
        uids = [int(x) for x in data[0].split()]
        imap.logout()
        self.assertEqual([l.split()[1].decode() for l in uidls], [f"{uv}.{u}" for u in uids])

    # --- authentication ---
    def test_auth_failures_and_codes(self):
        p = self.pop()
        p.user("alice@example.com")
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("wrong")
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("wonderland")  # USER must come again
        self.assertEqual(e.exception.args[0], b"-ERR Send USER first")
        p.user("nobody@example.com")
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("x")
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        p.quit()

    def test_sasl_plain(self):
        r = Raw(self.m.port("pop3"))
        ir = base64.b64encode(b"\0carol@example.com\0secret-carol").decode()
        self.assertTrue(r.cmd("AUTH PLAIN " + ir).startswith("+OK"), r.greeting)
        self.assertTrue(r.cmd("STAT").startswith("+OK 4 "))
        self.assertTrue(r.cmd("QUIT").startswith("+OK"))
        r.close()
        r = Raw(self.m.port("pop3"))
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(r.cmd("*"), "-ERR Authentication cancelled")
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        bad = base64.b64encode(b"\0carol@example.com\0nope").decode()
        self.assertTrue(r.cmd(bad).startswith("-ERR [AUTH]"))
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(r.cmd(ir).startswith("+OK"))
        self.assertTrue(r.cmd("QUIT").startswith("+OK"))
        r.close()

    # --- TLS ---
    def test_stls(self):
        p = self.pop()
        p.stls(self.tls)
        caps = p.capa()
        self.assertNotIn("STLS", caps)
        p.user("bob@example.com")
        p.pass_("builder")
        _, lines, _ = p.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", self.bob_messages[0])
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("STLS")
        p.quit()

    def test_stls_discards_pipelined_plaintext(self):
        r = Raw(self.m.port("pop3"))
        r.send("STLS\r\nUSER bob@example.com\r\n")
        self.assertTrue(r.line().startswith("+OK"))
        r.sock = self.tls.wrap_socket(r.sock, server_hostname="localhost")
        r.f = r.sock.makefile("rb")
        # The pipelined USER was dropped: PASS has no USER to go with.
        self.assertEqual(r.cmd("PASS builder"), "-ERR Send USER first")
        r.cmd("QUIT")
        r.close()

    def test_implicit_tls(self):
        p = poplib.POP3_SSL("127.0.0.1", self.m.port("pop3s"), context=self.tls, timeout=10)
        caps = p.capa()
        self.assertNotIn("STLS", caps)
        self.assertIn("USER", caps)
        p.user("bob@example.com")
        p.pass_("builder")
        self.assertEqual(p.stat()[0], len(self.bob_messages))
        p.quit()

    # --- malformed input ---
    def test_wrong_state_unknown_and_bad_arguments(self):
        r = Raw(self.m.port("pop3"))
        self.assertEqual(r.cmd("STAT"), "-ERR Not allowed before authentication")
        self.assertEqual(r.cmd("APOP alice 0123456789abcdef"), "-ERR APOP not supported")
        self.assertEqual(r.cmd("FROB"), "-ERR Unknown command")
        self.assertEqual(r.cmd("X" * 300), "-ERR Command line too long (RFC 2449: 255 octets)")
        self.assertEqual(r.cmd("USER bob@example.com"), "+OK Send your password")
        self.assertTrue(r.cmd("PASS builder").startswith("+OK"))
        self.assertEqual(r.cmd("USER bob"), "-ERR Not allowed after authentication")
        self.assertEqual(r.cmd("RETR"), "-ERR Missing argument")
        self.assertEqual(r.cmd("RETR 0"), "-ERR No such message")
        self.assertEqual(r.cmd("RETR -1"), "-ERR Invalid message number")
        self.assertEqual(r.cmd("TOP 1 x"), "-ERR Invalid number of lines")
        # The session went on after nine errors (the limit is ten): still answering, and not yet closed.
        self.assertTrue(r.cmd("NOOP").startswith("+OK"))
        self.assertTrue(r.cmd("QUIT").startswith("+OK"))
        r.close()

    def test_error_limit_closes_connection(self):
        r = Raw(self.m.port("pop3"))
        answers = [r.cmd("BOGUS") for _ in range(10)]
        self.assertTrue(all(a.startswith("-ERR") for a in answers))
        self.assertIn("too many errors", answers[-1])
        self.assertEqual(r.f.readline(), b"")  # closed by the server
        r.close()

    def test_pipelining(self):
        r = Raw(self.m.port("pop3"))
        r.send("USER carol@example.com\r\nPASS secret-carol\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\n"
               "NOOP\r\nQUIT\r\n")
        answers = [r.line() for _ in range(7)]
        self.assertTrue(all(a.startswith("+OK") for a in answers), answers)
        r.close()


class Pop3TlsOnlyTest(unittest.TestCase):
    """allow_plaintext_on_loopback = false: USER/PASS and PLAIN only after STLS."""

    def test_plaintext_needs_tls(self):
        with Mailroom(plaintext_on_loopback=False) as m:
            m.seed_demo()
            p = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=10)
            caps = p.capa()
            self.assertNotIn("USER", caps)
            self.assertIn("STLS", caps)
            with self.assertRaises(poplib.error_proto) as e:
                p.user("alice@example.com")
            self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
            p.stls(m.ssl_context())
            self.assertIn("USER", p.capa())
            p.user("alice@example.com")
            self.assertTrue(p.pass_("wonderland").startswith(b"+OK"))
            p.quit()


class Pop3MarkDurabilityTest(unittest.TestCase):
    """A RETR's retrieval mark is in the session's journal before the message is sent, reaches
    the index within retrieval_sync_ms and at QUIT, and survives a kill -9 of mailroomd without
    QUIT: the next start replays the journal when the user is opened, by any protocol."""

    def test_marks_written_before_sending_survive_kill(self):
        m = Mailroom(extra_config="[pop3]\nretrieval_sync_ms = 600000\n")
        self.addCleanup(m.close)
        m.seed_demo()
        import_messages(m, "alice@example.com",
                        [b"Subject: k%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(40)])
        m.start()
        user_dir = os.path.join(m.data, "mail", m.account_id("alice@example.com"))
        path = os.path.join(user_dir, "index.db")
        journal_dir = os.path.join(user_dir, "retrievals")

        def marked():
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return [(r[0], r[1]) for r in db.execute(
                    "SELECT m.uid, m.retrieved_by FROM messages m JOIN mailboxes b "
                    "ON b.id = m.mailbox_id WHERE b.name='INBOX' AND m.retrieved_at > 0 "
                    "ORDER BY m.uid")]
            finally:
                db.close()

        def journals():
            return sorted(f for f in os.listdir(journal_dir) if f.endswith(".journal"))

        p = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=10)
        p.user("alice@example.com")
        p.pass_("wonderland")
        for i in (1, 2, 3, 7, 8):
            p.retr(i)
        # Sent messages have their marks in the journal (the index gets them at a sync).
        (name,) = journals()
        with open(os.path.join(journal_dir, name)) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("mailroom-retrievals 1\tINBOX\t127.0.0.1"), lines[0])
        self.assertEqual([int(l.split()[0]) for l in lines[1:]], [1, 2, 3, 7, 8])
        self.assertEqual(marked(), [])
        m.kill()
        drop(p)
        m.start()
        # IMAP opens the user: the dead session's journal is replayed and removed.
        imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
        imap.login("alice@example.com", "wonderland")
        imap.select("INBOX")
        imap.logout()
        self.assertEqual(marked(), [(u, "127.0.0.1") for u in (1, 2, 3, 7, 8)])
        self.assertEqual(journals(), [])
        self.assertIn("event=store_retrieval_journal_replayed", m.log())

        # A whole download with QUIT: marks in the index before +OK, no journal left.
        p = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=10)
        p.user("alice@example.com")
        p.pass_("wonderland")
        for i in range(1, 41):
            p.retr(i)
        p.quit()
        self.assertEqual(len(marked()), 40)
        self.assertEqual(journals(), [])


if __name__ == "__main__":
    unittest.main()
