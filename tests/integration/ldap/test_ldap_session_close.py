"""A user disabled in LDAP (the disabled bit of the profile: mailAccountStatus for OpenLDAP)
loses every open session within seconds: an IMAP session in IDLE, a POP3 session and an
authenticated SMTP submission session are closed, a new login is refused, and the closing
is written to the log (audit). mailroomd runs against a real slapd with the RFC 4533
persist sync, so the change reaches the replica within a second."""
import base64
import imaplib
import os
import socket
import time
import unittest

from harness import Mailroom
from ldap_fixture import SUFFIX, Slapd
from test_ldap_sync import replica_config
import seed

LISTENERS = {"submission": ("submission", "none"), "imap": ("imap", "none"),
             "pop3": ("pop3", "none")}
CLOSE_WITHIN = 15  # seconds: sweep period + sync propagation, with room for a loaded machine


def directory_config(uri):
    return '[directory]\nbackend = "ldap"\n' + replica_config(uri)


class Line:
    """A raw client socket read line by line."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode("utf-8", "replace").rstrip("\r")

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def until(self, prefix):
        while True:
            line = self.line()
            if line.startswith(prefix):
                return line

    def closed_within(self, seconds):
        """Reads whatever the server still says (BYE, 421, -ERR) until it closes the
        connection; returns (closed, last lines)."""
        self.sock.settimeout(max(0.1, seconds))  # never negative: a late call still reads
        seen = []
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                seen.append(self.line())
        except EOFError:
            return True, seen
        except (socket.timeout, ConnectionResetError):
            return False, seen
        return False, seen

    def close(self):
        self.sock.close()


class SessionCloseTest(unittest.TestCase):
    def setUp(self):
        self.slapd = Slapd(seed.openldap_seed(), ad_schema=False)
        self.addCleanup(self.slapd.close)
        self.m = Mailroom(listeners=LISTENERS, directory_config=directory_config(self.slapd.uri))
        self.addCleanup(self.m.close)
        self.m.start()

    def open_sessions(self, user, password):
        imap = Line(self.m.port("imap"))
        imap.line()
        imap.send(f"a1 LOGIN {user} {password}")
        self.assertTrue(imap.until("a1 ").startswith("a1 OK"))
        imap.send("a2 SELECT INBOX")
        self.assertTrue(imap.until("a2 ").startswith("a2 OK"))
        imap.send("a3 IDLE")
        self.assertTrue(imap.line().startswith("+"))

        pop = Line(self.m.port("pop3"))
        pop.line()
        pop.send(f"USER {user}")
        self.assertTrue(pop.line().startswith("+OK"))
        pop.send(f"PASS {password}")
        self.assertTrue(pop.line().startswith("+OK"))

        smtp = Line(self.m.port("submission"))
        smtp.until("220 ")
        smtp.send("EHLO client.example")
        smtp.until("250 ")
        smtp.send("AUTH PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode())
        self.assertTrue(smtp.line().startswith("235"))
        return {"imap": imap, "pop3": pop, "smtp": smtp}

    def test_disabled_user_loses_every_session(self):
        sessions = self.open_sessions("alice", "wonderland")
        bob = self.open_sessions("bob", "builder")  # must survive
        self.addCleanup(lambda: [s.close() for s in list(sessions.values()) + list(bob.values())])
        t0 = time.time()
        self.slapd.modify(f"dn: uid=alice,ou=people,{SUFFIX}\nchangetype: modify\n"
                          "replace: mailAccountStatus\nmailAccountStatus: disabled\n")
        for name, s in sessions.items():
            closed, said = s.closed_within(CLOSE_WITHIN - (time.time() - t0))
            self.assertTrue(closed, f"{name} session still open after {time.time() - t0:.1f}s: {said}")
        # bob's sessions are untouched.
        bob["imap"].send("DONE")
        self.assertTrue(bob["imap"].until("a3 ").startswith("a3 OK"))
        bob["pop3"].send("NOOP")
        self.assertTrue(bob["pop3"].line().startswith("+OK"))
        bob["smtp"].send("NOOP")
        self.assertTrue(bob["smtp"].line().startswith("250"))
        # A new login is refused on every protocol.
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        with self.assertRaises(imaplib.IMAP4.error):
            imap.login("alice", "wonderland")
        imap.shutdown()
        pop = Line(self.m.port("pop3"))
        pop.line()
        pop.send("USER alice")
        self.assertTrue(pop.line().startswith("+OK"))  # USER reveals nothing
        pop.send("PASS wonderland")
        self.assertTrue(pop.line().startswith("-ERR"))
        pop.close()
        smtp = Line(self.m.port("submission"))
        smtp.until("220 ")
        smtp.send("EHLO client.example")
        smtp.until("250 ")
        smtp.send("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())
        self.assertRegex(smtp.line(), r"^535 5\.7\.8 ")
        smtp.close()
        # The audit trail names the account and says why.
        log = self.m.log()
        self.assertRegex(log, r"event=session_revoked account=\S+ reason=\S+ sessions=[1-3]")
        self.assertNotIn("event=session_sweep_failed", log)


if __name__ == "__main__":
    unittest.main()
