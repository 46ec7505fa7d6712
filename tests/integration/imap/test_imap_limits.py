"""IMAP input limits (issue 13): LIST patterns that used to backtrack exponentially on an I/O
thread."""
import os
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import Wire, make_server  # noqa: E402

class LimitsBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.m = make_server()
        cls.m.seed_demo()
        cls.m.start()
        cls.port = cls.m.port("imap")

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "m"):
            cls.m.close()

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
        for o in others:
            o.sock.settimeout(10)
        w.sock.settimeout(15)
        started = time.monotonic()
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
        self.assertLess(time.monotonic() - started, 10)

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


if __name__ == "__main__":
    unittest.main()
