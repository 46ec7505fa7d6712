"""App passwords with OpenLDAP as the directory (issue 16): a real slapd with the ppolicy
overlay (it writes pwdChangedTime when a password changes), mailroomd on its RFC 4533
replica. A password change in slapd revokes the account's app passwords and closes the IMAP
IDLE session that logged in with one; an account without any userPassword (SSO-only) logs in
with an app password only, and loses it when the directory disables the account. And the
Active Directory profile (AD-shaped entries in slapd, uSNChanged polling): a new pwdLastSet
revokes."""
import imaplib
import json
import re
import time
import unittest

from harness import Mailroom
from ldap_fixture import SUFFIX, Slapd, ad_replica_directory
from test_ldap_session_close import Line, directory_config
import seed

LISTENERS = {"submission": ("submission", "none"), "imap": ("imap", "none"),
             "pop3": ("pop3", "none")}
WITHIN = 60  # seconds: sync propagation + sweep period, generous for a loaded machine

SSO_USER = f"""
dn: uid=sso,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: sso
cn: Single Sign-On
sn: On
mail: sso@example.com
mailAccountStatus: active
"""


def imap_login(m, user, password):
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - closed after a refusal
            pass


def idle(m, user, password):
    s = Line(m.port("imap"))
    s.line()
    s.send(f"a1 LOGIN {user} {password}")
    answer = s.until("a1 ")
    assert answer.startswith("a1 OK"), answer
    s.send("a2 SELECT INBOX")
    assert s.until("a2 ").startswith("a2 OK")
    s.send("a3 IDLE")
    assert s.line().startswith("+")
    return s


def create_app_password(test, m, user, name, *protocols):
    """mailroomctl app-password create, retried while the first sync fills the replica."""
    args = ["app-password", "create", user, "--name", name]
    for p in protocols:
        args += ["--protocol", p]
    deadline = time.time() + WITHIN
    while True:
        p = m.ctl("--json", *args, check=False, json_output=False)
        if p.returncode == 0:
            return json.loads(p.stdout)
        if time.time() > deadline:
            test.fail(f"app-password create {user}: {p.stdout}{p.stderr}")
        time.sleep(0.5)


class LdapAppPasswords(unittest.TestCase):
    def setUp(self):
        self.slapd = Slapd(seed.openldap_seed() + SSO_USER, ad_schema=False, ppolicy=True)
        self.addCleanup(self.slapd.close)
        self.m = Mailroom(listeners=LISTENERS, directory_config=directory_config(self.slapd.uri))
        with open(self.m.config_path) as f:
            config = f.read()
        with open(self.m.config_path, "w") as f:
            f.write(config.replace("[server]\n", "[server]\nsession_check_interval = 1\n", 1))
        self.addCleanup(self.m.close)
        self.m.start()

    def create(self, user, name, *protocols):
        return create_app_password(self, self.m, user, name, *protocols)

    def reasons(self, user):
        return {a["name"]: a["revoked_reason"]
                for a in self.m.ctl("app-password", "list", user, "--all")}

    def wait(self, predicate, what):
        deadline = time.time() + WITHIN
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.3)
        self.fail(what + "\n" + self.m.log()[-4000:])

    def test_ldap_password_change_revokes_and_closes(self):
        app = self.create("alice", "thunderbird", "imap", "pop3")
        imap_login(self.m, "alice", app["password"])
        session = idle(self.m, "alice", app["password"])
        self.addCleanup(session.close)
        directory_session = idle(self.m, "bob", "builder")
        self.addCleanup(directory_session.close)
        t0 = time.time()
        self.slapd.modify(f"dn: uid=alice,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: userPassword\nuserPassword: looking-glass\n")
        closed, said = session.closed_within(WITHIN)
        self.assertTrue(closed, f"IDLE session still open after {time.time() - t0:.1f}s: {said}")
        self.assertEqual(self.reasons("alice")["thunderbird"], "password_changed")
        self.assertRegex(self.m.log(), r"event=auth.app_password_revoked account=\S+ "
                                       r"name=thunderbird id=" + app["id"] +
                                       " reason=password_changed")
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "alice", app["password"])
        imap_login(self.m, "alice", "looking-glass")
        # bob's session (directory password, untouched account) is still there.
        directory_session.send("DONE")
        self.assertTrue(directory_session.until("a3 ").startswith("a3 OK"))
        self.assertNotIn(app["password"], self.m.log())

    def test_sso_only_account_and_disable(self):
        app = self.create("sso", "phone")
        imap_login(self.m, "sso", app["password"])
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "sso", "anything")
        session = idle(self.m, "sso", app["password"])
        self.addCleanup(session.close)
        self.slapd.modify(f"dn: uid=sso,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mailAccountStatus\nmailAccountStatus: disabled\n")
        closed, said = session.closed_within(WITHIN)
        self.assertTrue(closed, f"IDLE session still open: {said}")
        self.wait(lambda: re.search(r"event=auth.app_password_revoked account=\S+ name=phone "
                                    r"id=" + app["id"] + " reason=disabled", self.m.log()),
                  "no revocation logged")
        self.assertEqual(self.reasons("sso")["phone"], "disabled")
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "sso", app["password"])


class AdAppPasswords(unittest.TestCase):
    """slapd does not maintain pwdLastSet or uSNChanged: the test sets both, as AD would on a
    password reset."""

    def test_pwd_last_set_revokes(self):
        slapd = Slapd(seed.openldap_seed() + "\n" + seed.ad_seed())
        self.addCleanup(slapd.close)
        m = Mailroom(listeners=LISTENERS, directory_config=ad_replica_directory(slapd.uri))
        with open(m.config_path) as f:
            config = f.read()
        with open(m.config_path, "w") as f:
            f.write(config.replace("[server]\n", "[server]\nsession_check_interval = 1\n", 1))
        self.addCleanup(m.close)
        m.start()
        app = create_app_password(self, m, "bob.smith@corp.example", "outlook")
        imap_login(m, "bob.smith@corp.example", app["password"])
        session = idle(m, "bob.smith@corp.example", app["password"])
        self.addCleanup(session.close)
        slapd.modify(f"dn: cn=Bob Smith,ou=corp,{SUFFIX}\nchangetype: modify\n"
                     "replace: userPassword\nuserPassword: N3w-Passw0rd\n-\n"
                     "replace: pwdLastSet\npwdLastSet: 134100000000000000\n-\n"
                     "replace: uSNChanged\nuSNChanged: 3000\n")
        closed, said = session.closed_within(WITHIN)
        self.assertTrue(closed, f"IDLE session still open: {said}")
        reasons = {a["name"]: a["revoked_reason"]
                   for a in m.ctl("app-password", "list", "bob.smith@corp.example", "--all")}
        self.assertEqual(reasons["outlook"], "password_changed")
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(m, "bob.smith@corp.example", app["password"])


if __name__ == "__main__":
    unittest.main()
