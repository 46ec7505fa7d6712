"""mailroomd and mailroomctl against a real mariadbd, for what the directory sync does around
accounts: lookup = "live" with the replica as warm standby and the credential cache while
MariaDB is down, the old-address grace alias, `mailroomctl directory sync` (--dry-run, --now,
status) and the retention of disabled users' mailboxes (never on the first sync)."""
import imaplib
import os
import smtplib
import sqlite3
import time
import unittest

from harness import Mailroom, bin_dir
from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, demo_rows, sql_config

LISTENERS = {"smtp": ("smtp", "none"), "imap": ("imap", "none"), "pop3": ("pop3", "none")}


def config(port, ttl="1h", grace="0", retention="0", action="keep", lookup="live",
           interval="1s", full="2s"):
    sync = (f'\n[directory.sql.sync]\nmode = "poll"\ninterval = "{interval}"\n'
            f'full_compare_interval = "{full}"\nold_address_grace = "{grace}"\n')
    text = sql_config([port], extra=f'lookup = "{lookup}"\n' + sync)
    return text.replace('backend = "sql"\n', f'backend = "sql"\ncredential_cache_ttl = "{ttl}"\n'
                        f'retention = "{retention}"\nretention_action = "{action}"\n', 1)


def imap_login(m, user, password):
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
        imap.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return str(e)


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    value = predicate()
    while not value and time.time() < deadline:
        time.sleep(0.3)
        value = predicate()
    return value


def replica(m, sql, *args):
    """Rows of the replica (<data>/directory.db): mailroomctl's user commands only write the
    embedded backend, so the tests read the replica directly."""
    con = sqlite3.connect(os.path.join(m.data, "directory.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def inbox_messages(m, user):
    for b in m.ctl("mailbox", "list", user)["mailboxes"]:
        if b["name"] == "INBOX":
            return b["messages"]
    return 0


def rcpt_code(m, address):
    s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30)
    try:
        s.ehlo("client.partner.example")
        s.mail("sender@partner.example")
        return s.rcpt(address)[0]
    finally:
        s.close()


@unittest.skipUnless(available(), "mariadb-server is not installed")
@unittest.skipUnless(os.path.exists(os.path.join(bin_dir(), "mailroomd")), "mailroomd not built")
class SqlPolicyTest(unittest.TestCase):
    def setUp(self):
        self.db = MariaDB().start()
        self.addCleanup(self.db.cleanup)
        self.db.load(SCHEMA)
        self.db.sql(demo_rows())

    def start(self, **kw):
        m = Mailroom(listeners=LISTENERS, directory_config=config(self.db.port, **kw))
        self.addCleanup(m.close)
        m.start()
        # The replica's first pass (the standby must know everyone before the outage).
        self.assertTrue(wait_for(lambda: m.ctl("directory", "sync", "status").get("sql.last_sync")))
        return m

    def test_outage_with_standby_replica(self):
        m = self.start()
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.db.stop()
        # Lookups come from the standby replica: mail is accepted, not deferred.
        self.assertEqual(rcpt_code(m, "alice@example.com"), 250)
        self.assertEqual(rcpt_code(m, "nobody@example.com") // 100, 5)
        # Passwords: SQL hashes are verified by Mailroom itself, and the standby holds them,
        # so everyone logs in (the credential cache is for LDAP binds); a wrong one is wrong.
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.assertEqual(imap_login(m, "bob", "builder"), "OK")
        self.assertIn("AUTHENTICATIONFAILED", imap_login(m, "alice", "builder"))

    def test_old_address_grace(self):
        m = self.start(grace="3s")
        self.db.sql("UPDATE accounts SET address = 'alice.liddell@example.com' WHERE id = 'id-alice'")
        self.assertTrue(wait_for(lambda: rcpt_code(m, "alice.liddell@example.com") == 250))
        # The sync (1 s poll) turns the old address into a grace alias in the replica.
        self.assertTrue(wait_for(lambda: replica(m, "SELECT 1 FROM aliases WHERE address = ?",
                                                 "alice@example.com")))
        # Still delivering to the old address within the grace period, to the same account.
        self.assertEqual(rcpt_code(m, "alice@example.com"), 250)
        self.assertEqual(replica(m, "SELECT a.source, t.target FROM aliases a JOIN alias_targets t "
                                    "ON t.alias = a.address WHERE a.address = ?", "alice@example.com"),
                         [("grace", "alice.liddell@example.com")])
        self.assertTrue(wait_for(lambda: rcpt_code(m, "alice@example.com") == 550, timeout=30))

    def test_sync_commands(self):
        m = self.start(interval="1h", full="1h")  # mailroomd's own sync stays out of the way
        status = m.ctl("directory", "sync", "status")
        self.assertEqual(status["backend"], "sql")
        self.assertEqual(status["sql.last_error"], "")
        self.assertIn("lag_seconds", status)
        self.db.sql("INSERT INTO accounts (id, login, address, display_name, status) VALUES "
                    "('id-dave', 'dave', 'dave@example.com', 'Dave', 'active');"
                    "DELETE FROM account_addresses WHERE account_id = 'id-bob';"
                    "DELETE FROM accounts WHERE id = 'id-bob';"
                    "INSERT INTO aliases (address, target) VALUES ('sales@example.com', 'dave@example.com')")
        dry = m.ctl("directory", "sync", "--dry-run")
        changes = {(c["action"], c["address"]) for c in dry["changes"]}
        self.assertIn(("create", "dave@example.com"), changes)
        self.assertIn(("remove", "bob@example.com"), changes)
        self.assertIn(("create-alias", "sales@example.com"), changes)
        now = m.ctl("directory", "sync", "--now")
        self.assertFalse(now["dry_run"])
        self.assertEqual(replica(m, "SELECT id FROM accounts WHERE address = ?", "dave@example.com"),
                         [("id-dave",)])
        self.assertEqual(m.ctl("directory", "sync", "--dry-run")["changes"], [])
        # MariaDB down: --now fails with a system error, status says why afterwards.
        self.db.stop()
        p = m.ctl("directory", "sync", "--now", check=False, json_output=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_retention_archives_after_the_period_never_on_first_sync(self):
        m = self.start(retention="1h", action="archive")
        # carol was already disabled at the first sync: her clock starts now, nothing is due.
        self.assertEqual(m.ctl("directory", "retention", "--dry-run")["accounts"], [])
        # alice gets mail, then is disabled upstream.
        s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30)
        s.sendmail("sender@partner.example", ["alice@example.com"],
                   "From: sender@partner.example\r\nSubject: keep me\r\n\r\nbody\r\n")
        s.quit()
        box = os.path.join(m.data, "mail", "id-alice")
        self.assertTrue(wait_for(lambda: os.path.isdir(box)))
        # The directory exists before the append commits: wait for the message itself.
        self.assertEqual(wait_for(lambda: inbox_messages(m, "id-alice") == 1), True)
        self.db.sql("UPDATE accounts SET status = 'disabled' WHERE id = 'id-alice'")
        self.assertTrue(wait_for(lambda: replica(
            m, "SELECT status FROM accounts WHERE id = 'id-alice'") == [("disabled",)]))
        self.assertEqual(m.ctl("directory", "retention", "--dry-run")["accounts"], [])
        # With a 2 s retention both are due after 2 s; the dry run changes nothing.
        m.directory_config = config(self.db.port, retention="2s", action="archive")
        m.write_config()

        def due():
            return sorted(a["id"] for a in m.ctl("directory", "retention", "--dry-run")["accounts"])

        self.assertEqual(wait_for(lambda: due() == ["id-alice", "id-carol"]), True, due())
        self.assertTrue(os.path.isdir(box))
        done = m.ctl("directory", "retention")
        results = {a["id"]: a["result"] for a in done["accounts"]}
        self.assertIn("messages=1", results["id-alice"])
        self.assertIn("no mailbox", results["id-carol"])
        self.assertFalse(os.path.exists(box))
        archive = os.path.join(m.data, "archive")
        files = os.listdir(archive)
        self.assertEqual(len(files), 1)
        path = os.path.join(archive, files[0])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, "rb") as f:
            self.assertIn(b"Subject: keep me", f.read())
        # Once only.
        self.assertEqual(m.ctl("directory", "retention")["accounts"], [])


if __name__ == "__main__":
    unittest.main()
