"""App passwords with the SQL directory (issue 16), live lookups against a real mariadbd: a
new password_hash revokes them (no change column needed: every new hash has a new salt), and
so does a new value of a column the account queries return as password_changed; the IMAP
IDLE session that logged in with the app password is closed within the sweep's period."""
import imaplib
import os
import socket
import time
import unittest

from harness import Mailroom, bin_dir
from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, demo_rows, q, sql_config, ssha512

WITHIN = 60  # seconds; the full pass runs every session_recheck_all (1 s here)
LISTENERS = {"imap": ("imap", "none")}
COLUMNS = "id, login, address, password_hash, status, pw_changed AS password_changed"
QUERIES = f'''find_account_by_address = "SELECT {COLUMNS} FROM accounts WHERE address = :address"
find_account_by_login = "SELECT {COLUMNS} FROM accounts WHERE login = :login"
find_account_by_id = "SELECT {COLUMNS} FROM accounts WHERE id = :id"
'''


def imap_login(m, user, password):
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - closed after a refusal
            pass


class Idle:
    def __init__(self, m, user, password):
        self.sock = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=10)
        self.f = self.sock.makefile("rb")
        self.f.readline()
        for tag, command in (("a", f"LOGIN {user} {password}"), ("b", "SELECT INBOX")):
            self.sock.sendall(f"{tag} {command}\r\n".encode())
            while True:
                line = self.f.readline()
                if line.startswith(tag.encode() + b" "):
                    assert b" OK" in line, line
                    break
        self.sock.sendall(b"c IDLE\r\n")
        assert self.f.readline().startswith(b"+")

    def closed_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.f.close()
        self.sock.close()


@unittest.skipUnless(available(), "mariadb-server is not installed")
@unittest.skipUnless(os.path.exists(os.path.join(bin_dir(), "mailroomd")), "mailroomd not built")
class SqlAppPasswords(unittest.TestCase):
    def run_case(self, change, queries=""):
        db = MariaDB()
        db.__enter__()
        self.addCleanup(db.__exit__, None, None, None)
        db.load(SCHEMA)
        db.sql(demo_rows())
        db.sql("ALTER TABLE accounts ADD COLUMN pw_changed VARCHAR(32) NOT NULL DEFAULT '1'")
        m = Mailroom(listeners=LISTENERS,
                     directory_config=sql_config([db.port], queries=queries))
        with open(m.config_path) as f:
            config = f.read()
        with open(m.config_path, "w") as f:
            f.write(config.replace("[server]\n", "[server]\nsession_check_interval = 1\n"
                                   "session_recheck_all = 1\n", 1))
        self.addCleanup(m.close)
        m.start()
        app = m.ctl("app-password", "create", "alice", "--name", "laptop")
        imap_login(m, "alice", app["password"])
        session = Idle(m, "alice", app["password"])
        self.addCleanup(session.close)
        t0 = time.time()
        db.sql(change)
        self.assertTrue(session.closed_within(WITHIN),
                        f"IDLE session open {time.time() - t0:.1f}s after the change")
        listed = m.ctl("app-password", "list", "alice", "--all")
        self.assertEqual([(a["name"], a["revoked_reason"]) for a in listed],
                         [("laptop", "password_changed")])
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(m, "alice", app["password"])
        self.assertNotIn(app["password"], m.log())
        return m

    def test_new_password_hash_revokes(self):
        m = self.run_case(f"UPDATE accounts SET password_hash = {q(ssha512('looking glass'))} "
                          "WHERE id = 'id-alice'")
        imap_login(m, "alice", "looking glass")

    def test_password_changed_column_revokes(self):
        # The hash stays: only the mapped change column tells.
        self.run_case("UPDATE accounts SET pw_changed = '2' WHERE id = 'id-alice'", QUERIES)


if __name__ == "__main__":
    unittest.main()
