"""Policy bundles by directory group (issue 22, G6) with OpenLDAP as the directory: a real
slapd, mailroomd on its RFC 4533 replica, bundles defined and assigned with mailroomctl, and
real clients (smtplib, poplib, imaplib) seeing the effect. A user put in a group in LDAP gets
the group's quota, maximum size, outside rules and POP3 refusal within the sync; taken out,
they go away. Edge cases: two groups with conflicting bundles, nested groups, the account's
own quota, a renamed group, a deleted group, a bundle removed while assigned, and an
SSO-only login rule that refuses a right password exactly as a wrong one."""
import imaplib
import poplib
import smtplib
import time
import unittest

from harness import Mailroom
from ldap_fixture import SUFFIX, Slapd, ad_replica_directory
from test_ldap_session_close import directory_config
import seed

LISTENERS = {"smtp": ("smtp", "none"), "submission": ("submission", "none"),
             "imap": ("imap", "none"), "pop3": ("pop3", "none")}
WITHIN = 60  # seconds for a change in slapd to reach the replica, generous for a loaded machine

PEOPLE = f"""
dn: uid=dave,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: dave
cn: Dave Intern
sn: Intern
mail: dave@example.com
userPassword: davepw

dn: uid=erin,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: erin
cn: Erin Employee
sn: Employee
mail: erin@example.com
userPassword: erinpw

dn: cn=interns,ou=groups,{SUFFIX}
objectClass: groupOfNames
objectClass: mailroomGroup
cn: interns
mail: interns@example.com
member: uid=erin,ou=people,{SUFFIX}

dn: cn=sales-team,ou=groups,{SUFFIX}
objectClass: groupOfNames
objectClass: mailroomGroup
cn: sales-team
mail: sales-team@example.com
member: uid=erin,ou=people,{SUFFIX}

dn: cn=company,ou=groups,{SUFFIX}
objectClass: groupOfNames
objectClass: mailroomGroup
cn: company
mail: company@example.com
member: cn=interns,ou=groups,{SUFFIX}
"""

INTERNS = f"cn=interns,ou=groups,{SUFFIX}"
SALES = f"cn=sales-team,ou=groups,{SUFFIX}"
DAVE = f"uid=dave,ou=people,{SUFFIX}"


def message(size, sender="someone@remote.example", to="dave@example.com"):
    """About `size` bytes, in lines of 78 (RFC 5322 2.1.1)."""
    text = f"From: {sender}\r\nTo: {to}\r\nSubject: policy test\r\n\r\n"
    while len(text) < size:
        text += "x" * min(76, max(0, size - len(text) - 2)) + "\r\n"
    return text.encode()


class LdapPolicies(unittest.TestCase):
    def setUp(self):
        self.slapd = Slapd(seed.openldap_seed() + PEOPLE, ad_schema=False)
        self.addCleanup(self.slapd.close)
        self.m = Mailroom(listeners=LISTENERS, directory_config=directory_config(self.slapd.uri))
        self.addCleanup(self.m.close)
        self.m.start()
        # The first sync has filled the replica when dave's policy can be shown.
        self.effective("dave@example.com")

    # --- helpers ---
    def ctl(self, *args, check=True):
        return self.m.ctl(*args, check=check)

    def effective(self, user):
        deadline = time.time() + WITHIN
        while True:
            p = self.m.ctl("policy", "effective", user, check=False)
            if isinstance(p, dict):
                return p["effective_policy"]
            if time.time() > deadline:
                self.fail(f"policy effective {user}: {p.stdout}{p.stderr}")
            time.sleep(0.3)

    def wait_effective(self, user, attribute, value):
        """Until the replica (the sync) makes `attribute` of `user` equal `value`."""
        deadline = time.time() + WITHIN
        while True:
            e = self.effective(user)
            if e[attribute]["value"] == value:
                return e
            if time.time() > deadline:
                self.fail(f"{user} {attribute} is {e[attribute]} after {WITHIN}s, not {value}\n"
                          + self.m.log()[-3000:])
            time.sleep(0.3)

    def set_members(self, group_dn, *member_dns):
        ldif = f"dn: {group_dn}\nchangetype: modify\nreplace: member\n"
        ldif += "".join(f"member: {m}\n" for m in member_dns)
        self.slapd.modify(ldif)

    def smtp(self, port_name):
        s = smtplib.SMTP("127.0.0.1", self.m.port(port_name), timeout=30)
        self.addCleanup(lambda: s.close())
        s.ehlo("client.example")
        return s

    def submission(self, user, password):
        s = self.smtp("submission")
        s.login(user, password)
        return s

    def pop3_login(self, user, password):
        p = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=30)
        try:
            p.user(user)
            return p.pass_(password)
        finally:
            try:
                p.quit()
            except (poplib.error_proto, OSError):
                p.close()

    def rcpt(self, s, sender, rcpt, size=None):
        opts = [f"SIZE={size}"] if size else []
        code, text = s.mail(sender, opts)
        if code != 250:
            s.rset()
            return code, text
        code, text = s.rcpt(rcpt)
        s.rset()
        return code, text

    # --- tests ---
    def test_group_membership_brings_and_takes_the_bundle(self):
        self.ctl("policy", "add", "interns", "--quota-bytes", "6000", "--max-message-size",
                 "5000", "--send-outside", "no", "--receive-outside", "no", "--pop3", "no",
                 "--description", "interns: small, internal only")
        self.ctl("policy", "assign", "interns", "interns@example.com", "--group")
        # Before dave is an intern: nothing applies to him.
        self.assertEqual(self.effective("dave@example.com")["quota_bytes"],
                         {"value": 0, "from": "default"})
        self.assertEqual(self.pop3_login("dave", "davepw")[:3], b"+OK")
        mx = self.smtp("smtp")
        self.assertEqual(self.rcpt(mx, "someone@remote.example", "dave@example.com")[0], 250)

        # Put in the group in LDAP: the sync brings the bundle.
        self.set_members(INTERNS, f"uid=erin,ou=people,{SUFFIX}", DAVE)
        e = self.wait_effective("dave@example.com", "quota_bytes", 6000)
        self.assertEqual(e["quota_bytes"]["from"], "policy interns (group interns@example.com)")
        self.assertEqual(e["pop3"]["value"], False)
        shown = self.m.ctl("user", "show", "dave@example.com", check=False, json_output=False)
        self.assertIn("policy.quota_bytes: 6000 (policy interns (group interns@example.com))",
                      shown.stdout)

        # POP3 refused with the protocol's plain failure; IMAP still works.
        with self.assertRaises(poplib.error_proto) as refused:
            self.pop3_login("dave", "davepw")
        with self.assertRaises(poplib.error_proto) as wrong:
            self.pop3_login("dave", "not-the-password")
        self.assertEqual(str(refused.exception), str(wrong.exception))  # no hint of the reason
        self.assertRegex(self.m.log(), r"event=auth.policy_refused .*protocol=\"?pop3\"? "
                                       r".*method=password")

        # Receive from outside: refused per recipient at RCPT; a local sender is not outside.
        mx = self.smtp("smtp")
        code, text = self.rcpt(mx, "someone@remote.example", "dave@example.com")
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        self.assertEqual(self.rcpt(mx, "someone@remote.example", "erin@example.com")[0], 550)
        self.assertEqual(self.rcpt(mx, "bob@example.com", "dave@example.com")[0], 250)

        # Maximum size: per recipient at RCPT when SIZE is declared (552 5.3.4).
        code, text = self.rcpt(mx, "bob@example.com", "dave@example.com", size=5001)
        self.assertEqual((code, text[:5]), (552, b"5.3.4"))
        # Without SIZE, at the end of DATA.
        mx.mail("bob@example.com")
        mx.rcpt("dave@example.com")
        code, text = mx.data(message(5600, "bob@example.com"))
        self.assertEqual((code, text[:5]), (552, b"5.3.4"))

        # Send outside: 550 5.7.1 for a remote recipient on submission; local ones pass.
        sub = self.submission("dave", "davepw")
        code, text = self.rcpt(sub, "dave@example.com", "someone@remote.example")
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        self.assertEqual(self.rcpt(sub, "dave@example.com", "bob@example.com")[0], 250)
        # The sender's own limit at MAIL.
        code, text = sub.mail("dave@example.com", ["SIZE=5001"])
        self.assertEqual((code, text[:5]), (552, b"5.3.4"))
        sub.rset()

        # Quota at delivery: 4000 bytes fit into 6000, the next 4000 do not (452 4.2.2 at
        # RCPT, the store's existing quota path).
        mx.sendmail("bob@example.com", ["dave@example.com"], message(4000, "bob@example.com"))
        deadline = time.time() + WITHIN
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        self.addCleanup(imap.logout)
        imap.login("dave", "davepw")
        while True:
            typ, data = imap.status("INBOX", "(MESSAGES)")
            if b"MESSAGES 1" in data[0] or time.time() > deadline:
                break
            time.sleep(0.3)
        self.assertIn(b"MESSAGES 1", data[0])
        typ, data = imap.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertIn(b"STORAGE", b" ".join(x for x in data[1] if isinstance(x, bytes)))
        code, text = self.rcpt(mx, "bob@example.com", "dave@example.com", size=4000)
        self.assertEqual((code, text[:5]), (452, b"4.2.2"))

        # Out of the group: everything goes back to the defaults.
        self.set_members(INTERNS, f"uid=erin,ou=people,{SUFFIX}")
        e = self.wait_effective("dave@example.com", "quota_bytes", 0)
        self.assertEqual(e["send_outside"], {"value": True, "from": "default"})
        self.assertEqual(self.pop3_login("dave", "davepw")[:3], b"+OK")
        mx = self.smtp("smtp")
        self.assertEqual(self.rcpt(mx, "someone@remote.example", "dave@example.com")[0], 250)
        self.assertEqual(self.rcpt(mx, "bob@example.com", "dave@example.com", size=5001)[0], 250)
        sub = self.submission("dave", "davepw")
        self.assertEqual(self.rcpt(sub, "dave@example.com", "someone@remote.example")[0], 250)

    def test_two_groups_with_conflicting_bundles(self):
        # erin is in interns (may not send outside) and in sales-team (may).
        self.ctl("policy", "add", "interns", "--send-outside", "no", "--quota-bytes", "1M")
        self.ctl("policy", "add", "sales", "--send-outside", "yes", "--quota-bytes", "5M")
        self.ctl("policy", "assign", "interns", "interns@example.com", "--group")
        self.ctl("policy", "assign", "sales", "sales-team@example.com", "--group")
        e = self.effective("erin@example.com")
        # Same priority: the grants add up (the most permissive value).
        self.assertEqual(e["send_outside"]["value"], True)
        self.assertEqual(e["quota_bytes"], {"value": 5 * 1024 * 1024,
                                            "from": "policy sales (group sales-team@example.com)"})
        sub = self.submission("erin", "erinpw")
        self.assertEqual(self.rcpt(sub, "erin@example.com", "someone@remote.example")[0], 250)
        # A higher priority makes the restriction win, at once (no sync, no restart).
        self.ctl("policy", "change", "interns", "--priority", "10")
        code, text = self.rcpt(sub, "erin@example.com", "someone@remote.example")
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        e = self.effective("erin@example.com")
        self.assertEqual(e["quota_bytes"]["value"], 1024 * 1024)
        self.assertEqual(e["bundles"], ["interns", "sales"])

    def test_nested_groups_and_the_accounts_own_quota(self):
        # company contains the group interns, which contains erin: company's bundle reaches her.
        self.ctl("policy", "add", "company", "--max-message-size", "20M", "--quota-bytes", "2G")
        self.ctl("policy", "assign", "company", "company@example.com", "--group")
        e = self.effective("erin@example.com")
        self.assertEqual(e["max_message_bytes"],
                         {"value": 20 * 1024 * 1024,
                          "from": "policy company (group company@example.com)"})
        # alice has mailQuotaBytes in LDAP: her own value beats any group's.
        self.set_members(f"cn=company,ou=groups,{SUFFIX}", INTERNS, f"uid=alice,ou=people,{SUFFIX}")
        e = self.wait_effective("alice@example.com", "max_message_bytes", 20 * 1024 * 1024)
        self.assertEqual(e["quota_bytes"], {"value": 1073741824, "from": "account"})
        # A domain default covers everyone else (FAQ Q14: new accounts are not unlimited).
        self.ctl("policy", "add", "example-default", "--quota-bytes", "100M")
        self.ctl("policy", "assign", "example-default", "example.com", "--domain")
        self.assertEqual(self.effective("dave@example.com")["quota_bytes"],
                         {"value": 100 * 1024 * 1024,
                          "from": "policy example-default (domain example.com)"})
        self.assertEqual(self.effective("erin@example.com")["quota_bytes"]["value"], 2 << 30)

    def test_renamed_deleted_group_and_removed_bundle(self):
        self.ctl("policy", "add", "nopop", "--pop3", "no")
        self.ctl("policy", "assign", "nopop", "sales-team@example.com", "--group")
        self.assertEqual(self.effective("erin@example.com")["pop3"]["value"], False)
        with self.assertRaises(poplib.error_proto):
            self.pop3_login("erin", "erinpw")
        # Renamed upstream (new address, same entryUUID): the assignment follows the group.
        self.slapd.modify(f"dn: {SALES}\nchangetype: modify\nreplace: mail\n"
                          "mail: sellers@example.com\n")
        deadline = time.time() + WITHIN
        while "sellers@" not in self.effective("erin@example.com")["pop3"]["from"]:
            self.assertLess(time.time(), deadline, self.effective("erin@example.com"))
            time.sleep(0.3)
        self.assertEqual(self.effective("erin@example.com")["pop3"],
                         {"value": False, "from": "policy nopop (group sellers@example.com)"})
        shown = self.m.ctl("policy", "show", "nopop")
        self.assertEqual(shown["assigned_to"][0]["current"], "sellers@example.com")
        self.assertEqual(shown["assigned_to"][0]["label"], "sales-team@example.com")
        # Deleted upstream: nobody is a member; the assignment shows the group as gone.
        self.slapd.modify(f"dn: {SALES}\nchangetype: delete\n")
        self.wait_effective("erin@example.com", "pop3", True)
        self.assertEqual(self.pop3_login("erin", "erinpw")[:3], b"+OK")
        shown = self.m.ctl("policy", "show", "nopop")
        self.assertTrue(shown["assigned_to"][0]["gone"])
        # A bundle still assigned is removed only with --force, and then applies no more.
        self.ctl("policy", "assign", "nopop", "interns@example.com", "--group")
        self.assertEqual(self.effective("erin@example.com")["pop3"]["value"], False)
        p = self.m.ctl("policy", "remove", "nopop", check=False, json_output=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("assigned", p.stdout + p.stderr)
        self.ctl("policy", "remove", "nopop", "--force")
        self.assertEqual(self.effective("erin@example.com")["pop3"],
                         {"value": True, "from": "default"})
        self.assertEqual(self.pop3_login("erin", "erinpw")[:3], b"+OK")
        # Every change is in the journal.
        ops = [r["operation"] for r in self.m.ctl("journal", "list", "--object", "policy:")]
        self.assertIn("policy.remove", ops)
        self.assertIn("policy.assign", ops)

    def test_login_methods(self):
        self.ctl("policy", "add", "sso-only", "--login-method", "sso")
        self.ctl("policy", "assign", "sso-only", "erin@example.com", "--user")
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        with self.assertRaises(imaplib.IMAP4.error) as refused:
            imap.login("erin", "erinpw")
        imap2 = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        with self.assertRaises(imaplib.IMAP4.error) as wrong:
            imap2.login("erin", "wrong")
        self.assertEqual(str(refused.exception), str(wrong.exception))
        for c in (imap, imap2):
            c.logout()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            self.submission("erin", "erinpw")
        # Passwords allowed again: the change applies to the next login.
        self.ctl("policy", "change", "sso-only", "--login-method", "sso", "--login-method",
                 "password")
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        self.assertEqual(imap.login("erin", "erinpw")[0], "OK")
        imap.logout()


class AdPolicies(unittest.TestCase):
    """The Active Directory profile (AD-shaped entries in slapd, uSNChanged polling): a group
    is assigned by its objectGUID, and a member taken out in the directory loses the bundle.
    slapd does not maintain uSNChanged: the test sets it, as AD would."""

    def test_group_by_object_guid(self):
        slapd = Slapd(seed.openldap_seed() + "\n" + seed.ad_seed())
        self.addCleanup(slapd.close)
        m = Mailroom(listeners=LISTENERS, directory_config=ad_replica_directory(slapd.uri))
        self.addCleanup(m.close)
        m.start()
        deadline = time.time() + WITHIN
        while True:
            p = m.ctl("policy", "assign", "x", "mailusers@corp.example", "--group", check=False,
                      json_output=False)
            if "policy x not found" in p.stdout + p.stderr:  # the group is in the replica
                break
            self.assertLess(time.time(), deadline, p.stdout + p.stderr)
            time.sleep(0.5)
        m.ctl("policy", "add", "nopop", "--pop3", "no")
        a = m.ctl("policy", "assign", "nopop", "mailusers@corp.example", "--group")
        self.assertEqual(a["target"], seed.GROUP_GUID)

        def pop3(user, password):
            c = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=30)
            try:
                c.user(user)
                return c.pass_(password)
            finally:
                c.close()

        user = "bob.smith@corp.example"
        self.assertEqual(m.ctl("policy", "effective", user)["effective_policy"]["pop3"],
                         {"value": False, "from": "policy nopop (group mailusers@corp.example)"})
        with self.assertRaises(poplib.error_proto):
            pop3(user, "Passw0rd!2")
        slapd.modify(f"dn: cn=mailusers,ou=corp,{SUFFIX}\nchangetype: modify\n"
                     f"replace: member\nmember: cn=Diana Off,ou=corp,{SUFFIX}\n-\n"
                     "replace: uSNChanged\nuSNChanged: 3000\n")
        deadline = time.time() + WITHIN
        while m.ctl("policy", "effective", user)["effective_policy"]["pop3"]["value"] is False:
            self.assertLess(time.time(), deadline, m.log()[-3000:])
            time.sleep(0.3)
        self.assertEqual(pop3(user, "Passw0rd!2")[:3], b"+OK")


if __name__ == "__main__":
    unittest.main()
