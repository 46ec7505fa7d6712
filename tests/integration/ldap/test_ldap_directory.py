"""The LDAP Directory backend against a real slapd started by the test (scripts/ldap/slapd.sh).

Active Directory behaviour is tested against slapd loaded with AD-shaped entries (the
ad-lite schema, schema/ldap/ad-lite.ldif), not against Samba's AD DC: the AD DC needs the
fixed ports 389/636 and root, which a test run cannot assume. Nested groups via the in-chain
matching rule (1.2.840.113556.1.4.1941) are AD-only and not exercised here.
"""
import os
import unittest

import shutil
import tempfile

from ldap_fixture import ADMIN_DN, ADMIN_PW, SUFFIX, Probe, Slapd, fields, free_port, make_certs
import seed


def openldap_config(uri, extra=""):
    return f"""
[directory]
backend = "ldap"
[directory.ldap]
profile = "openldap"
uris = ["{uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "{SUFFIX}"
user_base = "ou=people,{SUFFIX}"
connect_timeout = 2
timeout = 3
retry_down_after = 1
{extra}
"""


def ad_config(uri):
    return f"""
[directory.ldap]
profile = "activedirectory"
uris = ["{uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "ou=corp,{SUFFIX}"
domains = ["corp.example"]
nested_groups = "member"   # slapd has no LDAP_MATCHING_RULE_IN_CHAIN
connect_timeout = 2
timeout = 3
"""


class LdapDirectoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd(seed.openldap_seed() + "\n" + seed.ad_seed())

    @classmethod
    def tearDownClass(cls):
        cls.slapd.close()

    def probe(self, config):
        p = Probe(config)
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        return p

    def test_accounts_and_addresses(self):
        p = self.probe(openldap_config(self.slapd.uri))
        a = fields(p.ask("address alice@example.com"))
        self.assertEqual(a["login"], "alice")
        self.assertEqual(a["other"], "info@example.com")
        self.assertEqual(a["quota_bytes"], "1073741824")
        self.assertEqual(a["quota_messages"], "5000")
        self.assertEqual(a["status"], "active")
        self.assertEqual(fields(p.ask("address info@example.com"))["id"], a["id"])
        self.assertEqual(fields(p.ask("login alice"))["id"], a["id"])
        self.assertEqual(fields(p.ask("id " + a["id"]))["address"], "alice@example.com")
        b = fields(p.ask("login bob"))
        self.assertEqual(b["forward"], "bob@elsewhere.example")
        self.assertEqual(b["keep_copy"], "0")
        self.assertEqual(fields(p.ask("address carol@example.com"))["status"], "disabled")
        self.assertEqual(p.ask("address nobody@example.com"), "not_found")
        self.assertEqual(p.ask("id 00000000-0000-0000-0000-000000000000"), "not_found")
        self.assertEqual(p.ask("domain example.com"), "found example.com")
        self.assertEqual(p.ask("domain other.example"), "not_found")

    def test_filter_injection_is_escaped(self):
        p = self.probe(openldap_config(self.slapd.uri))
        self.assertEqual(p.ask("address *"), "not_found")
        self.assertEqual(p.ask("address *)(uid=*"), "not_found")
        self.assertEqual(p.ask("login alice)(|(uid=*"), "not_found")
        self.assertEqual(p.ask("password *) wonderland"), "not_found")

    def test_login_by_bind(self):
        p = self.probe(openldap_config(self.slapd.uri))
        self.assertEqual(p.ask("password alice wonderland"), "ok")
        self.assertEqual(p.ask("password alice Wonderland"), "mismatch")
        self.assertEqual(p.ask("password alice"), "mismatch")  # empty: never an anonymous bind
        self.assertEqual(p.ask("password bob builder"), "ok")
        self.assertEqual(p.ask("password wang 密碼123"), "ok")

    def test_non_ascii_names_and_dns(self):
        p = self.probe(openldap_config(self.slapd.uri))
        w = fields(p.ask("address 小明@example.com"))
        self.assertEqual(w["address"], "wang@example.com")
        self.assertEqual(w["name"], "王小明")

    def test_alias_entries(self):
        p = self.probe(openldap_config(self.slapd.uri))
        self.assertEqual(p.ask("alias sales@example.com"),
                         "found targets=alice@example.com,partner@remote.example")
        self.assertEqual(p.ask("alias nobody@example.com"), "not_found")

    def test_groups(self):
        p = self.probe(openldap_config(self.slapd.uri))
        self.assertEqual(p.ask("group staff@example.com"),
                         "found members=alice@example.com,bob@example.com policy=0")
        # Nested: the staff group appears as its address (the Resolver expands it); DNs
        # without mail (cn=admin) and dangling DNs (uid=ghost) are skipped.
        self.assertEqual(p.ask("group all@example.com"),
                         "found members=staff@example.com,wang@example.com policy=1")
        self.assertEqual(p.ask("group board@example.com"),
                         "found members=bob@example.com,carol@example.com policy=3")
        self.assertEqual(p.ask("group dept42@example.com"),
                         "found members=carol@example.com,wang@example.com policy=0")
        self.assertEqual(p.ask("group nogroup@example.com"), "not_found")

    def test_active_directory_shaped_entries(self):
        p = self.probe(ad_config(self.slapd.uri))
        b = fields(p.ask("login bsmith"))
        self.assertEqual(b["id"], seed.BOB_GUID)
        self.assertEqual(b["address"], "bob.smith@corp.example")  # SMTP: is the primary
        self.assertEqual(b["other"], "bob@corp.example")
        self.assertEqual(b["status"], "active")
        self.assertEqual(fields(p.ask("login bsmith@corp.example"))["id"], seed.BOB_GUID)
        self.assertEqual(fields(p.ask("address bob@corp.example"))["id"], seed.BOB_GUID)
        self.assertEqual(fields(p.ask("id " + seed.BOB_GUID))["login"], "bsmith")
        self.assertEqual(fields(p.ask("login diana"))["status"], "disabled")  # UAC 514
        self.assertEqual(fields(p.ask("login old"))["status"], "disabled")    # accountExpires
        self.assertEqual(p.ask("password bsmith Passw0rd!2"), "ok")
        self.assertEqual(p.ask("password bsmith wrong"), "mismatch")
        self.assertEqual(p.ask("group mailusers@corp.example"),
                         "found members=bob.smith@corp.example,diana@corp.example policy=0")

    def test_failover_to_second_uri(self):
        dead = "ldap://127.0.0.1:%d" % free_port()
        p = Probe(openldap_config(self.slapd.uri).replace(
            f'uris = ["{self.slapd.uri}"]', f'uris = ["{dead}", "{self.slapd.uri}"]'))
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        self.assertEqual(fields(p.ask("login alice"))["address"], "alice@example.com")


class LdapConfigErrorTest(unittest.TestCase):
    """Bad configuration fails at open, naming the setting and the LDAP result."""

    @classmethod
    def setUpClass(cls):
        cls.slapd = Slapd(seed.openldap_seed(), ad_schema=False)

    @classmethod
    def tearDownClass(cls):
        cls.slapd.close()

    def open_error(self, config):
        p = Probe(config)
        self.addCleanup(p.close)
        self.assertIsNotNone(p.error, "open should have failed")
        self.assertEqual(p.returncode, 2)
        return p.error

    def test_wrong_bind_password(self):
        err = self.open_error(openldap_config(self.slapd.uri).replace(
            f'bind_password = "{ADMIN_PW}"', 'bind_password = "wrong"'))
        self.assertIn("directory.ldap.bind_dn", err)
        self.assertIn("Invalid credentials (49)", err)

    def test_unreachable_uri(self):
        uri = "ldap://127.0.0.1:%d" % free_port()
        err = self.open_error(openldap_config(uri))
        self.assertIn("directory.ldap.uris", err)
        self.assertIn(uri, err)
        self.assertIn("Can't contact LDAP server", err)

    def test_filter_syntax_error(self):
        err = self.open_error(openldap_config(self.slapd.uri,
                                              'login_filter = "(&(uid=%s)(cn~~x))"'))
        self.assertIn("directory.ldap.login_filter", err)
        self.assertIn("Bad search filter", err)

    def test_missing_attribute(self):
        err = self.open_error(openldap_config(self.slapd.uri,
                                              '[directory.ldap.attributes]\nquota_bytes = "mailQuota"'))
        self.assertIn("attributes.quota_bytes", err)
        self.assertIn("mailQuota", err)

    def test_missing_base(self):
        err = self.open_error(openldap_config(self.slapd.uri).replace(
            f'user_base = "ou=people,{SUFFIX}"', f'user_base = "ou=nobody,{SUFFIX}"'))
        self.assertIn("directory.ldap.user_base", err)
        self.assertIn("No such object (32)", err)


class LdapOutageTest(unittest.TestCase):
    """LDAP stopped mid-test: lookups answer unavailable (never not_found); back up: works."""

    def test_stop_and_restart(self):
        slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        self.addCleanup(slapd.close)
        p = Probe(openldap_config(slapd.uri, "pool_size = 2\nbind_pool_size = 2"))
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        self.assertEqual(fields(p.ask("address alice@example.com"))["login"], "alice")
        self.assertEqual(p.ask("password alice wonderland"), "ok")
        slapd.stop()
        for q in ("address alice@example.com", "address nobody@example.com", "login bob",
                  "group staff@example.com", "alias sales@example.com"):
            self.assertTrue(p.ask(q).startswith("unavailable"), q)
        self.assertTrue(p.ask("password alice wonderland").startswith("unavailable"))
        slapd.start()
        self.assertEqual(fields(p.ask("address alice@example.com"))["login"], "alice")
        self.assertEqual(p.ask("address nobody@example.com"), "not_found")
        self.assertEqual(p.ask("password alice wonderland"), "ok")


class LdapTlsTest(unittest.TestCase):
    """StartTLS and LDAPS with CA verification."""

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="mr-ldap-tls-", dir="/tmp")
        make_certs(os.path.join(cls.certs, "good"), "good")
        make_certs(os.path.join(cls.certs, "other"), "other")
        cls.slapd = Slapd(seed.openldap_seed(), ad_schema=False,
                          tls_dir=os.path.join(cls.certs, "good"))

    @classmethod
    def tearDownClass(cls):
        cls.slapd.close()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def config(self, uri, tls, ca):
        return openldap_config(uri).replace(
            "connect_timeout = 2", f'connect_timeout = 2\ntls = "{tls}"\nca_file = "{ca}"')

    def test_starttls_with_the_right_ca(self):
        p = Probe(self.config(self.slapd.uri, "starttls", os.path.join(self.certs, "good", "ca.pem")))
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        self.assertEqual(p.ask("password alice wonderland"), "ok")

    def test_ldaps_with_the_right_ca(self):
        p = Probe(self.config(self.slapd.ldaps_uri, "ldaps", os.path.join(self.certs, "good", "ca.pem")))
        self.addCleanup(p.close)
        self.assertIsNone(p.error, p.error)
        self.assertEqual(fields(p.ask("login bob"))["address"], "bob@example.com")

    def test_untrusted_certificate_is_refused(self):
        # The CA file is the only difference between the two probes of each pair: the same
        # server, URI and mode work with the right CA (the control), so the refusal is the
        # certificate's doing, not an unreachable server. (libldap gives no TLS reason here:
        # for ldaps:// the text is the same "Can't contact LDAP server" as for a dead server.)
        for uri, tls in ((self.slapd.uri, "starttls"), (self.slapd.ldaps_uri, "ldaps")):
            with self.subTest(tls=tls):
                good = Probe(self.config(uri, tls, os.path.join(self.certs, "good", "ca.pem")))
                self.addCleanup(good.close)
                self.assertIsNone(good.error, good.error)
                self.assertEqual(good.ask("password alice wonderland"), "ok")
                p = Probe(self.config(uri, tls, os.path.join(self.certs, "other", "ca.pem")))
                self.addCleanup(p.close)
                self.assertIsNotNone(p.error, tls + " with an untrusted certificate must fail")
                self.assertEqual(p.returncode, 2)
                self.assertIn("directory.ldap.uris", p.error)
                self.assertIn(uri, p.error)
                if tls == "starttls":  # the TCP connection and the LDAP exchange worked
                    self.assertIn("StartTLS failed: Connect error (-11)", p.error)


if __name__ == "__main__":
    unittest.main()
