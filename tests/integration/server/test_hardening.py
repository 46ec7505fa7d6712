"""Hardening against a real mailroomd (issue 13): group policies for unauthenticated mail and
trusted gateways (item 11), postmaster (item 12), the IP block list and listener allow-lists
on every protocol (item 10), descriptors under a low limit (item 9), private data directory
(item 5), and failed-login lockout that spares the real user (item 6)."""
import base64
import imaplib
import os
import poplib
import resource
import smtplib
import socket
import stat
import time
import unittest

from harness import Mailroom


def wait_for(predicate, timeout=30, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def first_line(port, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        data = b""
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def count(m, user):
    for b in m.ctl("mailbox", "list", user)["mailboxes"]:
        if b["name"] == "INBOX":
            return b["messages"]
    return 0


class GroupPolicyAndPostmasterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mailroom()
        cls.m.start()
        cls.m.seed_demo()
        cls.m.ctl("group", "add", "board@example.com", "--member", "alice@example.com",
                  "--policy", "members")

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_forged_member_on_mx_is_refused(self):
        s = smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=15)
        s.ehlo("mx.remote.example")
        self.assertEqual(s.mail("alice@example.com")[0], 250)
        code, text = s.rcpt("board@example.com")
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        s.quit()

    def test_authenticated_member_may_send(self):
        s = smtplib.SMTP("127.0.0.1", self.m.port("submission"), timeout=15)
        s.starttls(context=self.m.ssl_context())
        s.login("alice@example.com", "wonderland")
        self.assertEqual(s.mail("alice@example.com")[0], 250)
        self.assertEqual(s.rcpt("board@example.com")[0], 250)
        s.quit()

    def test_postmaster_without_domain_and_at_each_domain(self):
        before = count(self.m, "alice@example.com")
        s = smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=15)
        s.ehlo("mx.remote.example")
        s.mail("someone@remote.example")
        self.assertEqual(s.rcpt("<postmaster>")[0], 250)       # RFC 5321 4.5.1
        self.assertEqual(s.rcpt("<PostMaster@example.com>")[0], 250)
        self.assertEqual(s.data(b"Subject: abuse report\r\n\r\nhello\r\n")[0], 250)
        s.quit()
        self.assertTrue(wait_for(lambda: count(self.m, "alice@example.com") == before + 1))


class TrustedGatewayTest(unittest.TestCase):
    """A gateway in [smtp] trusted_networks vouches for its local senders."""

    def test_trusted_gateway(self):
        with Mailroom(extra_config='[smtp]\ntrusted_networks = ["127.0.0.0/8"]\n'
                                   'mx_reject_local_senders = true\n') as m:
            m.seed_demo()
            m.ctl("group", "add", "board@example.com", "--member", "alice@example.com",
                  "--policy", "members")
            s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=15)
            s.ehlo("gateway.example")
            self.assertEqual(s.mail("alice@example.com")[0], 250)  # exempt from the rejection
            self.assertEqual(s.rcpt("board@example.com")[0], 250)
            s.rset()
            self.assertEqual(s.mail("bob@example.com")[0], 250)
            self.assertEqual(s.rcpt("board@example.com")[0], 550)  # not a member
            s.quit()

    def test_local_senders_refused_without_trust(self):
        with Mailroom(extra_config="[smtp]\nmx_reject_local_senders = true\n") as m:
            m.seed_demo()
            s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=15)
            s.ehlo("mx.remote.example")
            self.assertEqual(s.mail("alice@example.com")[0], 550)
            s.quit()


class BlocklistEveryProtocolTest(unittest.TestCase):
    LISTENERS = {
        "smtp": ("smtp", "none"),
        "lmtp": ("lmtp", "none"),
        "imap": ("imap", "none"),
        "pop3": ("pop3", "none"),
        "lmtp_gw": ("lmtp", "none"),
    }

    def test_blocked_ip_on_every_listener(self):
        with Mailroom(listeners=self.LISTENERS,
                      listener_config={"lmtp_gw": 'allow = ["192.0.2.10/32"]'}) as m:
            m.seed_demo()
            expected_open = {"smtp": b"220 ", "lmtp": b"220 ", "imap": b"* OK", "pop3": b"+OK"}
            for name, prefix in expected_open.items():
                self.assertTrue(first_line(m.port(name)).startswith(prefix), name)
            # The allow-list refuses 127.0.0.1 on lmtp_gw before any protocol byte.
            self.assertTrue(first_line(m.port("lmtp_gw")).startswith(b"554 5.7.1"))
            m.ctl("blocklist", "add", "ip", "127.0.0.0/8")
            refused = {"smtp": b"554 5.7.1", "lmtp": b"554 5.7.1",
                       "imap": b"* BYE", "pop3": b"-ERR [SYS/PERM]"}
            for name, prefix in refused.items():
                self.assertTrue(wait_for(lambda: first_line(m.port(name)).startswith(prefix)),
                                name)
            m.ctl("blocklist", "remove", "ip", "127.0.0.0/8")
            for name, prefix in expected_open.items():
                self.assertTrue(wait_for(lambda: first_line(m.port(name)).startswith(prefix)),
                                name)

    def test_lmtp_on_all_addresses_warns(self):
        with Mailroom(listeners={"lmtp": ("lmtp", "none")},
                      listener_config={"lmtp": 'address = "0.0.0.0"'}) as m:
            self.assertIn("event=config.warning", m.log())
            self.assertIn("LMTP on 0.0.0.0", m.log())
        with Mailroom(listeners={"lmtp": ("lmtp", "none")},
                      listener_config={"lmtp": 'address = "0.0.0.0"\nallow = ["10.0.0.0/8"]'}) as m:
            self.assertNotIn("LMTP on 0.0.0.0", m.log())


class DescriptorLimitTest(unittest.TestCase):
    """Under a low descriptor limit, connections beyond what fits get the protocol's answer
    instead of the listener failing to accept (issue 13, item 9)."""

    def test_low_hard_limit_lowers_max_connections(self):
        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        m = Mailroom(listeners={"imap": ("imap", "none")},
                     extra_config="[limits]\nmax_connections_per_ip = 100000\n")
        try:
            m.start(preexec_fn=low_limit)
            log = m.log()
            self.assertIn("event=server.fd_limit soft_before=256 limit=256", log)
            self.assertIn("max_connections lowered from 20000 to 64", log)
            socks, greetings = [], []
            for _ in range(70):
                s = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=10)
                socks.append(s)
                greetings.append(s.recv(200))
            self.assertTrue(all(g.startswith(b"* OK") for g in greetings[:64]), greetings[:64])
            self.assertTrue(all(g.startswith(b"* BYE [UNAVAILABLE]") for g in greetings[64:]),
                            greetings[64:])
            for s in socks:
                s.close()
            self.assertTrue(wait_for(lambda: first_line(m.port("imap")).startswith(b"* OK")))
            self.assertNotIn("Too many open files", m.log())
        finally:
            m.close()

    def test_soft_limit_raised_to_hard(self):
        def soft_low():
            resource.setrlimit(resource.RLIMIT_NOFILE, (512, 8192))
        m = Mailroom(listeners={"imap": ("imap", "none")})
        try:
            m.start(preexec_fn=soft_low)
            self.assertIn("event=server.fd_limit soft_before=512 limit=8192", m.log())
        finally:
            m.close()


class PrivateDataDirectoryTest(unittest.TestCase):
    def test_modes_repaired_and_new_files_private(self):
        m = Mailroom()
        try:
            m.seed_demo()  # mailroomctl creates directory.db
            os.chmod(m.data, 0o755)
            os.chmod(os.path.join(m.data, "directory.db"), 0o644)
            m.start()
            self.assertEqual(stat.S_IMODE(os.stat(m.data).st_mode), 0o700)
            for name in os.listdir(m.data):
                path = os.path.join(m.data, name)
                if os.path.isfile(path):
                    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o077, 0, name)
            self.assertIn("event=permissions.fixed", m.log())
            self.assertIn("directory.db: mode 0644 -> 0600", m.log())
            self.assertTrue(os.path.exists(os.path.join(m.data, "installation.key")))
            # Mail delivered after start is private too.
            s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=15)
            s.sendmail("x@remote.example", ["bob@example.com"], b"Subject: p\r\n\r\nx\r\n")
            s.quit()
            self.assertTrue(wait_for(lambda: count(m, "bob@example.com") == 1))
            for root, dirs, files in os.walk(m.data):
                for d in dirs:
                    mode = stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode)
                    self.assertEqual(mode & 0o077, 0, os.path.join(root, d))
                for f in files:
                    mode = stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode)
                    self.assertEqual(mode & 0o077, 0, os.path.join(root, f))
        finally:
            m.close()


class SlowClientTest(unittest.TestCase):
    """Slowloris (issue 13, item 8): the login phase and the TLS handshake have deadlines
    that activity does not extend; a logged-in session is not bound by them."""

    def trickle(self, port, greeting, command, limit=30.0):
        """Sends `command` every 0.3 s; returns (closed, last bytes received)."""
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.addCleanup(s.close)
        got = s.recv(1000)
        self.assertTrue(got.startswith(greeting), got)
        deadline = time.time() + limit
        last = b""
        while time.time() < deadline:
            try:
                s.sendall(command)
                s.settimeout(0.3)
                data = s.recv(4096)
                if not data:
                    return True, last
                last = data
            except socket.timeout:
                continue
            except OSError:
                return True, last
        return False, last

    def test_login_phase_deadline_on_imap_pop3_and_submission(self):
        config = "[imap]\nlogin_timeout = 2\n[pop3]\nlogin_timeout = 2\n" \
                 "[smtp]\nlogin_timeout = 2\n"
        with Mailroom(extra_config=config) as m:
            m.seed_demo()
            for name, greeting, cmd in (("imap", b"* OK", b"a NOOP\r\n"),
                                        ("pop3", b"+OK", b"CAPA\r\n"),
                                        ("submission", b"220 ", b"NOOP\r\n")):
                with self.subTest(listener=name):
                    closed, last = self.trickle(m.port(name), greeting, cmd)
                    self.assertTrue(closed, f"{name}: still open after 30 s of pre-login activity")
            # After login, the same rhythm keeps the session (the deadline ended at login).
            c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
            c.login("alice@example.com", "wonderland")
            t_end = time.time() + 5
            while time.time() < t_end:
                self.assertEqual(c.noop()[0], "OK")
                time.sleep(0.3)
            c.logout()

    def test_silent_client_on_implicit_tls_is_dropped(self):
        with Mailroom(extra_config="[limits]\ntls_handshake_timeout = 2\n") as m:
            s = socket.create_connection(("127.0.0.1", m.port("imaps")), timeout=30)
            self.addCleanup(s.close)
            s.settimeout(30)
            self.assertEqual(s.recv(100), b"")  # closed by the server, no ClientHello sent


class LockoutSparesTheRealUserTest(unittest.TestCase):
    """Five wrong passwords from one address lock that address out of the account, not the
    user logging in from elsewhere (issue 13, item 6). The second address is a second
    loopback IP (127.0.0.2), which Linux routes to the same host."""

    def test_lockout_per_source(self):
        with Mailroom(listeners={"imap": ("imap", "none")}) as m:
            m.seed_demo()

            def login(source, password):
                s = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=10,
                                             source_address=(source, 0))
                f = s.makefile("rb")
                f.readline()
                s.sendall(f'a LOGIN alice@example.com "{password}"\r\n'.encode())
                line = f.readline()
                s.close()
                return line

            for _ in range(5):
                self.assertTrue(login("127.0.0.3", "wrong").startswith(b"a NO"))
            # Locked from 127.0.0.3, even with the right password...
            self.assertTrue(login("127.0.0.3", "wonderland").startswith(b"a NO"))
            # ...but the real user from another address gets in.
            self.assertTrue(login("127.0.0.2", "wonderland").startswith(b"a OK"))
            self.assertIn("account locked out from this ip", m.log())


if __name__ == "__main__":
    unittest.main()
