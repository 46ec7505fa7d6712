"""Group-based sharing (issue 20, RFC 4314) against a real slapd: alice shares a folder with
the directory group $staff@example.com over IMAP; membership reaches mailroomd's replica by
the RFC 4533 persist sync. A member reads the folder, a non-member gets NO; adding the user to
the group in slapd (ldapmodify) grants access in the same IMAP session, a rename of the
account in LDAP (new login and address, same entryUUID) keeps it, and removing the user from
the group revokes it. One slapd and one mailroomd; no mailroomctl call."""
import time
import unittest

from harness import Mailroom
from ldap_fixture import SUFFIX, Slapd
from test_ldap_session_close import Line, directory_config
import seed

DAVE_DN = f"cn=Dave Doe,ou=people,{SUFFIX}"  # uid is not in the DN: a rename keeps the DN
STAFF_DN = f"cn=staff,ou=groups,{SUFFIX}"
WAIT = 15  # seconds: sync propagation on a loaded machine (polled, not slept)


class Imap:
    """A plain IMAP session on the raw wire (tagged replies only)."""

    def __init__(self, port, user, password):
        self.line = Line(port)
        self.line.line()
        self.n = 0
        self.login = self.cmd(f"LOGIN {user} {password}")

    def cmd(self, text):
        self.n += 1
        tag = "s%d" % self.n
        self.line.send(f"{tag} {text}")
        return self.line.until(tag + " ")

    def close(self):
        self.line.close()


class LdapGroupSharingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        try:
            cls.slapd.modify(f"dn: {DAVE_DN}\nchangetype: add\nobjectClass: inetOrgPerson\n"
                             "objectClass: mailroomAccount\ncn: Dave Doe\nsn: Doe\nuid: dave\n"
                             "mail: dave@example.com\nuserPassword: davepw\n")
            cls.m = Mailroom(listeners={"imap": ("imap", "none")},
                             directory_config=directory_config(cls.slapd.uri))
            cls.m.start()
        except Exception:
            cls.slapd.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.slapd.close()

    def session(self, user, password):
        s = Imap(self.m.port("imap"), user, password)
        self.addCleanup(s.close)
        self.assertTrue(s.login.startswith("s1 OK"), s.login)
        return s

    def until(self, fn, predicate):
        """fn() until predicate(answer) (the change travels through the sync); the last answer."""
        deadline = time.time() + WAIT
        answer = fn()
        while not predicate(answer) and time.time() < deadline:
            time.sleep(0.1)
            answer = fn()
        return answer

    def test_group_membership_in_ldap_grants_and_revokes(self):
        alice = self.session("alice", "wonderland")
        self.assertIn("OK", alice.cmd("CREATE Team"))
        self.assertIn("OK", alice.cmd("SETACL Team $staff@example.com lr"))
        folder = '"Other Users/alice/Team"'
        # bob is a member of staff in slapd: he reads the folder.
        bob = self.session("bob", "builder")
        self.assertTrue(bob.cmd(f"EXAMINE {folder}").startswith("s2 OK"))
        # dave is not: the folder is as absent as one that does not exist.
        dave = self.session("dave", "davepw")
        self.assertTrue(dave.cmd(f"EXAMINE {folder}").startswith("s2 NO [NONEXISTENT]"))
        # Added to the group in LDAP: the same session gets in after the sync.
        self.slapd.modify(f"dn: {STAFF_DN}\nchangetype: modify\nadd: member\nmember: {DAVE_DN}\n")
        answer = self.until(lambda: dave.cmd(f"EXAMINE {folder}"), lambda a: " OK " in a)
        self.assertIn(" OK ", answer)
        # Renamed in LDAP (new login and address; same entryUUID, so the same account): the
        # membership and the access stay under the new name.
        self.slapd.modify(f"dn: {DAVE_DN}\nchangetype: modify\nreplace: uid\nuid: david\n-\n"
                          "replace: mail\nmail: david@example.com\n")
        def david_login():
            s = Imap(self.m.port("imap"), "david", "davepw")
            self.addCleanup(s.close)
            return s
        david = self.until(david_login, lambda s: s.login.startswith("s1 OK"))
        self.assertTrue(david.login.startswith("s1 OK"), david.login)
        self.assertTrue(david.cmd(f"EXAMINE {folder}").startswith("s2 OK"))
        # Removed from the group in LDAP: access is gone at the next command after the sync.
        self.slapd.modify(f"dn: {STAFF_DN}\nchangetype: modify\ndelete: member\n"
                          f"member: {DAVE_DN}\n")
        answer = self.until(lambda: david.cmd(f"EXAMINE {folder}"), lambda a: " NO " in a)
        self.assertIn(" NO [NONEXISTENT]", answer)
        # bob, still a member, is untouched.
        self.assertIn(" OK ", bob.cmd(f"EXAMINE {folder}"))


if __name__ == "__main__":
    unittest.main()
