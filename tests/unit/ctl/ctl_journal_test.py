"""mailroomctl journal and --dry-run against a temporary data directory (no mailroomd needed).

Run by ctest as unit.ctl.journal with MAILROOM_CTL = the ctl_directory_driver (the directory
commands and journal); by hand with MAILROOM_CTL=build/debug/bin/mailroomctl for the real tool.
"""
import getpass
import json
import os
import sqlite3
import stat
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CTL = os.environ.get("MAILROOM_CTL") or os.path.join(ROOT, "build", "debug", "bin", "mailroomctl")


class CtlJournalTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mailroom-ctl-journal-")
        self.data = os.path.join(self.tmp.name, "data")
        self.config = os.path.join(self.tmp.name, "mailroom.toml")
        with open(self.config, "w") as f:
            f.write(f'[server]\ndata_dir = "{self.data}"\n')

    def tearDown(self):
        self.tmp.cleanup()

    def ctl(self, *args, code=0, json_out=True):
        cmd = [CTL, "--config", self.config]
        if json_out:
            cmd.append("--json")
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, code, f"{args}: {p.stdout}{p.stderr}")
        if json_out and p.stdout.strip():
            return json.loads(p.stdout)
        return p

    def rows(self):
        """Every row of directory.db (a dry run must leave them as they are)."""
        db = sqlite3.connect(os.path.join(self.data, "directory.db"))
        out = {}
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            out[table] = sorted(map(repr, db.execute(f'SELECT * FROM "{table}"')))
        db.close()
        return out

    def seed(self):
        self.ctl("domain", "add", "example.com")
        alice = self.ctl("user", "add", "alice@example.com", "--password", "wonderland",
                         "--scheme", "SSHA512")
        self.ctl("group", "add", "staff@example.com", "--member", "alice@example.com")
        return alice

    def test_writes_are_journaled_as_cli_by_the_unix_user(self):
        alice = self.seed()
        self.ctl("user", "change", "alice@example.com", "--password", "new", "--scheme", "SSHA512")
        changes = self.ctl("journal", "list")
        self.assertEqual([c["operation"] for c in changes],
                         ["user.change", "group.add", "user.add", "domain.add"])
        who = f"mailroomctl({getpass.getuser()})"
        for c in changes:
            self.assertEqual(c["who"], who)
            self.assertEqual(c["front_end"], "cli")
            self.assertTrue(c["time"].endswith("Z"))
        self.assertEqual(changes[2]["object"], "user:alice@example.com")
        self.assertEqual(changes[2]["object_id"], alice["id"])
        self.assertIsNone(changes[2]["before"])
        self.assertTrue(changes[0]["after"]["password_changed"])
        self.assertNotIn("password_changed", changes[0]["before"])
        # No hash in any document, in JSON or text.
        text = self.ctl("journal", "list", json_out=False).stdout
        full = json.dumps(changes)
        for out in (text, full):
            self.assertNotIn("{SSHA512}", out)
            self.assertNotIn("SCRAM-SHA-256$", out)
        mode = stat.S_IMODE(os.stat(os.path.join(self.data, "journal.db")).st_mode)
        self.assertEqual(mode, 0o600)
        # Filters.
        self.assertEqual(len(self.ctl("journal", "list", "--object", "user:")), 2)
        self.assertEqual(len(self.ctl("journal", "list", "--operation", "group")), 1)
        self.assertEqual(len(self.ctl("journal", "list", "--limit", "1")), 1)
        self.assertEqual(len(self.ctl("journal", "list", "--who", "someone-else")), 0)
        self.assertEqual(len(self.ctl("journal", "list", "--since", "2000-01-01")), 4)
        self.assertEqual(len(self.ctl("journal", "list", "--until", "2000-01-01T00:00:00Z")), 0)
        err = self.ctl("journal", "list", "--since", "yesterday", code=1)
        self.assertIn("--since", err["error"])
        shown = self.ctl("journal", "show", changes[0]["change_set"])
        self.assertEqual(len(shown["changes"]), 1)
        self.assertEqual(self.ctl("journal", "show", "000000000000", code=1)["code"], "not_found")
        self.assertEqual(self.ctl("journal", "purge", "--before", "2000-01-01")["deleted"], 0)
        self.assertEqual(self.ctl("journal", "purge", "--before", "2999-01-01")["deleted"], 4)
        self.assertEqual(self.ctl("journal", "list"), [])

    def test_dry_run_changes_nothing_and_says_what_would_change(self):
        self.seed()
        before_rows = self.rows()
        before_journal = self.ctl("journal", "list")
        out = self.ctl("user", "remove", "alice@example.com", "--dry-run")
        self.assertTrue(out["dry_run"])
        self.assertEqual([c["operation"] for c in out["changes"]],
                         ["group.member_remove", "user.remove"])
        self.assertIsNone(out["changes"][1]["after"])
        out = self.ctl("domain", "add", "example.org", "--dry-run")
        self.assertEqual(out["result"]["name"], "example.org")
        self.ctl("alias", "add", "info@example.com", "alice@example.com", "--dry-run")
        self.ctl("group", "add-member", "staff@example.com", "bob@example.com", "--dry-run")
        text = self.ctl("user", "change", "alice@example.com", "--name", "Alice", "--dry-run",
                        json_out=False).stdout
        self.assertIn("dry run: nothing changed", text)
        self.assertIn("would user.change user:alice@example.com", text)
        # Same errors as the real command.
        err = self.ctl("user", "add", "alice@example.com", "--password", "x", "--dry-run", code=1)
        self.assertEqual(err["code"], "already_exists")
        self.assertEqual(self.rows(), before_rows)
        self.assertEqual(self.ctl("journal", "list"), before_journal)

    def test_revert_a_removed_user_and_a_conflict(self):
        alice = self.seed()
        self.ctl("user", "remove", "alice@example.com")
        removal = self.ctl("journal", "list", "--limit", "1")[0]["change_set"]
        dry = self.ctl("journal", "revert", removal, "--dry-run")
        self.assertTrue(dry["dry_run"])
        self.ctl("user", "show", "alice@example.com", code=1)
        done = self.ctl("journal", "revert", removal)
        self.assertEqual(done["reverted"], removal)
        self.assertEqual([c["operation"] for c in done["changes"]],
                         ["user.add", "group.member_add"])
        back = self.ctl("user", "show", "alice@example.com")
        self.assertEqual(back["id"], alice["id"])  # its mailbox (keyed by id) is its own again
        self.assertEqual(self.ctl("group", "show", "staff@example.com")["members"],
                         ["alice@example.com"])
        newest = self.ctl("journal", "list", "--limit", "1")[0]
        self.assertEqual(newest["reverts"], removal)

        # Removed again, and the address taken since: the revert is refused, nothing changes.
        self.ctl("user", "remove", "alice@example.com")
        removal = self.ctl("journal", "list", "--object", "user:", "--limit", "1")[0]["change_set"]
        self.ctl("user", "add", "alice@example.com", "--password", "other", "--scheme", "SSHA512")
        rows = self.rows()
        err = self.ctl("journal", "revert", removal, code=1)
        self.assertEqual(err["code"], "already_exists")
        self.assertIn(removal, err["error"])
        self.assertEqual(self.rows(), rows)
        self.assertEqual(self.ctl("journal", "revert", "ffffffffffff", code=1)["code"],
                         "not_found")


if __name__ == "__main__":
    unittest.main()
