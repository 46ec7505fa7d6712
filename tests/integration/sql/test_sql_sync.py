"""SQL -> local replica sync (lookup = "replica"): answers survive a MariaDB outage, changes
are polled through changed_at, and accounts deleted upstream are disabled (never because a
read failed)."""
import os
import re
import shutil
import tempfile
import time
import unittest

from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, Driver, demo_rows, driver_path, sql_config


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return predicate()


@unittest.skipUnless(available(), "mariadb-server is not installed")
class SqlSyncTest(unittest.TestCase):
    def test_replica_follows_sql_and_survives_outage(self):
        if not os.path.exists(driver_path()):
            self.skipTest("sql_directory_driver not built")
        data = tempfile.mkdtemp(prefix="mr-sql-replica-")
        db = MariaDB().start()
        d = None
        try:
            db.load(SCHEMA)
            db.sql(demo_rows())
            extra = ('lookup = "replica"\n\n[directory.sql.sync]\nmode = "poll"\n'
                     'interval = "1s"\nfull_compare_interval = "3s"\non_removed = "disable"\n')
            d = Driver(sql_config([db.port], extra=extra), data_dir=data)
            self.assertEqual(d.opened, {"open": "ok"}, d.opened)
            alice = wait_for(lambda: d.ask("account_by_login", "alice").get("id"))
            self.assertEqual(alice, "id-alice")
            self.assertEqual(d.ask("password", "alice", "wonderland")["check"], "ok")
            self.assertEqual(sorted(d.ask("group", "staff@example.com")["members"]),
                             ["alice@example.com", "bob@example.com"])
            self.assertEqual(d.ask("domain", "example.net")["domain"]["alias_of"], "example.com")

            # A change upstream arrives through changed_at polling.
            db.sql("UPDATE accounts SET display_name = 'Alice L.' WHERE id = 'id-alice'")
            self.assertTrue(wait_for(
                lambda: d.ask("account_by_id", "id-alice")["display_name"] == "Alice L."))
            db.sql("INSERT INTO aliases (address, target) VALUES ('sales@example.com', 'bob@example.com')")
            self.assertTrue(wait_for(lambda: d.ask("alias", "sales@example.com")["code"] == "ok"))

            # MariaDB down: the replica still answers, logins still work, nothing is removed.
            db.stop()
            # Wait for two failed passes, one of them a full pass (the one that could take an
            # unreadable account for a removed one), counted in the driver's log. Whether a
            # poll fails first depends on where in the 3 s full-compare cycle the stop falls:
            # once a full pass is due, every pass is a full one until one succeeds.
            mark = len(d.log_text())

            def failed_passes():
                return re.findall(r"event=sql_sync_failed pass=(\w+) ", d.log_text()[mark:])

            self.assertTrue(wait_for(lambda: len(failed_passes()) >= 2 and
                                     "full" in failed_passes()), d.log_text()[-3000:])
            self.assertEqual(d.ask("account_by_login", "bob")["status"], "active")
            self.assertEqual(d.ask("password", "bob", "builder")["check"], "ok")
            self.assertEqual(d.ask("password", "bob", "wrong")["check"], "mismatch")

            # Back up; a person deleted upstream is disabled by the next full pass.
            db.start()
            db.sql("DELETE FROM accounts WHERE id = 'id-bob'")
            self.assertTrue(wait_for(
                lambda: d.ask("account_by_id", "id-bob").get("status") == "disabled"))
            self.assertEqual(d.ask("account_by_id", "id-alice")["status"], "active")
        finally:
            if d:
                d.close()
            db.cleanup()
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
