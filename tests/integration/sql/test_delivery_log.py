"""Runs the MariaDB delivery log tests (a gtest binary) against a mariadbd started here, then
checks the server-side facts a unit test cannot see: the recall indexes exist and a search by
recipient, sender, domain or Message-ID is an index range scan, not a full scan."""
import os
import subprocess
import unittest

from mariadb_server import MariaDB, available


def binary():
    return os.environ.get("MAILROOM_SQL_DELIVERY_LOG_TEST", "")


@unittest.skipUnless(available(), "mariadb-server is not installed")
class MariaDbDeliveryLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(binary()):
            raise unittest.SkipTest("mariadb_delivery_log_test not built")
        cls.db = MariaDB().start()

    @classmethod
    def tearDownClass(cls):
        cls.db.cleanup()

    def test_gtest_suite(self):
        env = dict(os.environ, MR_MARIADB_PORT=str(self.db.port))
        r = subprocess.run([binary()], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-2000:])
        self.assertIn("PASSED", r.stdout)
        self.assertNotIn("SKIPPED", r.stdout)

    def test_searches_use_indexes(self):
        env = dict(os.environ, MR_MARIADB_PORT=str(self.db.port),
                   GTEST_FILTER="MariaDbDeliveryLogTest.LargeBatchIsWrittenWhole")
        subprocess.run([binary()], env=env, capture_output=True, timeout=300, check=True)
        table = "dl_LargeBatchIsWrittenWhole"
        self.db.sql(f"ANALYZE TABLE {table}")
        keys = {row[2] for row in self.db.sql(f"SHOW INDEX FROM {table}")}
        for k in ("recipient", "sender", "message_id", "recipient_domain", "sender_domain",
                  "subject", "time", "account", "queue_id"):
            self.assertIn(table + "_" + k, keys)  # index names carry the table name
        for where in ("recipient = 'alice@example.com'", "envelope_sender = 'x@y'",
                      "recipient_domain = 'other.example'", "message_id = 'q1@mail.example.com'",
                      "subject LIKE 'Invoice%'", "sender_domain = 'other.example'", "time BETWEEN 1 AND 2"):
            plan = self.db.sql(f"EXPLAIN SELECT id FROM {table} WHERE {where} "
                               "ORDER BY time DESC, id DESC LIMIT 100")
            access, key = plan[0][3], plan[0][5]  # type, key
            self.assertNotEqual(access, "ALL", (where, plan))
            self.assertNotEqual(key, "NULL", (where, plan))


if __name__ == "__main__":
    unittest.main()
