"""mailroomd against a real slapd (lookup = "replica", RFC 4533 persist sync) while slapd is
stopped mid-test: the credential cache ([directory] credential_cache_ttl) lets a user whose
password LDAP accepted earlier log in on IMAP, POP3 and SMTP AUTH; a wrong password still
fails; a user never seen, or whose entry expired, gets the temporary error ([UNAVAILABLE],
-ERR [SYS/TEMP], 454 4.7.0). The cache is a 0600 file of salted hashes that survives a
restart. Also: a new primary address in LDAP keeps the old one delivering to the same
mailbox for old_address_grace, then it stops."""
import imaplib
import os
import poplib
import smtplib
import sqlite3
import time
import unittest

from harness import Mailroom
from ldap_fixture import SUFFIX, Slapd
from test_ldap_sync import replica_config
import seed

LISTENERS = {"smtp": ("smtp", "none"), "submission": ("submission", "none"),
             "imap": ("imap", "none"), "pop3": ("pop3", "none")}


def directory_config(uri, ttl="1h", grace="0"):
    return (f'[directory]\nbackend = "ldap"\ncredential_cache_ttl = "{ttl}"\n'
            + replica_config(uri) + f'old_address_grace = "{grace}"\n')


def imap_login(m, user, password):
    """'OK', or the server's NO text."""
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
        imap.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return str(e)


def pop3_login(m, user, password):
    pop = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=30)
    try:
        pop.user(user)
        pop.pass_(password)
        pop.quit()
        return "+OK"
    except poplib.error_proto as e:
        pop.close()
        return e.args[0].decode()


def smtp_auth(m, user, password):
    s = smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=30)
    try:
        s.ehlo("client.example")
        code, text = s.docmd("AUTH", "PLAIN " + __import__("base64").b64encode(
            f"\0{user}\0{password}".encode()).decode())
        return code, text.decode()
    finally:
        s.close()


class LdapOutageTest(unittest.TestCase):
    def setUp(self):
        self.slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        self.addCleanup(self.slapd.close)

    def start(self, **kw):
        m = Mailroom(listeners=LISTENERS, directory_config=directory_config(self.slapd.uri, **kw))
        self.addCleanup(m.close)
        m.start()
        return m

    def test_credential_cache_during_an_outage(self):
        m = self.start(ttl="1h")
        # Live LDAP binds: alice's password goes into the cache, the wrong one does not.
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.assertIn("AUTHENTICATIONFAILED", imap_login(m, "alice", "not-her-password"))
        cache = os.path.join(m.data, "credential-cache.db")
        self.assertEqual(os.stat(cache).st_mode & 0o777, 0o600)

        self.slapd.stop()
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.assertEqual(pop3_login(m, "alice", "wonderland"), "+OK")
        self.assertEqual(smtp_auth(m, "alice", "wonderland")[0], 235)
        # A wrong password is still wrong...
        self.assertIn("AUTHENTICATIONFAILED", imap_login(m, "alice", "not-her-password"))
        self.assertEqual(smtp_auth(m, "alice", "not-her-password")[0], 535)
        # ...and bob, who never logged in while LDAP was up, is told to try later.
        self.assertIn("UNAVAILABLE", imap_login(m, "bob", "builder"))
        self.assertIn("[SYS/TEMP]", pop3_login(m, "bob", "builder"))
        code, text = smtp_auth(m, "bob", "builder")
        self.assertEqual((code, text[:5]), (454, "4.7.0"))
        self.assertIn("event=credential_cache_used", m.log())

        # Only salted hashes on disk, and they survive a restart (LDAP still down).
        data = b""
        for suffix in ("", "-wal"):
            if os.path.exists(cache + suffix):
                with open(cache + suffix, "rb") as f:
                    data += f.read()
        self.assertNotIn(b"wonderland", data)
        self.assertIn(b"{SHA512-CRYPT}", data)
        m.restart()
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.assertIn("UNAVAILABLE", imap_login(m, "bob", "builder"))

        # LDAP back: binds are live again (bob gets in).
        self.slapd.start()
        deadline = time.time() + 30
        answer = imap_login(m, "bob", "builder")
        while answer != "OK" and time.time() < deadline:
            time.sleep(0.5)
            answer = imap_login(m, "bob", "builder")
        self.assertEqual(answer, "OK")

    def test_cached_entry_expires(self):
        # No wall clock: the TTL is an hour, and the test ages alice's entry by rewriting its
        # verified_at in the cache file (mailroomd reads the entry on every check). The
        # boundary itself (age == ttl) is unit-tested in credential_cache_test.cpp.
        m = self.start(ttl="1h")
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.slapd.stop()
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")  # a fresh entry
        self.assertNotIn("event=credential_cache_expired", m.log())
        cache = sqlite3.connect(os.path.join(m.data, "credential-cache.db"), timeout=30)
        try:
            with cache:
                aged = cache.execute("UPDATE credential_cache SET verified_at = verified_at - 3601")
            self.assertEqual(aged.rowcount, 1)
        finally:
            cache.close()
        self.assertIn("UNAVAILABLE", imap_login(m, "alice", "wonderland"))
        self.assertIn("event=credential_cache_expired", m.log())

    def test_cache_off_by_default(self):
        m = self.start(ttl="0")
        self.assertEqual(imap_login(m, "alice", "wonderland"), "OK")
        self.assertFalse(os.path.exists(os.path.join(m.data, "credential-cache.db")))
        self.slapd.stop()
        self.assertIn("UNAVAILABLE", imap_login(m, "alice", "wonderland"))

    def test_old_address_grace(self):
        m = self.start(grace="4s")
        self.slapd.modify(f"dn: uid=alice,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mail\nmail: alice.liddell@example.com\n")
        s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30)
        s.ehlo("client.partner.example")
        deadline = time.time() + 20
        code = 0
        while time.time() < deadline:
            s.rset()
            s.mail("sender@partner.example")
            code = s.rcpt("alice.liddell@example.com")[0]
            if code == 250:
                break
            time.sleep(0.2)
        self.assertEqual(code, 250)  # the new address arrived through the sync
        # The old address still delivers, to the same mailbox.
        s.rset()
        msg = ("From: sender@partner.example\r\nTo: alice@example.com\r\n"
               "Subject: to the old address\r\n\r\nstill reaches alice\r\n")
        self.assertEqual(s.sendmail("sender@partner.example", ["alice@example.com"], msg), {})
        imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
        imap.login("alice", "wonderland")
        imap.select("INBOX")
        deadline = time.time() + 20
        found = []
        while time.time() < deadline and not found:
            imap.noop()
            found = imap.search(None, 'SUBJECT "to the old address"')[1][0].split()
            time.sleep(0.2)
        self.assertEqual(len(found), 1)
        imap.logout()
        # After the grace period the old address is unknown.
        deadline = time.time() + 30
        code = 250
        while time.time() < deadline and code == 250:
            time.sleep(0.5)
            s.rset()
            s.mail("sender@partner.example")
            code = s.rcpt("alice@example.com")[0]
        self.assertEqual(code, 550)
        self.assertIn("event=old_address_grace_over", m.log())
        s.quit()


class LdapSyncCommandsTest(unittest.TestCase):
    """mailroomctl directory sync --dry-run / --now / status against slapd (no mailroomd)."""

    def test_dry_run_now_and_status(self):
        slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        self.addCleanup(slapd.close)
        config = directory_config(slapd.uri).replace('lookup = "replica"', 'lookup = "live"')
        config = config.replace('mode = "persist"', 'mode = "off"')
        self.assertIn('mode = "off"', config)
        m = Mailroom(listeners=LISTENERS, directory_config=config)
        self.addCleanup(m.close)
        dry = m.ctl("directory", "sync", "--dry-run")
        self.assertTrue(dry["dry_run"])
        created = {c["address"] for c in dry["changes"] if c["action"] == "create"}
        self.assertIn("alice@example.com", created)
        now = m.ctl("directory", "sync", "--now")
        self.assertEqual(now["created"], dry["created"])
        self.assertEqual(m.ctl("directory", "sync", "--dry-run")["changes"], [])
        slapd.modify(f"dn: uid=bob,ou=people,{SUFFIX}\nchangetype: modify\n"
                     "replace: mailAccountStatus\nmailAccountStatus: disabled\n")
        changes = m.ctl("directory", "sync", "--dry-run")["changes"]
        self.assertEqual([(c["action"], c["address"]) for c in changes],
                         [("update", "bob@example.com")])
        status = m.ctl("directory", "sync", "status")
        self.assertEqual(status["backend"], "ldap")
        self.assertNotEqual(status["ldap.last_sync"], "")
        slapd.stop()
        p = m.ctl("directory", "sync", "--now", check=False, json_output=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        p = m.ctl("directory", "sync", check=False, json_output=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

if __name__ == "__main__":
    unittest.main()
