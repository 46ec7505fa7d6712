"""mailroomctl directory commands against a temporary data directory (no mailroomd needed).

Run by ctest as unit.ctl.directory with MAILROOM_CTL = the ctl_directory_driver (the directory
commands alone); run by hand with MAILROOM_CTL=build/debug/bin/mailroomctl to test the real
tool.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CTL = os.environ.get("MAILROOM_CTL") or os.path.join(ROOT, "build", "debug", "bin", "mailroomctl")


class CtlTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mailroom-ctl-test-")
        self.config = os.path.join(self.tmp.name, "mailroom.toml")
        with open(self.config, "w") as f:
            f.write(f'[server]\ndata_dir = "{self.tmp.name}/data"\n')

    def tearDown(self):
        self.tmp.cleanup()

    def ctl(self, *args, code=0, json_out=True, input=None):
        cmd = [CTL, "--config", self.config]
        if json_out:
            cmd.append("--json")
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, input=input,
                           timeout=120)
        self.assertEqual(p.returncode, code, f"{args}: {p.stdout}{p.stderr}")
        if json_out and p.stdout.strip():
            return json.loads(p.stdout)
        return p

    def seed(self):
        self.ctl("domain", "add", "example.com")
        alice = self.ctl("user", "add", "alice@example.com", "--password", "wonderland",
                         "--name", "Alice")
        self.ctl("user", "add", "bob@example.com", "--password", "builder", "--name", "Bob",
                 "--scheme", "SSHA512")
        return alice

    def test_seed_like_the_harness(self):
        alice = self.seed()
        self.ctl("group", "add", "staff@example.com", "--member", "alice@example.com",
                 "--member", "bob@example.com")
        self.ctl("alias", "add", "info@example.com", "alice@example.com")
        shown = self.ctl("user", "show", "alice@example.com")
        for key in ("id", "login", "address", "display_name", "status", "quota_bytes",
                    "quota_messages"):
            self.assertIn(key, shown)
        self.assertEqual(shown["id"], alice["id"])
        self.assertEqual(len(shown["id"]), 36)
        self.assertEqual(shown["display_name"], "Alice")
        self.assertEqual(shown["status"], "active")
        self.assertTrue(shown["has_scram_secret"])
        group = self.ctl("group", "show", "staff@example.com")
        self.assertEqual(group["members"], ["alice@example.com", "bob@example.com"])
        self.assertEqual(self.ctl("alias", "show", "info@example.com")["targets"],
                         ["alice@example.com"])
        users = self.ctl("user", "list")
        self.assertEqual([u["address"] for u in users], ["alice@example.com", "bob@example.com"])

    def test_errors_name_the_object_and_use_exit_codes(self):
        self.seed()
        p = self.ctl("domain", "add", "example.com", code=1, json_out=False)
        self.assertIn("example.com", p.stderr)
        p = self.ctl("user", "add", "carol@nowhere.org", "--password", "x", code=1, json_out=False)
        self.assertIn("nowhere.org", p.stderr)
        p = self.ctl("user", "show", "nobody@example.com", code=1, json_out=False)
        self.assertIn("nobody@example.com", p.stderr)
        err = self.ctl("user", "add", "alice@example.com", "--password", "x", code=1)
        self.assertIn("alice@example.com", err["error"])
        self.assertEqual(err["code"], "already_exists")
        self.ctl("user", "add", "dave@example.com", code=1, json_out=False)  # no password
        self.ctl("user", "change", "alice@example.com", "--status", "sleepy", code=1)
        self.ctl("group", "add", "g@example.com", "--policy", "everyone", code=1)
        self.ctl("alias", "remove", "nothing@example.com", code=1)
        self.ctl("domain", "remove", "example.com", code=1)  # still has users
        self.ctl("user", "change", "alice@example.com", "--quota-bytes", "lots", code=1)

    def test_change_keeps_the_id(self):
        alice = self.seed()
        changed = self.ctl("user", "change", "alice@example.com", "--primary",
                           "alice.liddell@example.com", "--quota-bytes", "1G",
                           "--quota-messages", "500", "--status", "disabled",
                           "--name", "Alice L.")
        self.assertEqual(changed["id"], alice["id"])
        self.assertEqual(changed["address"], "alice.liddell@example.com")
        self.assertEqual(changed["other_addresses"], ["alice@example.com"])
        self.assertEqual(changed["quota_bytes"], 1 << 30)
        self.assertEqual(changed["quota_messages"], 500)
        self.assertEqual(changed["status"], "disabled")
        self.assertEqual(changed["display_name"], "Alice L.")
        # Still found by the old address (secondary), and by id.
        self.assertEqual(self.ctl("user", "show", "alice@example.com")["id"], alice["id"])
        self.assertEqual(self.ctl("user", "show", alice["id"])["id"], alice["id"])
        fwd = self.ctl("user", "change", alice["id"], "--forward", "a@remote.org",
                       "--no-keep-copy", "--login", "alice")
        self.assertEqual(fwd["forward_to"], ["a@remote.org"])
        self.assertFalse(fwd["forward_keep_copy"])
        self.assertEqual(fwd["login"], "alice")
        # bob's address cannot be taken.
        self.ctl("user", "change", "alice", "--primary", "bob@example.com", code=1)

    def test_conflicts_domains_groups(self):
        alice = self.seed()
        self.ctl("alias", "add", "alice@example.com", "bob@example.com")
        conflicts = self.ctl("conflicts")
        self.assertEqual(conflicts, [{"address": "alice@example.com", "account_id": alice["id"],
                                      "account_address": "alice@example.com",
                                      "kind": "alias"}])
        self.ctl("domain", "add", "example.net", "--alias-of", "example.com")
        self.ctl("domain", "change", "example.com", "--catch-all", "bob@example.com")
        domains = {d["name"]: d for d in self.ctl("domain", "list")}
        self.assertEqual(domains["example.net"]["kind"], "alias")
        self.assertEqual(domains["example.com"]["catch_all"], "bob@example.com")
        self.ctl("group", "add", "news@example.com", "--policy", "moderators",
                 "--allowed-sender", "alice@example.com")
        self.ctl("group", "add-member", "news@example.com", "bob@example.com")
        self.ctl("group", "add-member", "news@example.com", "bob@example.com", code=1)
        g = self.ctl("group", "show", "news@example.com")
        self.assertEqual(g["policy"], "moderators")
        self.assertEqual(g["allowed_senders"], ["alice@example.com"])
        self.assertEqual(g["members"], ["bob@example.com"])
        self.ctl("group", "remove-member", "news@example.com", "bob@example.com")
        self.ctl("group", "remove", "news@example.com")
        self.ctl("group", "show", "news@example.com", code=1)
        self.ctl("user", "remove", "bob@example.com")
        self.ctl("user", "show", "bob@example.com", code=1)

    def test_password_hash_reads_stdin(self):
        out = self.ctl("password", "hash", "--scheme", "SHA512-CRYPT", input="secret\n")
        self.assertTrue(out["hash"].startswith("{SHA512-CRYPT}$6$"), out)
        self.assertTrue(out["scram_secret"].startswith("SCRAM-SHA-256$4096:"), out)
        p = self.ctl("password", "hash", json_out=False, input="secret\n")
        self.assertTrue(p.stdout.startswith("{ARGON2ID}$argon2id$"), p.stdout)
        self.assertNotIn("secret", p.stdout.replace("{", "").split("$")[0])
        self.ctl("password", "hash", "--scheme", "MD5", input="x\n", code=1)

    def test_import_from_generator(self):
        gen = os.path.join(ROOT, "bench", "directory", "gen_accounts.py")
        accounts = os.path.join(self.tmp.name, "accounts.tsv")
        subprocess.run([sys.executable, gen, "60", "--domains", "3", "--out", accounts],
                       check=True)
        out = self.ctl("user", "import", "--file", accounts, "--create-domains")
        self.assertEqual(out["imported"], 60)
        self.assertEqual(len(self.ctl("user", "list", "--domain", "d1.example.com")), 20)
        # A second import of the same file fails on the first duplicate and adds nothing.
        err = self.ctl("user", "import", "--file", accounts, code=1)
        self.assertIn("accounts.tsv:1", err["error"])
        with open(accounts, "a") as f:
            f.write("broken line without hash\n")
        self.ctl("user", "import", "--file", accounts, code=1)


if __name__ == "__main__":
    unittest.main()
