"""The SQL directory against a real mariadbd started by the test (temp datadir, free port).

Covers lookups, logins, the shipped schema, SQL injection attempts, configuration errors
reported at open, a server restart under an open pool and failover between two servers.
Run: ctest -R integration.sql  (needs mariadb-server, and the sql_directory_driver binary).
"""
import os
import unittest

from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, Driver, demo_rows, driver_path, sql_config


def setUpModule():
    if not available():
        raise unittest.SkipTest("mariadb-server is not installed")
    if not os.path.exists(driver_path()):
        raise unittest.SkipTest("sql_directory_driver not built: " + driver_path())


class SqlDirectoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        cls.db.load(SCHEMA)
        cls.db.sql(demo_rows())

    @classmethod
    def tearDownClass(cls):
        cls.db.cleanup()

    def setUp(self):
        self.d = Driver(sql_config([self.db.port]))
        self.assertEqual(self.d.opened, {"open": "ok"}, self.d.opened)

    def tearDown(self):
        self.assertEqual(self.d.close(), 0, self.d.stderr)

    def test_account_lookups(self):
        a = self.d.ask("account_by_address", "alice@example.com")
        self.assertEqual(a["code"], "ok")
        self.assertEqual(a["id"], "id-alice")
        self.assertEqual(a["login"], "alice")
        self.assertEqual(a["display_name"], "Alice Liddell")
        self.assertEqual(a["quota_bytes"], 1000000)
        self.assertEqual(a["other_addresses"], ["a.liddell@example.com"])
        self.assertEqual(a["send_as"], ["queen@example.com"])
        # A secondary address finds the same account.
        self.assertEqual(self.d.ask("account_by_address", "a.liddell@example.com")["id"], "id-alice")
        self.assertEqual(self.d.ask("account_by_login", "bob")["id"], "id-bob")
        b = self.d.ask("account_by_id", "id-bob")
        self.assertEqual(sorted(b["forward_to"]),
                         ["bob@elsewhere.example", "builder@elsewhere.example"])
        self.assertFalse(b["forward_keep_copy"])
        self.assertEqual(self.d.ask("account_by_login", "carol")["status"], "disabled")
        for cmd, key in [("account_by_address", "nobody@example.com"),
                         ("account_by_login", "nobody"), ("account_by_id", "id-nobody")]:
            self.assertEqual(self.d.ask(cmd, key)["code"], "not_found", (cmd, key))

    def test_aliases_groups_domains(self):
        self.assertEqual(sorted(self.d.ask("alias", "info@example.com")["targets"]),
                         ["alice@example.com", "bob@example.com"])
        self.assertEqual(self.d.ask("alias", "alice@example.com")["code"], "not_found")
        g = self.d.ask("group", "staff@example.com")
        self.assertEqual(g["code"], "ok")
        self.assertEqual(g["display_name"], "Staff")
        self.assertEqual(sorted(g["members"]), ["alice@example.com", "bob@example.com"])
        self.assertEqual(g["allowed_senders"], ["alice@example.com"])
        self.assertEqual(self.d.ask("group", "nogroup@example.com")["code"], "not_found")
        dom = self.d.ask("domain", "example.net")
        self.assertEqual(dom["domain"]["kind"], "alias")
        self.assertEqual(dom["domain"]["alias_of"], "example.com")
        self.assertEqual(self.d.ask("domain", "example.com")["domain"]["kind"], "local")
        self.assertEqual(self.d.ask("domain", "example.org")["code"], "not_found")
        names = [x["name"] for x in self.d.ask("domains")["domains"]]
        self.assertEqual(names, ["example.com", "example.net"])

    def test_passwords(self):
        self.assertEqual(self.d.ask("password", "alice", "wonderland")["check"], "ok")  # SHA512-CRYPT
        self.assertEqual(self.d.ask("password", "bob", "builder")["check"], "ok")        # SSHA512
        self.assertEqual(self.d.ask("password", "alice", "builder")["check"], "mismatch")
        self.assertEqual(self.d.ask("password", "bob", "")["check"], "mismatch")
        self.assertEqual(self.d.ask("password", "nobody", "x")["code"], "not_found")
        self.assertTrue(self.d.ask("scram", "alice")["secret"].startswith("SCRAM-SHA-256$4096:"))
        self.assertEqual(self.d.ask("scram", "bob")["code"], "not_found")

    def test_sql_injection_finds_nothing_and_breaks_nothing(self):
        attacks = [
            "alice' OR '1'='1",
            "' OR 1=1 -- ",
            "' OR 1=1 #",
            "alice'; DROP TABLE accounts; --",
            "alice\\' OR 1=1 -- ",
            "\" OR \"\"=\"",
            "alice%",
            "%",
            "_lice",
            "alice' UNION SELECT id, login, address, display_name, password_hash, status, "
            "quota_bytes, quota_messages, forward_keep_copy, NULL, NULL, NULL FROM accounts -- ",
            ":login",
            "?",
            "alice\u00a0",
            "alice ",
            "alic\u00e9",
            "alice\x00",
            "x" * 5000,
        ]
        for attack in attacks:
            for cmd in ("account_by_login", "account_by_address", "account_by_id", "alias",
                        "group", "domain"):
                r = self.d.ask(cmd, attack)
                self.assertEqual(r["code"], "not_found", (cmd, attack, r))
            self.assertEqual(self.d.ask("account_by_address", attack + "@example.com")["code"],
                             "not_found", attack)
            self.assertEqual(self.d.ask("password", attack, "x")["code"], "not_found", attack)
        # Nothing was dropped or changed.
        self.assertEqual(self.db.sql("SELECT COUNT(*) FROM accounts"), [["3"]])
        self.assertEqual(self.d.ask("password", "alice", "wonderland")["check"], "ok")

    def test_mapping_an_existing_table(self):
        # An HR table with its own names, mapped with queries only (auth/sql/README.md).
        self.db.sql("""
            CREATE TABLE IF NOT EXISTS employees (emp_no INT PRIMARY KEY, uid VARCHAR(64),
              mail VARCHAR(255), full_name VARCHAR(255), pw VARCHAR(255), active TINYINT);
            DELETE FROM employees;
            INSERT INTO employees VALUES (1001, 'dave', 'dave@example.com', 'Dave', '', 1),
                                         (1002, 'erin', 'erin@example.com', 'Erin', '', 0);
        """)
        cols = ("CAST(emp_no AS CHAR) AS id, uid AS login, mail AS address, "
                "full_name AS display_name, pw AS password_hash, active AS status")
        queries = "\n".join([
            f'find_account_by_address = "SELECT {cols} FROM employees WHERE mail = :address"',
            f'find_account_by_login = "SELECT {cols} FROM employees WHERE uid = :local"',
            # A numeric key compared with a string converts the string ("1001 OR 1=1" -> 1001):
            # compare the text too (README: "numeric keys").
            f'find_account_by_id = "SELECT {cols} FROM employees '
            f'WHERE emp_no = :id AND CAST(emp_no AS CHAR) = :id"',
            'find_alias = ""', 'find_group = ""', 'scram_secret = ""',
        ])
        d = Driver(sql_config([self.db.port], queries=queries))
        try:
            self.assertEqual(d.opened, {"open": "ok"}, d.opened)
            a = d.ask("account_by_login", "dave@example.com")
            self.assertEqual((a["id"], a["address"], a["status"]), ("1001", "dave@example.com", "active"))
            self.assertEqual(d.ask("account_by_id", "1002")["status"], "disabled")
            self.assertEqual(d.ask("alias", "info@example.com")["code"], "not_found")  # disabled
            self.assertEqual(d.ask("account_by_id", "1001 OR 1=1")["code"], "not_found")
        finally:
            d.close()


class SqlConfigErrorTest(unittest.TestCase):
    """Bad configuration is reported when the directory opens, naming the setting."""

    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        cls.db.load(SCHEMA)

    @classmethod
    def tearDownClass(cls):
        cls.db.cleanup()

    def open_error(self, **kw):
        d = Driver(sql_config([self.db.port], **kw))
        rc = d.close()
        self.assertEqual(d.opened["open"], "error", d.opened)
        self.assertEqual(rc, 1)
        return d.opened["message"]

    def test_wrong_password(self):
        m = self.open_error(password="wrong")
        self.assertIn("directory.sql.user", m)
        self.assertIn("Access denied", m)

    def test_unknown_database(self):
        m = self.open_error(database="nosuchdb")
        self.assertRegex(m, r"directory\.sql\.(database|user)")

    def test_missing_table(self):
        m = self.open_error(queries='find_group = "SELECT address FROM no_such_table WHERE address = :address"')
        self.assertIn("directory.sql.queries.find_group", m)
        self.assertIn("no_such_table", m)

    def test_wrong_column(self):
        m = self.open_error(queries='find_alias = "SELECT address, no_such_column AS targets FROM aliases WHERE address = :address"')
        self.assertIn("directory.sql.queries.find_alias", m)
        self.assertIn("no_such_column", m)

    def test_missing_result_column(self):
        m = self.open_error(queries='find_account_by_id = "SELECT id FROM accounts WHERE id = :id"')
        self.assertIn("directory.sql.queries.find_account_by_id", m)
        self.assertIn('"address"', m)

    def test_unknown_parameter(self):
        m = self.open_error(queries='find_domain = "SELECT name FROM domains WHERE name = :login"')
        self.assertIn("directory.sql.queries.find_domain", m)
        self.assertIn(":login", m)

    def test_unknown_key(self):
        m = self.open_error(extra='pool_sise = 3')
        self.assertIn("pool_sise", m)

    def test_unreachable_server_opens_and_answers_unavailable(self):
        d = Driver(sql_config([1]))  # nothing listens on port 1
        try:
            self.assertEqual(d.opened, {"open": "ok"})
            self.assertEqual(d.ask("account_by_login", "alice")["code"], "unavailable")
            self.assertEqual(d.ask("domain", "example.com")["code"], "unavailable")
        finally:
            d.close()
        d = Driver(sql_config([1], extra="require_server_at_start = true"))
        d.close()
        self.assertEqual(d.opened["open"], "error")
        self.assertIn("directory.sql.servers", d.opened["message"])


class SqlOutageTest(unittest.TestCase):
    """A server restart under an open pool, and failover between two servers."""

    def test_restart_and_failover(self):
        a = MariaDB().start()
        b = None
        try:
            a.load(SCHEMA)
            a.sql(demo_rows(" (A)"))
            b = MariaDB().start()
            b.load(SCHEMA)
            b.sql(demo_rows(" (B)"))
            d = Driver(sql_config([a.port, b.port]))
            try:
                self.assertEqual(d.opened, {"open": "ok"})
                self.assertEqual(d.ask("account_by_login", "alice")["display_name"], "Alice Liddell (A)")
                # Restart A under the open pool: the dead connections are dropped and the next
                # lookups are answered (by B while A is down, by whoever answers after).
                a.stop()
                r = d.ask("account_by_login", "alice")
                self.assertEqual(r["display_name"], "Alice Liddell (B)", r)
                self.assertEqual(d.ask("password", "bob", "builder")["check"], "ok")
                # Both down: "could not tell", never "not found".
                b.stop()
                for cmd, key in [("account_by_login", "alice"), ("alias", "info@example.com"),
                                 ("group", "staff@example.com"), ("domain", "example.com")]:
                    self.assertEqual(d.ask(cmd, key)["code"], "unavailable", (cmd, key))
                # A comes back on the same port: answered again without reopening.
                a.start()
                r = d.ask("account_by_login", "alice")
                self.assertEqual(r["display_name"], "Alice Liddell (A)", r)
                self.assertEqual(d.ask("group", "staff@example.com")["code"], "ok")
            finally:
                self.assertEqual(d.close(), 0, d.stderr)
        finally:
            a.cleanup()
            if b:
                b.cleanup()

    def test_single_server_restart(self):
        with MariaDB() as db:
            db.load(SCHEMA)
            db.sql(demo_rows())
            d = Driver(sql_config([db.port]))
            try:
                self.assertEqual(d.ask("account_by_login", "bob")["code"], "ok")
                db.stop(kill=True)  # crash, not a clean shutdown
                self.assertEqual(d.ask("account_by_login", "bob")["code"], "unavailable")
                db.start()
                self.assertEqual(d.ask("account_by_login", "bob")["code"], "ok")
                self.assertEqual(d.ask("password", "alice", "wonderland")["check"], "ok")
            finally:
                self.assertEqual(d.close(), 0, d.stderr)


if __name__ == "__main__":
    unittest.main()
