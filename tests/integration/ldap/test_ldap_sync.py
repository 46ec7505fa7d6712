"""Sync of the local replica from a real slapd (RFC 4533 refreshAndPersist against syncprov)
and the lookup = "replica" directory: changes in LDAP reach the replica, a rename keeps the
account id, removed users are disabled (not deleted), lookups keep working while LDAP is
down (passwords answer unavailable), and after a restart the sync resumes from its cookie."""
import time
import unittest

from ldap_fixture import ADMIN_DN, ADMIN_PW, SUFFIX, Probe, Slapd, fields
import seed


def replica_config(uri, mode="persist", extra=""):
    return f"""
[directory.ldap]
uris = ["{uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "{SUFFIX}"
user_base = "ou=people,{SUFFIX}"
connect_timeout = 2
timeout = 3
retry_down_after = 1
lookup = "replica"
{extra}
[directory.ldap.sync]
mode = "{mode}"
interval = "10s"
"""


def wait_for(probe, query, predicate, attempts=100):
    """Asks until predicate(answer) holds (the change travels asynchronously); returns the
    last answer so the assertion shows it."""
    answer = probe.ask(query)
    for _ in range(attempts):
        if predicate(answer):
            break
        time.sleep(0.1)
        answer = probe.ask(query)
    return answer


class LdapSyncTest(unittest.TestCase):
    def setUp(self):
        self.slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        self.addCleanup(self.slapd.close)

    def open_probe(self, data_dir=None):
        p = Probe(replica_config(self.slapd.uri), data_dir=data_dir)
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        return p

    def test_initial_refresh_fills_the_replica(self):
        p = self.open_probe()
        a = fields(p.ask("address info@example.com"))
        self.assertEqual(a["login"], "alice")
        self.assertEqual(p.ask("group staff@example.com"),
                         "found members=alice@example.com,bob@example.com policy=0")
        self.assertEqual(p.ask("alias sales@example.com"),
                         "found targets=alice@example.com,partner@remote.example")
        self.assertEqual(fields(p.ask("address carol@example.com"))["status"], "disabled")
        self.assertEqual(p.ask("address nobody@example.com"), "not_found")
        self.assertEqual(p.ask("password alice wonderland"), "ok")
        self.assertEqual(p.ask("password alice nope"), "mismatch")
        self.assertTrue(p.ask("state ldap.cookie").startswith("found rid="))

    def test_changes_rename_and_removal(self):
        p = self.open_probe()
        alice = fields(p.ask("address alice@example.com"))
        # A change of attributes arrives through the persist search.
        self.slapd.modify(f"dn: uid=bob,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mailQuotaBytes\nmailQuotaBytes: 12345\n")
        ans = wait_for(p, "address bob@example.com", lambda a: fields(a).get("quota_bytes") == "12345")
        self.assertEqual(fields(ans)["quota_bytes"], "12345")
        # A new primary address: same id, so the same mailbox.
        self.slapd.modify(f"dn: uid=alice,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mail\nmail: alice.liddell@example.com\n")
        ans = wait_for(p, "address alice.liddell@example.com", lambda a: a.startswith("found"))
        self.assertEqual(fields(ans)["id"], alice["id"])
        self.assertEqual(wait_for(p, "address alice@example.com", lambda a: a == "not_found"),
                         "not_found")
        # Group membership follows the new address.
        self.assertEqual(wait_for(p, "group staff@example.com",
                                  lambda a: "alice.liddell" in a),
                         "found members=alice.liddell@example.com,bob@example.com policy=0")
        # Disabled in LDAP -> disabled in the replica.
        self.slapd.modify(f"dn: uid=bob,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mailAccountStatus\nmailAccountStatus: disabled\n")
        ans = wait_for(p, "address bob@example.com", lambda a: fields(a).get("status") == "disabled")
        self.assertEqual(fields(ans)["status"], "disabled")
        # Removed from LDAP -> disabled, the account (and its mailbox key) stays.
        wang = fields(p.ask("login wang"))
        self.slapd.modify("dn:: " + seed.b64("cn=王小明,ou=people," + SUFFIX) + "\nchangetype: delete\n")
        ans = wait_for(p, "id " + wang["id"], lambda a: fields(a).get("status") == "disabled")
        self.assertEqual(fields(ans)["status"], "disabled")

    def test_outage_and_resume_from_cookie(self):
        p = self.open_probe()
        self.assertEqual(fields(p.ask("login bob"))["address"], "bob@example.com")
        cookie_before = p.ask("state ldap.cookie")
        self.slapd.stop()
        # The replica answers while LDAP is down; a password cannot be verified.
        self.assertEqual(fields(p.ask("login bob"))["address"], "bob@example.com")
        self.assertEqual(p.ask("address nobody@example.com"), "not_found")
        self.assertTrue(p.ask("password bob builder").startswith("unavailable"))
        data_dir = p.dir
        p.proc.stdin.write("quit\n")
        p.proc.stdin.flush()
        p.proc.wait(timeout=30)
        # Starting while LDAP is down: the existing replica serves (a warning is logged).
        r = Probe(replica_config(self.slapd.uri), data_dir=data_dir)
        self.assertIsNone(r.error, r.error)
        self.assertEqual(fields(r.ask("login bob"))["address"], "bob@example.com")
        r.close()
        # A change made while nobody listens...
        self.slapd.start()
        self.slapd.modify(f"dn: uid=bob,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: cn\ncn: Robert Builder\n")
        # ...is picked up by a new process resuming from the stored cookie (no full reload:
        # nothing is created again).
        q = Probe(replica_config(self.slapd.uri), data_dir=data_dir)
        self.addCleanup(q.close)
        self.assertIsNone(q.error, q.error)
        ans = wait_for(q, "login bob", lambda a: "Robert" in a)
        self.assertIn('name="Robert Builder"', ans)
        self.assertEqual(q.ask("password bob builder"), "ok")
        cookie_after = wait_for(q, "state ldap.cookie", lambda a: a != cookie_before)
        self.assertNotEqual(cookie_after, cookie_before)
        counts = q.ask("state ldap.last_counts")
        self.assertIn("created=0", counts)

    def test_resume_removes_only_what_was_deleted(self):
        """A restart resumes from the cookie. An up-to-date cookie is answered with
        refreshDelete and no entries: nobody may be taken for deleted (every account was once
        disabled here). An entry deleted while nobody listened is disabled."""
        p = self.open_probe()
        data_dir = p.dir
        first_counts = p.ask("state ldap.last_counts")
        wang = fields(p.ask("login wang"))
        p.proc.stdin.write("quit\n")  # (close() would remove the data directory)
        p.proc.stdin.flush()
        p.proc.wait(timeout=30)

        q = Probe(replica_config(self.slapd.uri), data_dir=data_dir)
        self.addCleanup(q.close)
        self.assertIsNone(q.error, q.error)
        counts = wait_for(q, "state ldap.last_counts", lambda a: a != first_counts)
        self.assertIn("removed=0", counts)
        self.assertEqual(fields(q.ask("login bob"))["status"], "active")
        self.assertEqual(fields(q.ask("login wang"))["status"], "active")
        q.close()

        self.slapd.modify("dn:: " + seed.b64("cn=王小明,ou=people," + SUFFIX) + "\nchangetype: delete\n")
        r = Probe(replica_config(self.slapd.uri), data_dir=data_dir)
        self.addCleanup(r.close)
        self.assertIsNone(r.error, r.error)
        ans = wait_for(r, "id " + wang["id"], lambda a: fields(a).get("status") == "disabled")
        self.assertEqual(fields(ans)["status"], "disabled")
        self.assertEqual(fields(r.ask("login bob"))["status"], "active")


class AdPollSyncTest(unittest.TestCase):
    """Active Directory polling (uSNChanged high-water mark + full compare), against slapd
    loaded with AD-shaped entries: slapd does not maintain uSNChanged, so the test bumps it
    the way AD would."""

    def test_poll_changes_and_deletions(self):
        slapd = Slapd(seed.openldap_seed() + "\n" + seed.ad_seed())
        self.addCleanup(slapd.close)
        config = f"""
[directory.ldap]
profile = "activedirectory"
uris = ["{slapd.uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "ou=corp,{SUFFIX}"
domains = ["corp.example"]
nested_groups = "member"
lookup = "replica"
[directory.ldap.sync]
mode = "poll"
interval = "1s"
full_compare_interval = "3s"
"""
        p = Probe(config)
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        self.assertEqual(fields(p.ask("login bsmith"))["id"], seed.BOB_GUID)
        self.assertEqual(fields(p.ask("login diana"))["status"], "disabled")
        self.assertEqual(p.ask("state ldap.usn"), "found 1004")
        self.assertEqual(p.ask("group mailusers@corp.example"),
                         "found members=bob.smith@corp.example,diana@corp.example policy=0")
        # Re-enabled in AD (userAccountControl 512) with a higher uSNChanged.
        slapd.modify(f"dn: cn=Diana Off,ou=corp,{SUFFIX}\nchangetype: modify\n"
                     "replace: userAccountControl\nuserAccountControl: 512\n-\n"
                     "replace: uSNChanged\nuSNChanged: 2000\n")
        ans = wait_for(p, "login diana", lambda a: fields(a).get("status") == "active")
        self.assertEqual(fields(ans)["status"], "active")
        self.assertEqual(wait_for(p, "state ldap.usn", lambda a: a == "found 2000"), "found 2000")
        # Deleted in AD: found by the periodic full compare, disabled in the replica.
        slapd.modify(f"dn: cn=Bob Smith,ou=corp,{SUFFIX}\nchangetype: delete\n")
        ans = wait_for(p, "id " + seed.BOB_GUID, lambda a: fields(a).get("status") == "disabled",
                       attempts=150)
        self.assertEqual(fields(ans)["status"], "disabled")


if __name__ == "__main__":
    unittest.main()
