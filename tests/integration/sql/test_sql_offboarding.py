"""Offboarding (issue 22, G7) with MariaDB as the directory: the `manager` column the README
tells an admin to add (ALTER TABLE + the account queries naming it) reaches the replica, and
when MariaDB disables Dave his mail is kept, forwarded to his manager Erin (read over IMAP),
and answered once per sender by the auto-reply (a local SMTP sink stands for the outside
world). A manager given by account id works like one given by address; a manager who is not
an account leaves the mail in the mailbox alone. Enabled again (the same id), the forwarding
stops. One mariadbd and one mailroomd for the module; the tests run in name order."""
import imaplib
import os
import smtplib
import time
import unittest

from harness import Mailroom, bin_dir
from mariadb_server import MariaDB, available
from peers_smtp import ScriptedSmtpPeer
from replica_waits import ReplicaWaits
from sql_fixture import SCHEMA, demo_rows, q, sql_config, ssha512

WITHIN = 60  # seconds for a change in MariaDB to reach the replica (a loaded machine)

PEOPLE = f"""
ALTER TABLE accounts ADD COLUMN manager VARCHAR(320) NULL;
INSERT INTO accounts (id, login, address, display_name, password_hash, status, quota_bytes,
                      manager) VALUES
  ('id-erin', 'erin', 'erin@example.com', 'Erin Manager', {q(ssha512('erinpw'))}, 'active', 0,
   NULL),
  ('id-dave', 'dave', 'dave@example.com', 'Dave Leaver', {q(ssha512('davepw'))}, 'active', 0,
   'erin@example.com'),
  ('id-frank', 'frank', 'frank@example.com', 'Frank Mover', {q(ssha512('frankpw'))}, 'active',
   0, 'nobody@example.com'),
  ('id-gina', 'gina', 'gina@example.com', 'Gina Leaver', {q(ssha512('ginapw'))}, 'active', 0,
   'id-erin');
"""

# The shipped account queries (auth/sql/sql_options.cpp) with the manager column added, as the
# README's offboarding section says.
COLUMNS = ("SELECT a.id, a.login, a.address, a.display_name, a.password_hash, a.status, "
           "a.quota_bytes, a.quota_messages, a.forward_keep_copy, a.manager, "
           "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "
           "WHERE x.account_id = a.id AND x.kind = 'other') AS other_addresses, "
           "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "
           "WHERE x.account_id = a.id AND x.kind = 'forward') AS forward_to, "
           "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "
           "WHERE x.account_id = a.id AND x.kind = 'send_as') AS send_as ")
LIST = (COLUMNS + ", a.scram_secret, DATE_FORMAT(a.changed_at, '%Y-%m-%d %H:%i:%s.%f') "
        "AS changed_at FROM accounts a ")
QUERIES = "\n".join(f'{k} = "{v}"' for k, v in {
    "find_account_by_address": COLUMNS + "FROM accounts a JOIN (SELECT id FROM accounts WHERE "
    "address = :address UNION SELECT o.account_id FROM account_addresses o WHERE "
    "o.address = :address AND o.kind = 'other') k ON a.id = k.id",
    "find_account_by_login": COLUMNS + "FROM accounts a WHERE a.login = :login",
    "find_account_by_id": COLUMNS + "FROM accounts a WHERE a.id = :id",
    "list_accounts": LIST + "ORDER BY a.id",
    "list_changed_accounts": LIST + "WHERE a.changed_at >= :since ORDER BY a.changed_at",
}.items())

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

LISTENERS = {"smtp": ("smtp", "none"), "imap": ("imap", "none")}


def message(sender, rcpt, subject):
    return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@peer.example>\r\n\r\n"
            f"Hello, {subject}.\r\n").encode()


@unittest.skipUnless(available(), "mariadb-server is not installed")
@unittest.skipUnless(os.path.exists(os.path.join(bin_dir(), "mailroomd")), "not built")
class SqlOffboarding(ReplicaWaits, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedSmtpPeer(tls=False, hostname="mx.peer.example")
        cls.peer.start()
        cls.db = MariaDB().start()
        try:
            cls.db.load(SCHEMA)
            cls.db.sql(demo_rows() + PEOPLE)
            sync = '\nlookup = "replica"\n[directory.sql.sync]\nmode = "poll"\ninterval = "1s"\n'
            cls.m = Mailroom(listeners=LISTENERS,
                             directory_config=sql_config([cls.db.port], extra=sync,
                                                         queries=QUERIES),
                             extra_config=OFFBOARDING.format(port=cls.peer.port))
            cls.m.start()
            cls.wait_user("gina@example.com")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "m", None):
            cls.m.close()
        cls.db.cleanup()
        cls.peer.stop()

    # --- helpers ---
    def set_status(self, account_id, status):
        # changed_at moves with every UPDATE (ON UPDATE CURRENT_TIMESTAMP in the schema).
        self.db.sql(f"UPDATE accounts SET status = {q(status)} WHERE id = {q(account_id)};")

    def send(self, sender, rcpt, subject):
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.ehlo("mx.peer.example")
            s.sendmail(sender, [rcpt], message(sender, rcpt, subject))

    def subjects(self, user, password):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
        try:
            c.login(user, password)
            _, count = c.select("INBOX", readonly=True)
            if int(count[0]) == 0:
                return []
            _, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            return [d[1].decode().strip() for d in data if isinstance(d, tuple)]
        finally:
            c.logout()

    def wait_subjects(self, user, password, *subjects):
        deadline = time.time() + WITHIN
        while True:
            got = self.subjects(user, password)
            if all(f"Subject: {s}" in got for s in subjects):
                return got
            if time.time() > deadline:
                self.fail(f"{user}'s INBOX lacks {subjects}: {got}")
            time.sleep(0.3)

    # --- tests ---
    def test_1_plan_names_the_manager_from_the_column(self):
        plan = self.m.ctl("offboarding", "plan", "dave@example.com")
        self.assertFalse(plan["offboarded"])
        forward = {s["step"]: s for s in plan["steps"]}["forward"]
        self.assertEqual(forward["state"], "planned", plan)
        self.assertIn("erin@example.com", forward["detail"])

    def test_2_disabled_in_mariadb_is_kept_forwarded_and_answered(self):
        mark = len(self.m.log())
        self.set_status("id-dave", "disabled")
        self.wait_user("dave@example.com", lambda u: u["status"] == "disabled")
        self.wait_log(r"event=account_inactive account=id-dave status=disabled", mark)
        self.send("sender@peer.example", "dave@example.com", "first question")
        self.send("sender@peer.example", "dave@example.com", "second question")
        self.wait_subjects("erin@example.com", "erinpw", "first question", "second question")
        replies = self.peer.wait_for(1, "sender@peer.example")
        reply = replies[0].decode() if isinstance(replies[0], bytes) else replies[0]
        self.assertIn("Subject: Dave Leaver has left", reply)
        self.assertIn("hr@example.com", reply)
        self.wait_log(r"vacation already sent", mark)  # one reply per sender
        self.assertEqual(len(self.peer.messages("sender@peer.example")), 1)
        self.assertRegex(self.m.log()[mark:], r"event=offboarding_step step=forward "
                                              r"account=id-dave manager=id-erin")
        status = {v["address"]: v for v in self.m.ctl("offboarding", "status")}
        steps = {s["step"]: s["state"] for s in status["dave@example.com"]["steps"]}
        self.assertEqual((steps["forward"], steps["mailbox"]), ("active", "active"))

    def test_3_manager_by_id_and_manager_who_is_no_account(self):
        mark = len(self.m.log())
        self.set_status("id-gina", "disabled")
        self.set_status("id-frank", "disabled")
        self.wait_user("gina@example.com", lambda u: u["status"] == "disabled")
        self.wait_user("frank@example.com", lambda u: u["status"] == "disabled")
        self.send("other@peer.example", "gina@example.com", "for gina")
        self.wait_subjects("erin@example.com", "erinpw", "for gina")
        self.assertRegex(self.m.log()[mark:], r"event=offboarding_step step=forward "
                                              r"account=id-gina manager=id-erin")
        # No such account: kept in Frank's mailbox only, never a bounce.
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.ehlo("mx.peer.example")
            s.mail("other@peer.example")
            self.assertEqual(s.rcpt("frank@example.com")[0], 250)
        self.wait_log(r"event=offboarding_no_manager account=id-frank", mark)

    def test_4_enabled_again_stops_forwarding(self):
        mark = len(self.m.log())
        self.set_status("id-dave", "active")
        self.wait_log(r"event=account_reactivated account=id-dave", mark)
        self.wait_user("dave@example.com", lambda u: u["status"] == "active")
        self.send("later@peer.example", "dave@example.com", "after return")
        self.assertIn("Subject: after return", self.wait_subjects("dave@example.com", "davepw",
                                                                   "after return"))
        self.assertNotIn("Subject: after return", self.subjects("erin@example.com", "erinpw"))
        self.assertEqual(self.peer.messages("later@peer.example"), [])


if __name__ == "__main__":
    unittest.main()
