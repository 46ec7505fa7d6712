"""mailroomctl api-token and admin against a temporary data directory (no mailroomd needed).

Run by ctest as unit.ctl.admin with MAILROOM_CTL = the ctl_admin_driver (directory commands
plus these); run by hand with MAILROOM_CTL=build/debug/bin/mailroomctl to test the real tool.
"""
import json
import os
import re
import stat
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CTL = os.environ.get("MAILROOM_CTL") or os.path.join(ROOT, "build", "debug", "bin", "mailroomctl")


class CtlAdminTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mailroom-ctl-admin-")
        self.data = os.path.join(self.tmp.name, "data")
        self.config = os.path.join(self.tmp.name, "mailroom.toml")
        with open(self.config, "w") as f:
            f.write(f'[server]\ndata_dir = "{self.data}"\n')
        self.ctl("domain", "add", "example.com")
        self.alice = self.ctl("user", "add", "alice@example.com", "--password", "wonderland",
                              "--scheme", "SSHA512")
        self.ctl("user", "add", "bob@example.com", "--password", "builder", "--scheme", "SSHA512")

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

    def test_token_create_list_revoke(self):
        created = self.ctl("api-token", "create", "ci-provisioning", "--role", "domain_admin",
                           "--domain", "Example.com", "--expires", "30d")
        token = created["token"]
        self.assertRegex(token, r"^mrt_[0-9a-f]{16}_[0-9a-f]{48}$")
        self.assertEqual(token[4:20], created["id"])
        self.assertEqual(created["grants"], [{"role": "domain_admin", "domains": ["example.com"],
                                              "members_of": ""}])
        self.assertEqual(created["expires_at"] - created["created_at"], 30 * 86400)
        self.assertEqual(created["state"], "active")
        self.assertEqual(created["created_by"], "mailroomctl")

        db = os.path.join(self.data, "admin.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        for name in ("admin.db", "admin.db-wal"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(token[21:].encode(), f.read(), name)

        listed = self.ctl("api-token", "list")
        self.assertEqual([t["name"] for t in listed], ["ci-provisioning"])
        self.assertNotIn("token", listed[0])
        human = self.ctl("api-token", "list", json_out=False).stdout
        self.assertIn("ci-provisioning", human)
        self.assertNotIn(token[21:], human)

        # Human output shows the token once, with the warning.
        p = self.ctl("api-token", "create", "other", "--role", "auditor", json_out=False)
        self.assertRegex(p.stdout, r"mrt_[0-9a-f]{16}_[0-9a-f]{48}")
        self.assertIn("Shown once", p.stdout)
        self.assertIn("event=admin.api_token_created", p.stderr)
        self.assertNotRegex(p.stderr, r"mrt_[0-9a-f]{16}_")

        self.ctl("api-token", "create", "other", "--role", "auditor", code=1)
        revoked = self.ctl("api-token", "revoke", "ci-provisioning")
        self.assertEqual(revoked["state"], "revoked")
        self.ctl("api-token", "revoke", "ci-provisioning", code=1)
        self.ctl("api-token", "revoke", self.ctl("api-token", "list")[0]["id"])
        self.assertEqual(self.ctl("api-token", "list"), [])
        self.assertEqual(len(self.ctl("api-token", "list", "--all")), 2)

    def test_token_arguments_are_checked(self):
        for args in (
            ["bad name", "--role", "auditor"],
            ["t", "--role", "root"],
            ["t", "--role", "domain_admin"],
            ["t", "--role", "global_admin", "--domain", "example.com"],
            ["t", "--role", "helpdesk", "--domain", "not a domain"],
            ["t", "--role", "auditor", "--expires", "731d"],
            ["t", "--role", "auditor", "--expires", "0d"],
            ["t", "--role", "auditor", "--expires", "soon"],
        ):
            out = self.ctl("api-token", "create", *args, code=1)
            self.assertEqual(out["code"], "invalid_argument", args)
        self.ctl("api-token", "create", "t", code=1, json_out=False)  # --role is required
        self.assertEqual(self.ctl("api-token", "list", "--all"), [])
        ok = self.ctl("api-token", "create", "t", "--role", "global_admin", "--expires", "730d")
        self.assertEqual(ok["expires_at"] - ok["created_at"], 730 * 86400)

    def test_grants_to_accounts_and_groups(self):
        self.ctl("group", "add", "helpdesk@example.com", "--member", "team@example.com")
        self.ctl("group", "add", "team@example.com", "--member", "bob@example.com")
        g = self.ctl("admin", "grant", "domain_admin", "--account", "alice@example.com",
                     "--domain", "example.com")
        self.assertEqual(g["principal"], "account:alice@example.com")
        self.assertEqual(g["principal_id"], self.alice["id"])
        self.ctl("admin", "grant", "helpdesk", "--group", "helpdesk@example.com")
        self.ctl("admin", "grant", "helpdesk", "--group", "helpdesk@example.com", code=1)
        self.ctl("admin", "grant", "helpdesk", "--group", "nobody@example.com", code=1)
        self.ctl("admin", "grant", "helpdesk", "--account", "nobody@example.com", code=1)
        self.ctl("admin", "grant", "helpdesk", code=1)
        self.ctl("admin", "grant", "helpdesk", "--account", "alice@example.com", "--group",
                 "helpdesk@example.com", code=1)

        self.assertEqual(len(self.ctl("admin", "list")), 2)
        self.assertEqual(len(self.ctl("admin", "list", "--account", self.alice["id"])), 1)

        bob = self.ctl("admin", "roles", "bob@example.com")
        self.assertEqual(bob["grants"], [{"role": "helpdesk", "domains": [], "members_of": "",
                                          "source": "group:helpdesk@example.com"}])
        self.assertFalse(bob["global_admin"])
        alice = self.ctl("admin", "roles", "alice@example.com")
        self.assertEqual([x["role"] for x in alice["grants"]], ["domain_admin"])

        # A disabled account holds no role.
        self.ctl("user", "change", "bob@example.com", "--status", "disabled")
        self.assertEqual(self.ctl("admin", "roles", "bob@example.com")["grants"], [])

        gid = self.ctl("admin", "list", "--group", "helpdesk@example.com")[0]["id"]
        self.ctl("admin", "revoke", "--id", gid)
        self.ctl("admin", "revoke", "--id", gid, code=1)
        out = self.ctl("admin", "revoke", "domain_admin", "--account", "alice@example.com")
        self.assertEqual(len(out["revoked"]), 1)
        self.ctl("admin", "revoke", "domain_admin", "--account", "alice@example.com", code=1)
        self.assertEqual(self.ctl("admin", "list"), [])
        human = self.ctl("admin", "roles", "alice@example.com", json_out=False).stdout
        self.assertIn("no administrative role", human)

    def test_member_scoped_grants_and_tokens(self):
        self.ctl("group", "add", "sales@example.com", "--member", "bob@example.com")
        self.ctl("group", "add", "compliance@example.com", "--member", "alice@example.com")
        g = self.ctl("admin", "grant", "auditor", "--group", "compliance@example.com",
                     "--domain", "example.com", "--members-of", "Sales@Example.com")
        self.assertEqual(g["members_of"], "sales@example.com")
        # The same role without the scope, or with it again.
        self.ctl("admin", "grant", "auditor", "--group", "compliance@example.com",
                 "--domain", "example.com")
        out = self.ctl("admin", "grant", "auditor", "--group", "compliance@example.com",
                       "--domain", "example.com", "--members-of", "sales@example.com", code=1)
        self.assertEqual(out["code"], "already_exists")
        for bad, code in (("nobody@example.com", "not_found"), ("bob@example.com", "not_found"),
                          ("not-an-address", "invalid_argument")):
            out = self.ctl("admin", "grant", "auditor", "--account", "bob@example.com",
                           "--members-of", bad, code=1)
            self.assertEqual(out["code"], code, bad)
        out = self.ctl("admin", "grant", "global_admin", "--account", "bob@example.com",
                       "--members-of", "sales@example.com", code=1)
        self.assertEqual(out["code"], "invalid_argument")

        listed = self.ctl("admin", "list", "--group", "compliance@example.com")
        self.assertEqual(sorted(x["members_of"] for x in listed), ["", "sales@example.com"])
        human = self.ctl("admin", "list", json_out=False).stdout
        self.assertIn("auditor(example.com; members of sales@example.com)", human)
        roles = self.ctl("admin", "roles", "alice@example.com")
        self.assertIn({"role": "auditor", "domains": ["example.com"],
                       "members_of": "sales@example.com",
                       "source": "group:compliance@example.com"}, roles["grants"])

        t = self.ctl("api-token", "create", "officer", "--role", "auditor", "--members-of",
                     "SALES@example.com")
        self.assertEqual(t["grants"], [{"role": "auditor", "domains": [],
                                        "members_of": "sales@example.com"}])
        self.assertEqual(self.ctl("api-token", "list")[0]["grants"][0]["members_of"],
                         "sales@example.com")
        human = self.ctl("api-token", "list", json_out=False).stdout
        self.assertIn("auditor(all domains; members of sales@example.com)", human)
        out = self.ctl("api-token", "create", "x", "--role", "auditor", "--members-of",
                       "nobody@example.com", code=1)
        self.assertEqual(out["code"], "not_found")
        self.assertEqual(len(self.ctl("api-token", "list", "--all")), 1)

        out = self.ctl("admin", "revoke", "auditor", "--group", "compliance@example.com")
        self.assertEqual(len(out["revoked"]), 2)


if __name__ == "__main__":
    unittest.main()
