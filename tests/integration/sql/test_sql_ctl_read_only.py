"""mailroomctl's directory commands with MariaDB as the directory (issue 22): `user list`,
`user show`, `conflicts`, `group list`, `group show`, `alias list` and `alias show` answer from
the replica the sync fills (and never sync it themselves; same JSON shapes as on the embedded
directory, a read-only note on stderr for people), writes are refused naming MariaDB as the source of truth, and `offboarding
status` / `plan` see the account MariaDB disabled. No mailroomd: `directory sync --now` fills
the replica, so the module runs in seconds once mariadbd is up."""
import os
import unittest

from harness import Mailroom, bin_dir
from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, demo_rows, sql_config

# An alias named like an account: the account wins, `conflicts` reports it.
CONFLICT = "INSERT INTO aliases (address, target) VALUES ('bob@example.com', 'alice@example.com');"

OFFBOARDING = """
[offboarding]
enabled = true
contact = "hr@example.com"
"""


@unittest.skipUnless(available(), "mariadb-server is not installed")
@unittest.skipUnless(os.path.exists(os.path.join(bin_dir(), "mailroomctl")), "not built")
class SqlReadOnlyCtl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        try:
            cls.db.load(SCHEMA)
            cls.db.sql(demo_rows() + CONFLICT)
            sync = '\n[directory.sql.sync]\nmode = "poll"\ninterval = "1s"\n'
            cls.m = Mailroom(directory_config=sql_config([cls.db.port], extra=sync),
                             extra_config=OFFBOARDING)
            cls.m.ctl("directory", "sync", "--now")
        except Exception:
            cls.db.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        cls.db.cleanup()

    def test_reads_answer_from_the_replica(self):
        users = {u["address"]: u for u in self.m.ctl("user", "list")}
        self.assertEqual(sorted(users), ["alice@example.com", "bob@example.com",
                                         "carol@example.com"])
        self.assertEqual(users["alice@example.com"]["id"], "id-alice")
        self.assertEqual(users["carol@example.com"]["status"], "disabled")
        self.assertEqual(set(users["alice@example.com"]),
                         {"id", "login", "address", "display_name", "status", "quota_bytes",
                          "quota_messages"})
        self.assertEqual(list(self.m.ctl("user", "list", "--domain", "example.net")), [])
        self.assertEqual(self.m.ctl("user", "show", "alice")["id"], "id-alice")

        conflicts = self.m.ctl("conflicts")
        self.assertEqual([(c["address"], c["account_id"], c["kind"]) for c in conflicts],
                         [("bob@example.com", "id-bob", "alias")])
        text = self.m.ctl("conflicts", json_output=False)
        self.assertIn("bob@example.com: account bob@example.com wins over alias", text.stdout)
        self.assertIn("read-only", text.stderr)
        self.assertIn("sql directory", text.stderr)

        staff = self.m.ctl("group", "show", "staff@example.com")
        self.assertEqual(sorted(staff["members"]), ["alice@example.com", "bob@example.com"])
        self.assertEqual(staff["policy"], "moderators")
        self.assertEqual([g["address"] for g in self.m.ctl("group", "list")],
                         ["staff@example.com"])
        self.assertEqual(sorted(self.m.ctl("alias", "show", "info@example.com")["targets"]),
                         ["alice@example.com", "bob@example.com"])
        missing = self.m.ctl("group", "show", "nobody@example.com", check=False,
                             json_output=False)
        self.assertEqual(missing.returncode, 1)

    def test_writes_are_refused_naming_the_source_of_truth(self):
        for args in (("user", "add", "zed@example.com", "--password", "x"),
                     ("user", "change", "alice@example.com", "--name", "A"),
                     ("group", "add-member", "staff@example.com", "zed@example.com"),
                     ("alias", "remove", "info@example.com")):
            p = self.m.ctl(*args, check=False, json_output=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("directory backend sql is read-only here", p.stderr)
            self.assertIn("the sql directory, the source of truth", p.stderr)
        self.assertEqual(self.m.ctl("user", "show", "alice")["display_name"], "Alice Liddell")

    def test_reads_never_sync_the_replica_themselves(self):
        # Only mailroomd (or `directory sync --now`) writes the replica: a mailroomctl that
        # synced on its own raced the server and logged the audit events (account_inactive)
        # on its own stderr, where the server's log never saw them.
        self.db.sql("UPDATE accounts SET display_name = 'Bob B.' WHERE id = 'id-bob';")
        try:
            for _ in range(2):  # the second would see a pass the first one ran on exit
                self.assertEqual(self.m.ctl("user", "show", "bob")["display_name"],
                                 "Bob Builder")
            self.m.ctl("directory", "sync", "--now")
            self.assertEqual(self.m.ctl("user", "show", "bob")["display_name"], "Bob B.")
        finally:
            self.db.sql("UPDATE accounts SET display_name = 'Bob Builder' WHERE id = 'id-bob';")
            self.m.ctl("directory", "sync", "--now")

    def test_offboarding_sees_the_account_mariadb_disabled(self):
        status = self.m.ctl("offboarding", "status")
        self.assertEqual([v["address"] for v in status], ["carol@example.com"])
        steps = {s["step"]: s for s in status[0]["steps"]}
        self.assertEqual(steps["auto_reply"]["state"], "active")
        # No manager column in the shipped schema: the mail would stay in the mailbox.
        self.assertEqual(steps["forward"]["state"], "failed")
        self.assertIn("has no manager", steps["forward"]["detail"])
        plan = self.m.ctl("offboarding", "plan", "alice@example.com")
        self.assertFalse(plan["offboarded"])
        self.assertEqual({s["step"]: s["state"] for s in plan["steps"]}["auto_reply"], "planned")


if __name__ == "__main__":
    unittest.main()
