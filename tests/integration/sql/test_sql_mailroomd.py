"""mailroomd with [directory] backend = "sql" against a real mariadbd: SMTP recipients and IMAP
logins come from MariaDB, and a MariaDB outage gives 451 4.4.3 at RCPT (try later), never 5xx."""
import imaplib
import os
import smtplib
import unittest

from harness import Mailroom, bin_dir
from mariadb_server import MariaDB, available
from sql_fixture import SCHEMA, demo_rows, sql_config


@unittest.skipUnless(available(), "mariadb-server is not installed")
@unittest.skipUnless(os.path.exists(os.path.join(bin_dir(), "mailroomd")), "mailroomd not built")
class SqlMailroomdTest(unittest.TestCase):
    def test_smtp_and_imap_through_sql(self):
        with MariaDB() as db:
            db.load(SCHEMA)
            db.sql(demo_rows())
            listeners = {"smtp": ("smtp", "none"), "imap": ("imap", "none")}
            with Mailroom(listeners=listeners, directory_config=sql_config([db.port])) as m:
                s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30)
                s.ehlo("client.partner.example")
                self.assertEqual(s.mail("sender@partner.example")[0], 250)
                self.assertEqual(s.rcpt("alice@example.com")[0], 250)
                self.assertEqual(s.rcpt("info@example.com")[0], 250)
                self.assertEqual(s.rcpt("nobody@example.com")[0] // 100, 5)
                self.assertEqual(s.rcpt("x' OR '1'='1@example.com")[0] // 100, 5)
                s.rset()

                imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
                self.assertEqual(imap.login("alice", "wonderland")[0], "OK")
                imap.logout()
                imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
                with self.assertRaises(imaplib.IMAP4.error):
                    imap.login("alice", "builder")
                imap.shutdown()

                db.stop()
                # MAIL needs no lookup; RCPT cannot tell: try later, never 5xx.
                self.assertEqual(s.mail("sender@partner.example")[0], 250)
                code, text = s.rcpt("bob@example.com")
                self.assertEqual((code, text[:5]), (451, b"4.4.3"))
                s.close()


if __name__ == "__main__":
    unittest.main()
