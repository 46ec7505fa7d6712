"""Waiting for a directory change to reach mailroomd's replica, for test classes that keep
their Mailroom in `cls.m` (the LDAP and SQL offboarding tests):

    class X(ReplicaWaits, unittest.TestCase):
        WITHIN = 60            # seconds (a loaded machine)
        ... cls.wait_user("dave@example.com", lambda u: u["status"] == "disabled")
        ... self.wait_log(r"event=account_inactive account=id-dave", mark)
"""
import re
import time


class ReplicaWaits:
    WITHIN = 60

    @classmethod
    def wait_user(cls, address, predicate=lambda u: True):
        """`mailroomctl user show` from the replica once the sync made `predicate` true."""
        deadline = time.time() + cls.WITHIN
        while True:
            p = cls.m.ctl("user", "show", address, check=False)
            if isinstance(p, dict) and predicate(p):
                return p
            if time.time() > deadline:
                raise AssertionError(f"user show {address}: {p}\n{cls.m.log()[-3000:]}")
            time.sleep(0.2)

    def wait_log(self, pattern, after=0):
        """The first match of `pattern` in the server log from offset `after` on."""
        deadline = time.time() + self.WITHIN
        while True:
            found = re.search(pattern, self.m.log()[after:])
            if found:
                return found
            if time.time() > deadline:
                self.fail(f"no {pattern!r} in the log:\n{self.m.log()[after:][-4000:]}")
            time.sleep(0.2)
