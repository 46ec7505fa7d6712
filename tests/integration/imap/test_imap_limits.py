"""IMAP input limits (issue 13 items 2 and 3): LIST patterns that used to backtrack
exponentially on an I/O thread, and literals before authentication."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402

MESSAGE = b"From: a@example.com\r\nSubject: big\r\n\r\n"


class LimitsBase(ServerCase):
    def login(self):
        w = Wire(self.port)
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b" OK ", t)
        return w


class TestListPatterns(LimitsBase):
    def test_many_stars_against_a_long_name_answer_quickly(self):
        w = self.login()
        name = "L" + "a" * 230
        w.cmd("DELETE %s" % name)
        self.assertIn(b" OK ", w.cmd("CREATE %s" % name)[1])
        # Sessions spread over the I/O threads round robin: some share the LIST's thread.
        others = [self.login() for _ in range(4)]
        # No speed threshold: the old exponential matcher never answered (years for 30 stars),
        # so a generous liveness bound separates it from any loaded machine.
        for o in others:
            o.sock.settimeout(60)
        w.sock.settimeout(60)
        tag = w.tag()
        w.send('%s LIST "" "%s"\r\n' % (tag, "*" * 30 + "b"))
        for o in others:
            _, t = o.cmd("NOOP")
            self.assertIn(b" OK ", t)
        u, t = w.until(tag)
        self.assertEqual(u, [])
        self.assertTrue(t.endswith(b" OK LIST completed"), t)
        u, t = w.cmd('LIST "" "%s"' % ("%" * 40 + "a"))
        self.assertEqual(len(u), 1, u)
        self.assertIn(name.encode(), u[0])
        u, t = w.cmd('LSUB "" "%s"' % ("*" * 30 + "b"))
        self.assertIn(b" OK ", t)

    def test_pattern_length_is_capped(self):
        w = self.login()
        _, t = w.cmd('LIST "" "%s"' % ("*" * 1025))
        self.assertRegex(t, rb"^T\d+ BAD .*too long")
        _, t = w.cmd('LIST "" "%s"' % ("a" * 1024))
        self.assertRegex(t, rb"^T\d+ OK ")
        patterns = " ".join('"p%d"' % i for i in range(65))
        _, t = w.cmd('LIST "" (%s)' % patterns)
        self.assertRegex(t, rb"^T\d+ BAD .*patterns")
        self.assertIn(b" OK ", w.cmd("NOOP")[1])


class TestLiteralsBeforeLogin(LimitsBase):
    def test_large_synchronizing_literal_is_refused_without_continuation(self):
        w = Wire(self.port)
        w.send(b"a LOGIN {67107840}\r\n")
        line = w.read_response_line()
        self.assertRegex(line, rb"^a (BAD|NO) \[TOOBIG\] ")
        _, t = w.cmd("NOOP", tag="b")
        self.assertEqual(t, b"b OK NOOP completed")
        # The limit is per literal: a command of many small ones is capped as a whole.
        tag = w.tag()
        w.send('%s ID ("k0" {8000}\r\n' % tag)
        refused = None
        for i in range(1, 20):
            line = w.read_response_line()
            if not line.startswith(b"+"):
                refused = line
                break
            w.send(b"v" * 8000 + b' "k%d" {8000}\r\n' % i)
        self.assertIsNotNone(refused)
        self.assertRegex(refused, rb"^T\d+ (BAD|NO) \[TOOBIG\] ")
        _, t = w.cmd("NOOP")
        self.assertIn(b" OK ", t)

    def test_large_non_synchronizing_literal_ends_the_session(self):
        w = Wire(self.port)
        w.send(b"c LOGIN {67107840+}\r\n")
        self.assertTrue(w.read_response_line().startswith(b"* BYE [TOOBIG]"))
        self.assertRaises((EOFError, ConnectionError), w.read_line)

    def test_literal_minus_before_login_literal_plus_after(self):
        # RFC 7888 5: before login only small non-synchronizing literals are promised.
        w = Wire(self.port)
        self.assertIn(b" LITERAL- ", w.greeting)
        self.assertNotIn(b"LITERAL+", w.greeting)
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b" LITERAL+ ", t)
        self.assertNotIn(b"LITERAL-", t)

    def test_small_literals_still_work(self):
        w = Wire(self.port)
        password = b"p" * 4096
        user = b"alice@example.com"
        if hasattr(self.m, "ctl"):  # mailroomd: an account with that password
            self.m.ctl("user", "add", "long@example.com", "--password", password.decode())
            user = b"long@example.com"
        tag = w.tag()
        w.send(b"%s LOGIN %s {%d}\r\n" % (tag.encode(), user, len(password)))
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send(password + b"\r\n")
        _, t = w.until(tag)
        if user == b"long@example.com":
            self.assertIn(b" OK ", t)
            w = Wire(self.port)
        else:
            self.assertIn(b"NO [AUTHENTICATIONFAILED]", t)  # read in full and checked
        _, t = w.cmd(b"LOGIN {17+}\r\nalice@example.com {10+}\r\nwonderland")
        self.assertIn(b" OK ", t)
        # After login the large limits apply: a 1 MiB APPEND, synchronizing and not.
        body = MESSAGE + b"x" * (1024 * 1024)
        w.cmd("DELETE Big")
        w.cmd("CREATE Big")
        tag = w.tag()
        w.send(b"%s APPEND Big {%d}\r\n" % (tag.encode(), len(body)))
        self.assertTrue(w.read_response_line().startswith(b"+"))
        w.send(body + b"\r\n")
        _, t = w.until(tag)
        self.assertIn(b"OK [APPENDUID ", t)
        _, t = w.cmd(b"APPEND Big {%d+}\r\n" % len(body) + body)
        self.assertIn(b"OK [APPENDUID ", t)


if __name__ == "__main__":
    unittest.main()
