"""Fixture for test_guards.py (not a test of its own): one test that skips."""
import unittest


class Skipping(unittest.TestCase):
    def test_needs_something_missing(self):
        self.skipTest("a tool this machine lacks")
