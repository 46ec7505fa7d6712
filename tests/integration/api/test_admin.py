"""The admin REST API (/api/v1) on a real mailroomd through real HTTP clients (http.client and
curl): every resource, the effect of each change on real mail clients (imaplib, smtplib),
problem details, tokens and scopes. Issue 17. The full role × route × scope matrix is the unit
test tests/unit/api/admin_matrix_test.cpp; here a few cases prove it over the wire."""
import imaplib
import json
import smtplib
import subprocess
import time
import unittest

from api_common import Http, admin_token, api_server

AUTH = "\n".join(["max_failures_per_account = 3", "max_failures_per_ip = 1000",
                  "max_failures_per_account_all_sources = 1000"])


def imap_login(m, user, password):
    c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    c.login(user, password)
    return c


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = api_server(seed=True, auth_config=AUTH, plaintext_on_loopback=True)
        cls.token = admin_token(cls.m)
        cls.http = Http(cls.m)

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.m.close()

    def call(self, method, path, body=None, token=None, **kw):
        return self.http.json(method, path, body=body, token=token or self.token, **kw)

    def test_domains_users_passwords_through_real_clients(self):
        status, doc, headers = self.call("POST", "/api/v1/domains", {"name": "Corp.Example"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["name"], "corp.example")
        self.assertEqual(headers["location"], "/api/v1/domains/corp.example")
        status, doc, headers = self.call("POST", "/api/v1/users", {
            "address": "carol@corp.example", "password": "first-pass-1", "display_name": "Carol",
            "quota_bytes": "10M"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["quota_bytes"], 10 * 1024 * 1024)
        uid = doc["id"]
        imap_login(self.m, "carol@corp.example", "first-pass-1").logout()
        # Shown by address, by id; changed; the password reset works for IMAP at once.
        self.assertEqual(self.call("GET", "/api/v1/users/carol@corp.example")[1]["id"], uid)
        self.assertEqual(self.call("GET", "/api/v1/users/" + uid)[1]["address"], "carol@corp.example")
        status, doc, _ = self.call("PATCH", "/api/v1/users/" + uid,
                                   {"display_name": "Carol C.", "add_addresses": ["cc@corp.example"]})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["other_addresses"], ["cc@corp.example"])
        status, _, _ = self.call("PUT", f"/api/v1/users/{uid}/password", {"password": "second-pass-2"})
        self.assertEqual(status, 204)
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "carol@corp.example", "first-pass-1")
        imap_login(self.m, "carol@corp.example", "second-pass-2").logout()
        # Listing with paging.
        status, doc, _ = self.call("GET", "/api/v1/users?domain=corp.example&limit=1")
        self.assertEqual((status, doc["total"], len(doc["items"])), (200, 1, 1))
        # Disabled through the API: IMAP refuses.
        self.assertEqual(self.call("PATCH", "/api/v1/users/" + uid, {"status": "disabled"})[0], 200)
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "carol@corp.example", "second-pass-2")
        # Removed: 204, then 404; the domain can go once empty.
        self.assertEqual(self.call("DELETE", "/api/v1/users/" + uid)[0], 204)
        self.assertEqual(self.call("GET", "/api/v1/users/" + uid)[0], 404)
        self.assertEqual(self.call("DELETE", "/api/v1/domains/corp.example")[0], 204)

    def test_policy_bundles_and_the_users_effective_policy(self):
        # Bundles by directory group (issue 22, G6) through the API; the user resource says
        # what applies and where each value comes from; a change shows at once.
        status, doc, headers = self.call("POST", "/api/v1/policies", {
            "name": "api-team", "max_message_bytes": "50M", "pop3": True, "priority": 3})
        self.assertEqual(status, 201, doc)
        self.assertEqual(headers["location"], "/api/v1/policies/api-team")
        self.addCleanup(self.call, "DELETE", "/api/v1/policies/api-team?force=true")
        self.assertEqual(self.call("POST", "/api/v1/policies",
                                   {"name": "bad", "login_methods": ["telepathy"]})[0], 400)
        status, doc, _ = self.call("POST", "/api/v1/policies/api-team/assignments",
                                   {"scope": "group", "target": "staff@example.com"})
        self.assertEqual(status, 201, doc)
        status, doc, _ = self.call("GET", "/api/v1/users/alice@example.com")
        self.assertEqual(status, 200, doc)
        e = doc["effective_policy"]
        self.assertEqual(e["max_message_bytes"],
                         {"value": 50 * 1024 * 1024, "from": "policy api-team (group staff@example.com)"})
        self.assertEqual(e["send_outside"], {"value": True, "from": "default"})
        self.assertEqual(e["bundles"], ["api-team"])
        status, doc, _ = self.call("PATCH", "/api/v1/policies/api-team",
                                   {"max_message_bytes": "60M", "pop3": None})
        self.assertEqual(status, 200, doc)
        self.assertNotIn("pop3", doc)
        e = self.call("GET", "/api/v1/users/alice@example.com")[1]["effective_policy"]
        self.assertEqual(e["max_message_bytes"]["value"], 60 * 1024 * 1024)
        shown = self.call("GET", "/api/v1/policies/api-team")[1]
        self.assertEqual([(a["scope"], a["current"]) for a in shown["assigned_to"]],
                         [("group", "staff@example.com")])
        # mailroomctl sees the same bundle; removal while assigned needs force.
        self.assertEqual(self.m.ctl("policy", "list")[0]["name"], "api-team")
        self.assertEqual(self.call("DELETE", "/api/v1/policies/api-team")[0], 400)
        status, _, _ = self.call("DELETE", "/api/v1/policies/api-team/assignments"
                                           "?scope=group&target=staff@example.com")
        self.assertEqual(status, 204)
        e = self.call("GET", "/api/v1/users/alice@example.com")[1]["effective_policy"]
        self.assertEqual(e["max_message_bytes"], {"value": 0, "from": "default"})

    def test_aliases_and_groups_route_real_mail(self):
        status, doc, _ = self.call("POST", "/api/v1/aliases",
                                   {"address": "sales@example.com", "targets": ["bob@example.com"]})
        self.assertEqual(status, 201, doc)
        status, doc, _ = self.call("POST", "/api/v1/groups",
                                   {"address": "team@example.com", "members": ["alice@example.com"]})
        self.assertEqual(status, 201, doc)
        status, doc, _ = self.call("POST", "/api/v1/groups/team@example.com/members",
                                   {"member": "bob@example.com"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(sorted(doc["members"]), ["alice@example.com", "bob@example.com"])
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp")) as s:
            s.sendmail("x@remote.example", ["sales@example.com"],
                       b"Subject: via alias\r\nMessage-ID: <alias-1@remote.example>\r\n\r\nhi\r\n")
        # The delivery log shows where it went (searched through the API).
        deadline = time.time() + 30
        items = []
        while time.time() < deadline and not items:
            status, doc, _ = self.call("GET", "/api/v1/delivery-log?message_id=alias-1@remote.example")
            self.assertEqual(status, 200, doc)
            items = doc["items"]
            time.sleep(0.2)
        self.assertEqual(items[0]["final_address"], "bob@example.com")
        self.assertEqual(items[0]["result"], "delivered")
        status, doc, _ = self.call("PUT", "/api/v1/aliases/sales@example.com",
                                   {"targets": ["alice@example.com"]})
        self.assertEqual((status, doc["targets"]), (200, ["alice@example.com"]))
        self.assertEqual(self.call("DELETE", "/api/v1/groups/team@example.com/members/bob@example.com")[0], 200)
        self.assertEqual(self.call("DELETE", "/api/v1/groups/team@example.com")[0], 204)
        self.assertEqual(self.call("DELETE", "/api/v1/aliases/sales@example.com")[0], 204)
        self.assertEqual(self.call("GET", "/api/v1/aliases/sales@example.com")[0], 404)

    def test_app_password_sessions_kick_and_unlock(self):
        status, doc, _ = self.call("POST", "/api/v1/users/bob@example.com/app-passwords",
                                   {"name": "phone", "protocols": ["imap"]})
        self.assertEqual(status, 201, doc)
        secret = doc["secret"]
        c = imap_login(self.m, "bob@example.com", secret)
        try:
            c.select("INBOX")
            status, doc, _ = self.call("GET", "/api/v1/users/bob@example.com/sessions")
            self.assertEqual(status, 200)
            self.assertEqual([s["protocol"] for s in doc["items"]], ["imap"])
            self.assertTrue(doc["items"][0]["app_password"])
            status, doc, _ = self.call("GET", "/api/v1/sessions?domain=example.com")
            self.assertIn("bob@example.com", [s["address"] for s in doc["items"]])
            status, doc, _ = self.call("DELETE", "/api/v1/users/bob@example.com/sessions")
            self.assertEqual((status, doc["closed"]), (200, 1))
            with self.assertRaises((imaplib.IMAP4.abort, OSError, imaplib.IMAP4.error)):
                for _ in range(50):
                    c.noop()
                    time.sleep(0.1)
        finally:
            try:
                c.shutdown()
            except OSError:
                pass
        self.assertEqual(self.call("DELETE", "/api/v1/users/bob@example.com/app-passwords/phone")[0], 200)
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "bob@example.com", secret)
        # Lock bob out (3 failures from this IP), then the helpdesk unlock lets him in.
        for _ in range(4):
            with self.assertRaises(imaplib.IMAP4.error):
                imap_login(self.m, "bob@example.com", "wrong")
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "bob@example.com", "builder")
        helpdesk = admin_token(self.m, "helpdesk-1", "helpdesk", ["example.com"])
        status, doc, _ = self.call("POST", "/api/v1/users/bob@example.com/unlock", token=helpdesk)
        self.assertEqual((status, doc["was_locked"]), (200, True))
        imap_login(self.m, "bob@example.com", "builder").logout()

    def test_mailboxes_quota_export_queue_blocklist_sync(self):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp")) as s:
            s.sendmail("x@remote.example", ["alice@example.com"],
                       b"Subject: export me\r\nMessage-ID: <exp-1@remote.example>\r\n\r\nbody\r\n")
        deadline = time.time() + 30
        while time.time() < deadline:
            status, doc, _ = self.call("GET", "/api/v1/users/alice@example.com/mailboxes")
            inbox = [b for b in doc["items"] if b["name"] == "INBOX"][0]
            if inbox["messages"] >= 1:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(inbox["messages"], 1)
        status, doc, _ = self.call("GET", "/api/v1/users/alice@example.com/quota")
        self.assertEqual(status, 200)
        self.assertGreater(doc["used_bytes"], 0)
        status, headers, raw = self.http.request("GET", "/api/v1/users/alice@example.com/export",
                                                 token=self.token)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/mbox")
        self.assertIn(b"Subject: export me", raw)
        self.assertTrue(raw.startswith(b"From "))
        # Folders: created (with parents), renamed, deleted; IMAP sees each step.
        self.assertEqual(self.call("POST", "/api/v1/users/alice@example.com/mailboxes",
                                   {"name": "Projects/2026"})[0], 201)
        self.assertEqual(self.call("PATCH", "/api/v1/users/alice@example.com/mailboxes/Projects",
                                   {"name": "Archive"})[0], 200)
        c = imap_login(self.m, "alice@example.com", "wonderland")
        try:
            listed = b" ".join(c.list()[1])
            self.assertIn(b"Archive/2026", listed)
            self.assertNotIn(b"Projects", listed)
        finally:
            c.logout()
        self.assertEqual(self.call("DELETE", "/api/v1/users/alice@example.com/mailboxes/Archive")[0], 400)
        self.assertEqual(self.call("DELETE",
                                   "/api/v1/users/alice@example.com/mailboxes/Archive?recursive=true")[0], 204)
        self.assertEqual(self.call("GET", "/api/v1/conflicts")[0], 200)
        self.assertEqual(self.call("GET", "/api/v1/queue")[0], 200)
        status, doc, _ = self.call("POST", "/api/v1/blocklist", {"kind": "ip", "value": "192.0.2.0/24"})
        self.assertEqual((status, doc["value"]), (201, "192.0.2.0/24"))
        self.assertIn({"kind": "ip", "value": "192.0.2.0/24"}, self.call("GET", "/api/v1/blocklist")[1]["items"])
        self.assertEqual(self.call("DELETE", "/api/v1/blocklist/ip/192.0.2.0%2F24")[0], 204)
        # Local directory: sync status answers with its backend.
        status, doc, _ = self.call("GET", "/api/v1/directory/sync")
        self.assertIn(status, (200, 400), doc)

    def test_problem_details_for_bad_requests(self):
        status, doc, headers = self.call("POST", "/api/v1/users", "{not json")
        self.assertEqual((status, headers["content-type"]), (400, "application/problem+json"))
        self.assertIn("not valid JSON", doc["detail"])
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "z@example.com", "pasword": "x"})
        self.assertEqual(status, 400)
        self.assertIn("pasword", doc["detail"])
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "z@example.com", "password": "x"},
                                   content_type="text/plain")
        self.assertEqual(status, 415)
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "alice@example.com", "password": "x"})
        self.assertEqual(status, 409, doc)
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "z@nowhere.example", "password": "x"})
        self.assertEqual(status, 400, doc)
        status, doc, _ = self.call("PATCH", "/api/v1/users/alice@example.com", {"quota_bytes": "lots"})
        self.assertEqual(status, 400)
        status, doc, _ = self.call("PATCH", "/api/v1/users/alice@example.com", {"status": 3})
        self.assertEqual(status, 400)
        status, doc, _ = self.call("GET", "/api/v1/users?limit=abc")
        self.assertEqual(status, 400)
        status, doc, _ = self.call("DELETE", "/api/v1/users/alice@example.com?dry_run=maybe")
        self.assertEqual(status, 400)

    def test_tokens_and_scopes_over_the_wire(self):
        # A domain admin of another domain does not see example.com's objects at all.
        self.assertEqual(self.call("POST", "/api/v1/domains", {"name": "other.example"})[0], 201)
        other = admin_token(self.m, "other-admin", "domain_admin", ["other.example"])
        self.assertEqual(self.call("GET", "/api/v1/users/alice@example.com", token=other)[0], 404)
        self.assertEqual(self.call("DELETE", "/api/v1/users/alice@example.com", token=other)[0], 404)
        status, doc, _ = self.call("GET", "/api/v1/users", token=other)
        self.assertEqual((status, doc["total"]), (200, 0))
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "x@example.com", "password": "p"},
                                   token=other)
        self.assertEqual(status, 404)
        self.assertEqual(self.call("DELETE", "/api/v1/domains/other.example", token=other)[0], 403)
        self.assertEqual(self.call("GET", "/api/v1/blocklist", token=other)[0], 404)
        # An auditor reads and searches but never writes.
        auditor = admin_token(self.m, "auditor-1", "auditor", ["example.com"])
        self.assertEqual(self.call("GET", "/api/v1/users/alice@example.com", token=auditor)[0], 200)
        self.assertEqual(self.call("GET", "/api/v1/delivery-log", token=auditor)[0], 200)
        self.assertEqual(self.call("PATCH", "/api/v1/users/alice@example.com", {"display_name": "x"},
                                   token=auditor)[0], 403)
        # Revoked, unknown and malformed tokens: the same 401.
        self.m.ctl("api-token", "revoke", "auditor-1")
        for bad in (auditor, "mrt_0000000000000000_" + "0" * 48, "garbage"):
            status, doc, headers = self.call("GET", "/api/v1/users", token=bad)
            self.assertEqual(status, 401, bad)
            self.assertIn("Bearer", headers["www-authenticate"])

    def test_dry_runs_change_nothing_and_say_what_would_change(self):
        status, doc, _ = self.call("POST", "/api/v1/users?dry_run=true",
                                   {"address": "dry@example.com", "password": "pw-dry-1"})
        self.assertEqual(status, 200, doc)
        self.assertTrue(doc["dry_run"])
        self.assertEqual([c["operation"] for c in doc["changes"]], ["user.add"])
        self.assertIsNone(doc["changes"][0]["before"])
        self.assertEqual(doc["changes"][0]["after"]["address"], "dry@example.com")
        self.assertEqual(self.call("GET", "/api/v1/users/dry@example.com")[0], 404)
        # The same errors as the real write.
        status, doc, _ = self.call("POST", "/api/v1/users?dry_run=true",
                                   {"address": "alice@example.com", "password": "x"})
        self.assertEqual(status, 409, doc)
        before = self.call("GET", "/api/v1/users/bob@example.com")[1]
        status, doc, _ = self.call("PATCH", "/api/v1/users/bob@example.com?dry_run=1",
                                   {"quota_bytes": 12345})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["changes"][0]["after"]["quota_bytes"], 12345)
        self.assertEqual(self.call("GET", "/api/v1/users/bob@example.com")[1]["quota_bytes"],
                         before["quota_bytes"])
        status, doc, _ = self.call("DELETE", "/api/v1/users/bob@example.com?dry_run=true")
        self.assertEqual(status, 200)
        # bob leaves staff@ too: every object the removal would change is listed.
        self.assertEqual(sorted(c["operation"] for c in doc["changes"]),
                         ["group.member_remove", "user.remove"])
        self.assertEqual(self.call("GET", "/api/v1/users/bob@example.com")[0], 200)
        # No dry run where nothing could be computed without doing it.
        self.assertEqual(self.call("POST", "/api/v1/users/bob@example.com/unlock?dry_run=true")[0], 400)

    def test_journal_records_api_changes_and_reverts_a_removal(self):
        status, doc, _ = self.call("POST", "/api/v1/users", {"address": "dora@example.com",
                                                             "password": "pw-dora-1"})
        self.assertEqual(status, 201, doc)
        uid = doc["id"]
        self.assertEqual(self.call("DELETE", "/api/v1/users/dora@example.com")[0], 204)
        status, doc, _ = self.call("GET", "/api/v1/journal?object=user:dora@example.com")
        self.assertEqual(status, 200)
        ops = [(r["operation"], r["front_end"], r["who"]) for r in doc["items"]]
        self.assertEqual(ops[:2], [("user.remove", "api", "token:test-admin"),
                                   ("user.add", "api", "token:test-admin")])
        for r in doc["items"]:
            self.assertNotIn("password_hash", json.dumps(r))
        removal = doc["items"][0]["change_set"]
        status, doc, _ = self.call("POST", f"/api/v1/journal/{removal}/revert")
        self.assertEqual(status, 200, doc)
        status, doc, _ = self.call("GET", "/api/v1/users/dora@example.com")
        self.assertEqual((status, doc["id"]), (200, uid))  # the same id: her mailbox again
        imap_login(self.m, "dora@example.com", "pw-dora-1").logout()
        # Twice is refused, changing nothing.
        status, doc, _ = self.call("POST", f"/api/v1/journal/{removal}/revert")
        self.assertEqual(status, 409, doc)
        # A domain admin of another domain sees none of it.
        other = admin_token(self.m, "journal-other", "domain_admin", ["nowhere.example"])
        status, doc, _ = self.call("GET", "/api/v1/journal?object=user:dora@example.com", token=other)
        self.assertEqual((status, doc["items"]), (200, []))
        self.assertEqual(self.call("GET", f"/api/v1/journal/{removal}", token=other)[0], 404)
        # mailroomctl sees the API's changes in the same journal.
        out = self.m.ctl("journal", "list", "--object", "user:dora@example.com")
        self.assertIn("api", json.dumps(out))

    def test_curl_with_the_token(self):
        p = subprocess.run(["curl", "-sS", "--fail-with-body", "-H", "Authorization: Bearer " + self.token,
                            f"http://127.0.0.1:{self.m.port('http')}/api/v1/domains"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        names = [d["name"] for d in json.loads(p.stdout)["items"]]
        self.assertIn("example.com", names)
        p = subprocess.run(["curl", "-sS", "--cacert", self.m.ca, "-X", "POST", "-H",
                            "Authorization: Bearer " + self.token, "-H", "Content-Type: application/json",
                            "-d", '{"kind":"sender","value":"spammer@bad.example"}',
                            f"https://localhost:{self.m.port('https')}/api/v1/blocklist"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["value"], "spammer@bad.example")


if __name__ == "__main__":
    unittest.main()
