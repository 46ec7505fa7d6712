"""SCIM 2.0 (RFC 7643, RFC 7644) on a real mailroomd, as the provisioning clients drive it:
a script shaped like Microsoft Entra ID's provisioning traffic and one like Okta's (create,
update attributes, disable, group members, delete), then the hostile cases, each with its
status and scimType. Issue 17."""
import json
import unittest
import urllib.parse

from api_common import Http, admin_token, api_server, raw_exchange, statuses

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def filt(expr):
    return urllib.parse.quote(expr, safe="")


def patch(*ops):
    return {"schemas": [PATCH], "Operations": list(ops)}


class ScimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = api_server()
        try:
            cls.m.seed_demo()
            cls.m.ctl("domain", "add", "example.org")
            cls.token = admin_token(cls.m)
            cls.entra = admin_token(cls.m, name="entra", role="domain_admin",
                                    domains=["example.com"])
        except BaseException:
            cls.m.close()  # tearDownClass does not run after a failed setUpClass
            raise

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def setUp(self):
        self.c = Http(self.m)

    def tearDown(self):
        self.c.close()

    def call(self, method, path, body=None, token=None, headers=None):
        status, doc, h = self.c.json(method, "/scim/v2" + path, body=body,
                                     token=token or self.token, headers=headers,
                                     content_type=SCIM)
        if status >= 400 and status != 401 and status != 413:
            self.assertEqual(h["content-type"], SCIM, doc)
            self.assertEqual(doc["schemas"], [ERROR])
            self.assertEqual(doc["status"], str(status))
        return status, doc, h

    def test_entra_id_script(self):
        t = self.entra
        # Entra's connection test and find-before-create
        s, doc, _ = self.call("GET", "/Users?filter=" + filt('userName eq "x-nobody"'), token=t)
        self.assertEqual((s, doc["totalResults"], doc["Resources"]), (200, 0, []))
        s, doc, h = self.call("POST", "/Users", {
            "schemas": [USER, ENTERPRISE],
            "externalId": "e6f1a7c2-entra",
            "userName": "carol@example.com",
            "active": True,
            "displayName": "Carol Entra",
            "emails": [{"primary": True, "type": "work", "value": "carol@example.com"}],
            "name": {"formatted": "Carol Entra", "familyName": "Entra", "givenName": "Carol"},
            ENTERPRISE: {"employeeNumber": "42", "department": "Sales"},
        }, token=t)
        self.assertEqual(s, 201, doc)
        carol = doc["id"]
        self.assertTrue(h["location"].endswith("/scim/v2/Users/" + carol))
        self.assertEqual(h["etag"], doc["meta"]["version"])
        self.assertEqual(self.m.ctl("user", "show", "carol@example.com")["display_name"],
                         "Carol Entra")
        s, doc, _ = self.call("GET", "/Users?filter=" + filt('externalId eq "e6f1a7c2-entra"'),
                              token=t)
        self.assertEqual(doc["Resources"][0]["id"], carol)
        alice = self.m.ctl("user", "show", "alice@example.com")["id"]
        # attribute updates the way Entra writes them
        s, doc, _ = self.call("PATCH", "/Users/" + carol, patch(
            {"op": "Replace", "path": "displayName", "value": "Carol E."},
            {"op": "Add", "path": "title", "value": "Account Manager"},
            {"op": "Replace", "path": ENTERPRISE + ":manager", "value": alice},
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": "carol.e@example.com"}), token=t)
        self.assertEqual(s, 200, doc)
        self.assertEqual(doc[ENTERPRISE]["manager"]["value"], alice)
        shown = self.m.ctl("user", "show", carol)
        self.assertEqual(shown["address"], "carol.e@example.com")
        # disable: "False" as a string
        s, doc, _ = self.call("PATCH", "/Users/" + carol, patch(
            {"op": "Replace", "path": "active", "value": "False"}), token=t)
        self.assertEqual((s, doc["active"]), (200, False))
        self.assertEqual(self.m.ctl("user", "show", carol)["status"], "disabled")
        # a group by name: the app's one domain gives its address
        s, doc, _ = self.call("POST", "/Groups", {
            "schemas": [GROUP], "externalId": "g-1", "displayName": "Entra Sales",
            "members": []}, token=t)
        self.assertEqual(s, 201, doc)
        group = doc["id"]
        self.assertEqual(group, "entra-sales@example.com")
        gpath = "/Groups/" + urllib.parse.quote(group)
        s, doc, _ = self.call("PATCH", gpath, patch(
            {"op": "Add", "path": "members", "value": [{"value": carol}, {"value": alice}]}),
            token=t)
        self.assertEqual(s, 204, doc)
        s, doc, _ = self.call("GET", gpath, token=t)
        self.assertEqual(sorted(x["value"] for x in doc["members"]), sorted([carol, alice]))
        s, doc, _ = self.call("PATCH", gpath, patch(
            {"op": "Remove", "path": "members", "value": [{"value": alice}]}), token=t)
        self.assertEqual(s, 204)
        s, doc, _ = self.call("GET", gpath, token=t)
        self.assertEqual([x["value"] for x in doc["members"]], [carol])
        s, doc, _ = self.call("GET", gpath + "?excludedAttributes=members", token=t)
        self.assertNotIn("members", doc)
        # delete
        s, _, _ = self.call("DELETE", "/Users/" + carol, token=t)
        self.assertEqual(s, 204)
        s, _, _ = self.call("GET", "/Users/" + carol, token=t)
        self.assertEqual(s, 404)
        s, _, _ = self.call("DELETE", gpath, token=t)
        self.assertEqual(s, 204)

    def test_okta_script(self):
        s, doc, _ = self.call("GET", "/Users?filter=" + filt('userName eq "dana@example.org"')
                              + "&startIndex=1&count=100")
        self.assertEqual(doc["totalResults"], 0)
        s, doc, _ = self.call("POST", "/Users", {
            "schemas": [USER], "userName": "dana@example.org",
            "name": {"givenName": "Dana", "familyName": "Okta"},
            "emails": [{"primary": True, "value": "dana@example.org", "type": "work"}],
            "displayName": "Dana Okta", "locale": "en-US", "externalId": "00u1okta",
            "groups": [], "password": "0kta-Pa55word", "active": True})
        self.assertEqual(s, 201, doc)
        dana = doc["id"]
        s, doc, _ = self.call("PUT", "/Users/" + dana, {
            "schemas": [USER], "id": dana, "userName": "dana@example.org",
            "name": {"givenName": "Dana", "familyName": "Okta-Smith"},
            "emails": [{"primary": True, "value": "dana@example.org", "type": "work"}],
            "displayName": "Dana Okta-Smith", "active": True})
        self.assertEqual((s, doc["displayName"]), (200, "Dana Okta-Smith"))
        s, doc, _ = self.call("PATCH", "/Users/" + dana,
                              patch({"op": "replace", "value": {"active": False}}))
        self.assertEqual((s, doc["active"]), (200, False))
        s, doc, _ = self.call("POST", "/Groups", {
            "schemas": [GROUP], "displayName": "okta-team@example.org",
            "members": [{"value": dana, "display": "dana@example.org"}]})
        self.assertEqual(s, 201, doc)
        gpath = "/Groups/" + urllib.parse.quote(doc["id"])
        s, doc, _ = self.call("PATCH", gpath, patch(
            {"op": "replace", "value": {"id": doc["id"], "displayName": "Okta Team"}}))
        self.assertEqual((s, doc["displayName"]), (200, "Okta Team"))
        s, doc, _ = self.call("PATCH", gpath, patch(
            {"op": "remove", "path": 'members[value eq "%s"]' % dana}))
        self.assertEqual(s, 204)
        s, doc, _ = self.call("GET", gpath)
        self.assertNotIn("members", doc)
        self.assertEqual(self.call("DELETE", "/Users/" + dana)[0], 204)
        self.assertEqual(self.call("DELETE", gpath)[0], 204)

    def test_hostile_requests(self):
        raw = self.c.request("POST", "/scim/v2/Users", body=b'{"schemas": [', token=self.token,
                             content_type=SCIM)
        self.assertEqual(raw[0], 400)
        self.assertEqual(json.loads(raw[2])["scimType"], "invalidSyntax")
        s, doc, _ = self.call("GET", "/Users?filter=" + filt('userName eq'))
        self.assertEqual((s, doc["scimType"]), (400, "invalidFilter"))
        # nested too deeply (a URL stays short), and too long (a .search body)
        s, doc, _ = self.call("GET", "/Users?filter=" + filt("not (" * 40 + 'userName eq "a"'
                                                            + ")" * 40))
        self.assertEqual((s, doc["scimType"]), (400, "invalidFilter"))
        s, doc, _ = self.call("POST", "/Users/.search", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": " or ".join(['userName eq "a"'] * 400)})
        self.assertEqual((s, doc["scimType"]), (400, "invalidFilter"))
        s, doc, _ = self.call("POST", "/Users", {"schemas": [USER], "userName": "z@example.com",
                                                 "favouriteColour": "blue"})
        self.assertEqual((s, doc["scimType"]), (400, "invalidSyntax"))
        s, doc, _ = self.call("POST", "/Users", {"schemas": [USER],
                                                 "userName": "ALICE@example.com"})
        self.assertEqual((s, doc["scimType"]), (409, "uniqueness"))
        alice = self.m.ctl("user", "show", "alice@example.com")["id"]
        s, doc, _ = self.call("PATCH", "/Users/" + alice,
                              patch({"op": "replace", "path": "id", "value": "x"}))
        self.assertEqual((s, doc["scimType"]), (400, "mutability"))
        s, doc, _ = self.call("PATCH", "/Users/" + alice,
                              patch({"op": "replace", "path": "title", "value": "x"}),
                              headers={"If-Match": 'W/"0123456789abcdef"'})
        self.assertEqual(s, 412)
        # oversized: refused before anything is parsed
        raw = raw_exchange(self.m.port("http"), (
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/scim+json\r\nContent-Length: %d\r\n\r\n{"
            % (self.token, 2 << 20)).encode())
        self.assertEqual(statuses(raw), [413])
        # no token, wrong token
        self.c = Http(self.m)
        s, h, _ = self.c.request("GET", "/scim/v2/Users")
        self.assertEqual(s, 401)
        self.assertTrue(h["www-authenticate"].startswith("Bearer"))

    def test_discovery_and_scope(self):
        s, doc, _ = self.call("GET", "/ServiceProviderConfig")
        self.assertEqual((s, doc["patch"]["supported"], doc["filter"]["maxResults"]),
                         (200, True, 1000))
        s, doc, _ = self.call("GET", "/Schemas/" + ENTERPRISE)
        self.assertEqual(s, 200)
        self.assertIn("manager", [a["name"] for a in doc["attributes"]])
        # the Entra app's token (example.com) does not see example.org
        s, doc, _ = self.call("POST", "/Users", {"schemas": [USER], "userName": "x@example.org"},
                              token=self.entra)
        self.assertEqual(s, 403)
        s, doc, _ = self.call("GET", "/Users?filter=" + filt('userName ew "@example.org"'),
                              token=self.entra)
        self.assertEqual(doc["totalResults"], 0)


if __name__ == "__main__":
    unittest.main()
