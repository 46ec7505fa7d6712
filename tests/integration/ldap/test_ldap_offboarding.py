"""Offboarding (issue 22, G7) with OpenLDAP as the directory: a real slapd, mailroomd on its
RFC 4533 replica with [offboarding] on, a local SMTP sink standing for the outside world.
Dave (manager: Erin) is disabled in LDAP: his IMAP session is cut, his app password refused,
a message to him is kept in his mailbox, forwarded to Erin (read over IMAP) and answered once
per sender by the auto-reply naming the contact — never to bulk mail. `mailroomctl
offboarding plan` shows it beforehand, `status` while it runs. Re-enabled (the same
entryUUID), Dave logs in to find his mail, and the auto-reply and forwarding stop. Frank,
moved into the leavers OU, is offboarded the same way. And mailroomctl's read-only directory
commands (user list / show, conflicts, group list / show) answer from the replica while writes
are refused naming LDAP as the source of truth.

One slapd and one mailroomd for the module (setUpClass); the tests run in name order and
the re-hire test last."""
import imaplib
import smtplib
import time
import unittest

from harness import Mailroom
from ldap_fixture import ADMIN_DN, ADMIN_PW, SUFFIX, Slapd
from peers_smtp import ScriptedSmtpPeer
from replica_waits import ReplicaWaits
import seed

WITHIN = 60  # seconds for a change in slapd to reach the replica (a loaded machine)

DAVE = f"uid=dave,ou=people,{SUFFIX}"
ERIN = f"uid=erin,ou=people,{SUFFIX}"
FRANK = f"uid=frank,ou=people,{SUFFIX}"
LEAVERS = f"ou=leavers,{SUFFIX}"

PEOPLE = f"""
dn: {LEAVERS}
objectClass: organizationalUnit
ou: leavers

dn: {ERIN}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: erin
cn: Erin Manager
sn: Manager
mail: erin@example.com
userPassword: erinpw

dn: {DAVE}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: dave
cn: Dave Leaver
sn: Leaver
mail: dave@example.com
manager: {ERIN}
mailAccountStatus: active
userPassword: davepw

dn: {FRANK}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: frank
cn: Frank Mover
sn: Mover
mail: frank@example.com
manager: uid=nobody,ou=people,{SUFFIX}
userPassword: frankpw
"""

LISTENERS = {"smtp": ("smtp", "none"), "imap": ("imap", "none")}


def directory_config(uri):
    # user_base is the whole tree, so an entry moved to the leavers OU stays in the sync.
    return f"""[directory]
backend = "ldap"
[directory.ldap]
uris = ["{uri}"]
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PW}"
base_dn = "{SUFFIX}"
connect_timeout = 2
timeout = 3
retry_down_after = 1
lookup = "replica"
leavers_ou = "{LEAVERS}"
[directory.ldap.sync]
mode = "persist"
interval = "1s"
"""


OFFBOARDING = """
[offboarding]
enabled = true
auto_reply_days = 30
reply_interval = "7d"
contact = "hr@example.com"
reply_subject = "%n has left"
forward = "manager"

[outbound.transports]
"peer.example" = "[127.0.0.1]:{port}"
"""


def message(sender, subject, extra=""):
    return (f"From: <{sender}>\r\nTo: <dave@example.com>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@peer.example>\r\n{extra}\r\n"
            f"Hello Dave, {subject}.\r\n").encode()


class LdapOffboarding(ReplicaWaits, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedSmtpPeer(tls=False, hostname="mx.peer.example")
        cls.peer.start()
        cls.slapd = Slapd(seed.openldap_seed() + PEOPLE, ad_schema=False)
        try:
            cls.m = Mailroom(listeners=LISTENERS, directory_config=directory_config(cls.slapd.uri),
                             extra_config=OFFBOARDING.format(port=cls.peer.port))
            cls.m.start()
            cls.dave_id = cls.wait_user("dave@example.com")["id"]
            cls.erin_id = cls.wait_user("erin@example.com")["id"]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "m", None):
            cls.m.close()
        cls.slapd.close()
        cls.peer.stop()

    # --- helpers ---
    def set_status(self, dn, status):
        self.slapd.modify(f"dn: {dn}\nchangetype: modify\nreplace: mailAccountStatus\n"
                          f"mailAccountStatus: {status}\n")

    def send(self, sender, subject, extra=""):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.ehlo("mx.peer.example")
            s.sendmail(sender, ["dave@example.com"], message(sender, subject, extra))

    def imap(self, user, password):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
        c.login(user, password)
        self.addCleanup(self.close_quietly, c)
        return c

    @staticmethod
    def close_quietly(c):
        if c.state == "LOGOUT":
            return
        try:
            c.logout()
        except (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError, EOFError):
            try:
                c.shutdown()
            except OSError:
                pass

    def wait_subjects(self, user, password, *subjects):
        """Logs in until the INBOX holds a message with each subject; returns the headers."""
        deadline = time.time() + WITHIN
        while True:
            c = self.imap(user, password)
            _, count = c.select("INBOX", readonly=True)
            headers = []
            if int(count[0]) > 0:
                _, data = c.fetch("1:*", "(BODY.PEEK[HEADER])")
                headers = [d[1].decode() for d in data if isinstance(d, tuple)]
            c.logout()
            if all(any(f"Subject: {s}" in h for h in headers) for s in subjects):
                return headers
            if time.time() > deadline:
                self.fail(f"{user}'s INBOX lacks {subjects}: {headers}")
            time.sleep(0.2)

    # --- tests (name order) ---
    def test_1_plan_before_and_read_only_commands(self):
        plan = self.m.ctl("offboarding", "plan", "dave@example.com", "--dry-run")
        self.assertFalse(plan["offboarded"])
        steps = {s["step"]: s for s in plan["steps"]}
        self.assertEqual(steps["sessions"]["state"], "planned")
        self.assertEqual(steps["auto_reply"]["state"], "planned")
        self.assertIn("hr@example.com", steps["auto_reply"]["detail"])
        self.assertEqual(steps["forward"]["state"], "planned")
        self.assertIn("erin@example.com", steps["forward"]["detail"])
        self.assertIn(self.erin_id, steps["forward"]["detail"])
        text = self.m.ctl("offboarding", "plan", "dave@example.com", json_output=False)
        self.assertIn("not offboarded: what would happen", text.stdout)
        self.assertIn("forward [planned]: new mail forwarded to the manager erin@example.com",
                      text.stdout)
        # Frank's manager is no account: the plan says the mail would stay in the mailbox.
        frank = self.m.ctl("offboarding", "plan", "frank@example.com")
        forward = [s for s in frank["steps"] if s["step"] == "forward"][0]
        self.assertEqual(forward["state"], "failed")
        self.assertIn("stays in the mailbox", forward["detail"])

        # Read-only directory commands on the LDAP replica, same shapes as the embedded ones.
        users = {u["address"]: u for u in self.m.ctl("user", "list")}
        self.assertEqual(users["dave@example.com"]["id"], self.dave_id)
        self.assertEqual(users["carol@example.com"]["status"], "disabled")
        self.assertEqual(set(users["dave@example.com"]),
                         {"id", "login", "address", "display_name", "status", "quota_bytes",
                          "quota_messages"})
        listed = self.m.ctl("user", "list", json_output=False)
        self.assertEqual(listed.returncode, 0)
        self.assertIn("read-only", listed.stderr)
        self.assertIn("ldap", listed.stderr)
        staff = self.m.ctl("group", "show", "staff@example.com")
        self.assertEqual(sorted(staff["members"]), ["alice@example.com", "bob@example.com"])
        self.assertIn("staff@example.com", [g["address"] for g in self.m.ctl("group", "list")])
        self.assertEqual(self.m.ctl("alias", "show", "sales@example.com")["address"],
                         "sales@example.com")
        self.assertIsInstance(self.m.ctl("conflicts"), list)
        refused = self.m.ctl("user", "add", "zed@example.com", "--password", "x", check=False,
                             json_output=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("read-only", refused.stderr)
        self.assertIn("source of truth", refused.stderr)
        refused = self.m.ctl("group", "add", "new@example.com", check=False, json_output=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("source of truth", refused.stderr)

    def test_2_disabled_in_ldap_offboards(self):
        app = self.m.ctl("app-password", "create", "dave@example.com", "--name", "phone")
        session = self.imap("dave@example.com", "davepw")
        self.imap("dave@example.com", app["password"]).logout()  # works while active
        mark = len(self.m.log())
        self.set_status(DAVE, "disabled")
        self.wait_log(rf"event=account_inactive account={self.dave_id} status=disabled", mark)
        self.wait_user("dave@example.com", lambda u: u["status"] == "disabled")

        # (a) the open session is cut, the app password and the password refused.
        deadline = time.time() + WITHIN
        while True:
            try:
                session.noop()
            except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError, EOFError):
                break
            if time.time() > deadline:
                self.fail("dave's IMAP session is still open")
            time.sleep(0.2)
        for password in (app["password"], "davepw"):
            c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
            with self.assertRaises(imaplib.IMAP4.error):
                c.login("dave@example.com", password)
            c.shutdown()

        # (b) + (c): kept, forwarded to Erin, answered once per sender.
        self.send("sender@peer.example", "first question")
        self.send("sender@peer.example", "second question")
        self.send("news@peer.example", "newsletter", "Precedence: bulk\r\n")
        headers = self.wait_subjects("erin@example.com", "erinpw", "first question",
                                     "second question", "newsletter")
        self.assertTrue(any("dave@example.com" in h and "first question" in h for h in headers))
        replies = self.peer.wait_for(1, "sender@peer.example")
        reply = replies[0].decode() if isinstance(replies[0], bytes) else replies[0]
        self.assertIn("Auto-Submitted: auto-replied", reply)
        self.assertIn("Subject: Dave Leaver has left", reply)
        self.assertIn("hr@example.com", reply)
        self.assertIn("In-Reply-To: <first-question@peer.example>", reply)
        self.wait_log(r"vacation already sent")  # the second message: no second reply
        self.wait_log(r"vacation skipped \(precedence bulk\)")  # RFC 3834: never to bulk mail
        self.assertEqual(len(self.peer.messages("sender@peer.example")), 1)
        self.assertEqual(self.peer.messages("news@peer.example"), [])
        self.assertRegex(self.m.log(), rf"event=offboarding_step step=auto_reply "
                                       rf"account={self.dave_id} to=\"?sender@peer.example")
        self.assertRegex(self.m.log(), rf"event=offboarding_step step=forward "
                                       rf"account={self.dave_id} manager={self.erin_id}")
        self.assertRegex(self.m.log(), rf"event=session_revoked account={self.dave_id}")

        status = {v["address"]: v for v in self.m.ctl("offboarding", "status")}
        self.assertIn("dave@example.com", status)
        steps = {s["step"]: s["state"] for s in status["dave@example.com"]["steps"]}
        self.assertEqual((steps["sessions"], steps["auto_reply"], steps["forward"],
                          steps["mailbox"]), ("done", "active", "active", "active"))

    def test_3_leavers_ou(self):
        mark = len(self.m.log())
        self.slapd.modify(f"dn: {FRANK}\nchangetype: modrdn\nnewrdn: uid=frank\n"
                          f"deleteoldrdn: 1\nnewsuperior: {LEAVERS}\n")
        frank = self.wait_user("frank@example.com", lambda u: u["status"] == "disabled")
        self.wait_log(rf"event=account_inactive account={frank['id']}", mark)
        # No manager account: the mail stays in the mailbox only (never a bounce).
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.ehlo("mx.peer.example")
            s.mail("other@peer.example")
            self.assertEqual(s.rcpt("frank@example.com")[0], 250)
        self.wait_log(rf"event=offboarding_no_manager account={frank['id']}", mark)
        status = {v["address"] for v in self.m.ctl("offboarding", "status")}
        self.assertIn("frank@example.com", status)

    def test_4_rehire_restores_and_stops(self):
        mark = len(self.m.log())
        self.set_status(DAVE, "active")
        self.wait_log(rf"event=account_reactivated account={self.dave_id}", mark)
        self.wait_user("dave@example.com", lambda u: u["status"] == "active")
        self.assertEqual(self.m.ctl("user", "show", "dave@example.com")["id"], self.dave_id)
        # His mailbox and login are back: what came while he was away is there.
        self.wait_subjects("dave@example.com", "davepw", "first question", "newsletter")
        erin_before = len(self.wait_subjects("erin@example.com", "erinpw", "newsletter"))
        self.send("third@peer.example", "welcome back")
        self.wait_subjects("dave@example.com", "davepw", "welcome back")
        after = self.m.log()[mark:]
        self.assertNotIn("step=auto_reply", after)
        self.assertNotIn("step=forward", after)
        self.assertEqual(len(self.wait_subjects("erin@example.com", "erinpw")), erin_before)
        self.assertEqual(self.peer.messages("third@peer.example"), [])
        self.assertNotIn("dave@example.com",
                         {v["address"] for v in self.m.ctl("offboarding", "status")})
        plan = self.m.ctl("offboarding", "plan", "dave@example.com")
        self.assertFalse(plan["offboarded"])


if __name__ == "__main__":
    unittest.main()
