"""An account the directory disables or removes loses its open sessions (issue 4): IMAP (in
IDLE), POP3 and SMTP-AUTH connections are closed by mailroomd within seconds, an audit line
`event=session_revoked` is logged, other accounts' sessions stay open, and a new login is
refused. Real sockets against a real mailroomd; the directory change is made by mailroomctl
in another process, exactly as an administrator (or the LDAP/SQL sync) would."""
import base64
import imaplib
import poplib
import re
import smtplib
import socket
import time
import unittest

from harness import Mailroom

# A functional bound (not a performance threshold): the sweep runs every 2 s.
CLOSE_WITHIN_S = 30


def closed(probe):
    """True once the server has closed the connection behind `probe` (a callable that does one
    round trip, checks the answer, and raises on a closed socket). Only an end of file or a
    reset counts as closed: any other answer (a -ERR, a 5xx) fails the test."""
    try:
        probe()
        return False
    except smtplib.SMTPServerDisconnected:
        return True
    except smtplib.SMTPException:
        raise  # an SMTPException is an OSError: an error reply must not count as "closed"
    except poplib.error_proto as e:
        if e.args and e.args[0] in ("-ERR EOF", b"-ERR EOF"):  # poplib's name for end of file
            return True
        raise
    except (OSError, EOFError):
        return True


class Sessions:
    """One IMAP session in IDLE, one POP3 session and one authenticated SMTP session."""

    def __init__(self, m, user, password):
        self.imap_sock = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=10)
        self.imap_file = self.imap_sock.makefile("rb")
        self.imap_file.readline()  # greeting
        self.imap_sock.sendall(f"a LOGIN {user} {password}\r\n".encode())
        self._imap_until(b"a ")
        self.imap_sock.sendall(b"b SELECT INBOX\r\n")
        self._imap_until(b"b OK")
        self.imap_sock.sendall(b"c IDLE\r\n")
        assert self.imap_file.readline().startswith(b"+")

        self.pop = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=10)
        self.pop.user(user)
        self.pop.pass_(password)

        self.smtp = smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=10)
        self.smtp.ehlo()
        self.smtp.login(user, password)

    def _imap_until(self, prefix):
        while True:
            line = self.imap_file.readline()
            if not line:
                raise EOFError("imap connection closed")
            if line.startswith(prefix):
                if b" OK" not in line[:12]:
                    raise AssertionError(line)
                return line

    def imap_closed(self):
        """In IDLE the client sends nothing and the server has nothing to say: EOF (or a
        reset) is "closed", silence is "open". A BYE counts only once the connection ends;
        anything else the server sends fails the test."""
        self.imap_sock.settimeout(0.2)
        try:
            data = self.imap_sock.recv(4096)
        except socket.timeout:
            return False
        except OSError:
            return True
        if not data:
            return True
        # Only "* BYE ..." lines may come before the end, and the end must follow.
        self.imap_sock.settimeout(CLOSE_WITHIN_S)
        while True:
            for line in data.split(b"\r\n"):
                if line and not line.startswith(b"* BYE"):
                    raise AssertionError(f"unexpected data in IDLE: {data!r}")
            try:
                more = self.imap_sock.recv(4096)
            except socket.timeout:
                raise AssertionError(f"BYE without closing the connection: {data!r}")
            except OSError:
                return True
            if not more:
                return True
            data = more

    def pop_noop(self):
        answer = self.pop.noop()
        if not answer.startswith(b"+OK"):
            raise AssertionError(f"POP3 NOOP answered {answer!r}")

    def smtp_noop(self):
        code, text = self.smtp.noop()
        if code != 250:
            raise AssertionError(f"SMTP NOOP answered {code} {text!r}")

    def pop_closed(self):
        return closed(self.pop_noop)

    def smtp_closed(self):
        return closed(self.smtp_noop)

    def all_closed(self):
        return self.imap_closed() and self.pop_closed() and self.smtp_closed()

    def none_closed(self):
        return not self.imap_closed() and not self.pop_closed() and not self.smtp_closed()


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


class Revocation(unittest.TestCase):
    def setUp(self):
        self.m = Mailroom()
        self.m.seed_demo()
        self.m.start()

    def tearDown(self):
        self.m.close()

    def check_revoked(self, change):
        alice = Sessions(self.m, "alice@example.com", "wonderland")
        bob = Sessions(self.m, "bob@example.com", "builder")
        # A sweep with nothing to do must close nothing. Sweeps run when the directory file
        # changes: an unrelated change (a new account) starts one, and its log line says it
        # looked at both accounts (so it ran after every session above had logged in).
        mark = len(self.m.log())
        self.m.ctl("user", "add", "carol@example.com", "--password", "x")
        def sweeps():
            return re.findall(r"event=session_sweep accounts=2 closed=(\d+)", self.m.log()[mark:])

        self.assertTrue(wait_for(sweeps, CLOSE_WITHIN_S), "no sweep ran after the sessions opened")
        sweeps = sweeps()
        self.assertEqual(sweeps[0], "0", "a sweep with nothing to do closed sessions")
        self.assertTrue(alice.none_closed(), "a sweep with nothing to do closed a session")
        self.assertTrue(bob.none_closed(), "a sweep with nothing to do closed a session")
        self.assertNotIn("event=session_revoked", self.m.log())
        change()
        self.assertTrue(wait_for(alice.imap_closed, CLOSE_WITHIN_S), "IMAP IDLE session open")
        self.assertTrue(wait_for(alice.pop_closed, CLOSE_WITHIN_S), "POP3 session open")
        self.assertTrue(wait_for(alice.smtp_closed, CLOSE_WITHIN_S), "SMTP session open")
        self.assertTrue(bob.none_closed(), "another account's sessions were closed")
        self.assertIn("event=session_revoked", self.m.log())
        # A new login is refused on every protocol.
        with self.assertRaises(imaplib.IMAP4.error):
            imaplib.IMAP4("127.0.0.1", self.m.port("imap")).login("alice@example.com",
                                                                   "wonderland")
        pop = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=10)
        pop.user("alice@example.com")
        with self.assertRaises(poplib.error_proto):
            pop.pass_("wonderland")
        s = smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=10)
        s.ehlo()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("alice@example.com", "wonderland")

    def test_disabled_account_loses_every_session(self):
        self.check_revoked(lambda: self.m.ctl("user", "change", "alice@example.com",
                                              "--status", "disabled"))
        log = self.m.log()
        self.assertRegex(log, r"event=session_revoked account=\S+ reason=disabled sessions=3")

    def test_removed_account_loses_every_session(self):
        self.check_revoked(lambda: self.m.ctl("user", "remove", "alice@example.com"))
        self.assertRegex(self.m.log(), r"event=session_revoked account=\S+ reason=removed")


if __name__ == "__main__":
    unittest.main()
