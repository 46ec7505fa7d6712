"""Fixture for test_guards.py (not a test of its own): mailroomd with an injected leak, stopped
with the harness's own check swallowed, so only tests/run_pytests.py's sanitizer directory
check can notice."""
import os
import unittest

from harness import Mailroom


class Leaky(unittest.TestCase):
    def test_leak_hidden_from_the_harness(self):
        m = Mailroom(listeners={"smtp": ("smtp", "none")})
        env = dict(os.environ, MAILROOM_TEST_INJECT_LEAK="1")
        m.start(env=env)
        try:
            m.stop()
        except AssertionError:
            pass
        m.close()
