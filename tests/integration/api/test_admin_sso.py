"""The admin API with the company identity provider's tokens (issue 17): an account holds a
role because it is a member of a directory group, and calls the API with an access token
issued for it (JWT signed by a real OIDC issuer on loopback, peers_oidc.TokenMinter, checked by
mailroomd's sso/ like OAUTHBEARER). Group membership is read at each call: leaving the group
ends the role."""
import unittest

from api_common import Http, api_server
from peers_oidc import TokenMinter

SSO = """
[sso]
allow_http = true
[[sso.issuer]]
issuer = "{issuer}"
audiences = ["mailroom"]
required_scope = "mail"
claim = "email"
"""


class AdminApiWithIdpTokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = TokenMinter().start()
        cls.m = api_server(extra_config=SSO.format(issuer=cls.idp.issuer), seed=True)
        cls.m.ctl("domain", "add", "other.example")
        cls.m.ctl("user", "add", "olga@other.example", "--password", "pw-olga-1")
        cls.m.ctl("group", "add", "mail-admins@example.com", "--member", "alice@example.com")
        cls.m.ctl("admin", "grant", "domain_admin", "--group", "mail-admins@example.com",
                  "--domain", "example.com")
        cls.http = Http(cls.m)

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.m.close()
        cls.idp.stop()

    def test_group_member_is_a_domain_admin_with_her_idp_token(self):
        alice = self.idp.mint("alice")
        status, doc, _ = self.http.json("GET", "/api/v1/users", token=alice)
        self.assertEqual(status, 200, doc)
        addresses = [u["address"] for u in doc["items"]]
        self.assertIn("bob@example.com", addresses)
        self.assertNotIn("olga@other.example", addresses)  # outside her domains
        self.assertEqual(self.http.json("GET", "/api/v1/users/olga@other.example", token=alice)[0], 404)
        status, doc, _ = self.http.json("PATCH", "/api/v1/users/bob@example.com",
                                        {"display_name": "Bob B."}, token=alice)
        self.assertEqual((status, doc["display_name"]), (200, "Bob B."))
        # A domain admin does not manage domains or the server.
        self.assertEqual(self.http.json("DELETE", "/api/v1/domains/example.com", token=alice)[0], 403)
        self.assertEqual(self.http.json("GET", "/api/v1/blocklist", token=alice)[0], 404)

    def test_account_without_a_role_gets_403_and_bad_tokens_401(self):
        status, doc, _ = self.http.json("GET", "/api/v1/users", token=self.idp.mint("bob"))
        self.assertEqual(status, 403, doc)
        self.assertIn("no administrative role", doc["detail"])
        for bad in (self.idp.mint("alice", aud="someone-else"),
                    self.idp.mint("alice", scope="openid email"),
                    self.idp.mint("alice", exp=1000),
                    self.idp.mint("nobody")):
            status, _, headers = self.http.json("GET", "/api/v1/users", token=bad)
            self.assertEqual(status, 401)
            self.assertIn('error="invalid_token"', headers["www-authenticate"])

    def test_leaving_the_group_ends_the_role(self):
        self.m.ctl("group", "add", "helpdesk@example.com", "--member", "bob@example.com")
        self.m.ctl("admin", "grant", "helpdesk", "--group", "helpdesk@example.com",
                   "--domain", "example.com")
        bob = self.idp.mint("bob")
        status, doc, _ = self.http.json("POST", "/api/v1/users/alice@example.com/unlock", token=bob)
        self.assertEqual(status, 200, doc)
        self.assertEqual(self.http.json("PATCH", "/api/v1/users/alice@example.com",
                                        {"display_name": "x"}, token=bob)[0], 403)
        self.m.ctl("group", "remove-member", "helpdesk@example.com", "bob@example.com")
        status, doc, _ = self.http.json("POST", "/api/v1/users/alice@example.com/unlock", token=bob)
        self.assertEqual(status, 403, doc)


if __name__ == "__main__":
    unittest.main()
