"""App passwords (issue 16) against a real mailroomd with the embedded directory: created
with mailroomctl (shown once), used by imaplib, poplib, smtplib and fetchmail, limited to
protocols, revoked by hand, by a directory password change and by disabling the account; a
session that logged in with a revoked app password (IMAP in IDLE, POP3, SMTP) is closed by
the account sweep, while the same account's sessions with other credentials stay open. And
the [auth] directory_password_protocols policy: the directory password refused on IMAP/POP3
while app passwords work."""
import imaplib
import os
import poplib
import shutil
import smtplib
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import Mailroom
from test_revocation import Sessions, wait_for

CLOSE_WITHIN_S = 60  # a functional bound with room for a loaded machine; the sweep runs every 1 s


def imap_login(m, user, password):
    imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
    try:
        imap.login(user, password)
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - the server may have closed it after a refusal
            pass


def pop_login(m, user, password):
    pop = poplib.POP3("127.0.0.1", m.port("pop3"), timeout=10)
    try:
        pop.user(user)
        pop.pass_(password)
        return pop.stat()
    finally:
        pop.quit()


def smtp_login(m, user, password):
    s = smtplib.SMTP("127.0.0.1", m.port("submission"), timeout=10)
    try:
        s.ehlo()
        s.login(user, password)
        s.sendmail(user, [user], f"From: {user}\r\nTo: {user}\r\nSubject: via app password\r\n"
                   "\r\nsent with an app password\r\n")
    finally:
        s.quit()


def close_quietly(sessions):
    """Closes what a Sessions (or Idle) opened; the server may have closed it already."""
    for name in ("imap_file", "imap_sock", "pop", "smtp"):
        obj = getattr(sessions, name, None)
        try:
            if name == "pop":
                obj.sock.close()
            elif name == "smtp":
                obj.close()
            elif obj is not None:
                obj.close()
        except Exception:  # noqa: BLE001 - best effort in a cleanup
            pass


class Idle(Sessions):
    """Only the IMAP IDLE session of Sessions (one POP3 session per mailbox at a time)."""

    def __init__(self, m, user, password):  # noqa: super().__init__ opens POP3 and SMTP too
        self.imap_sock = socket.create_connection(("127.0.0.1", m.port("imap")), timeout=10)
        self.imap_file = self.imap_sock.makefile("rb")
        self.imap_file.readline()  # greeting
        self.imap_sock.sendall(f"a LOGIN {user} {password}\r\n".encode())
        self._imap_until(b"a ")
        self.imap_sock.sendall(b"b SELECT INBOX\r\n")
        self._imap_until(b"b OK")
        self.imap_sock.sendall(b"c IDLE\r\n")
        assert self.imap_file.readline().startswith(b"+")


class AppPasswords(unittest.TestCase):
    def setUp(self):
        self.m = Mailroom(extra_config="", log_config="")
        # A short sweep period: sessions close within about a second of a revocation.
        with open(self.m.config_path) as f:
            config = f.read()
        config = config.replace("[server]\n", "[server]\nsession_check_interval = 1\n", 1)
        with open(self.m.config_path, "w") as f:
            f.write(config)
        self.m.seed_demo()
        self.m.start()
        self.addCleanup(self.m.close)

    def create(self, user, name, *protocols):
        args = ["app-password", "create", user, "--name", name]
        for p in protocols:
            args += ["--protocol", p]
        out = self.m.ctl(*args)
        self.assertRegex(out["password"], r"^[a-z2-9]{4}(-[a-z2-9]{4}){3}$")
        return out

    def revoked_reasons(self, user):
        return {a["name"]: a["revoked_reason"]
                for a in self.m.ctl("app-password", "list", user, "--all")}

    def test_create_use_everywhere_and_fetchmail(self):
        app = self.create("alice@example.com", "laptop")
        secret = app["password"]
        # Human output prints it once, with a warning; list never shows it.
        text = self.m.ctl("app-password", "create", "alice@example.com", "--name", "phone",
                          json_output=False).stdout
        self.assertIn("Shown once", text)
        listed = self.m.ctl("app-password", "list", "alice@example.com")
        self.assertEqual(sorted(a["name"] for a in listed), ["laptop", "phone"])
        self.assertNotIn("password", listed[0])

        imap_login(self.m, "alice@example.com", secret)
        imap_login(self.m, "alice@example.com", secret.upper().replace("-", " "))
        smtp_login(self.m, "alice@example.com", secret)
        # Delivery is asynchronous: wait until POP3 (with the app password) sees the message.
        self.assertTrue(wait_for(lambda: pop_login(self.m, "alice@example.com", secret)[0] >= 1,
                                 CLOSE_WITHIN_S), "the message sent by SMTP never arrived")
        # A real client: fetchmail downloads the message sent above, over STLS.
        work = tempfile.mkdtemp(prefix="mr-fetchmail-")
        self.addCleanup(shutil.rmtree, work, True)
        out = os.path.join(work, "all")
        rc = os.path.join(work, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no bouncemail\n"
                    f"poll 127.0.0.1 with proto POP3 port {self.m.port('pop3')}\n"
                    f"  user \"alice@example.com\" there with password \"{secret}\" is root here\n"
                    f"  sslproto 'TLS1.2+' sslcertck sslcertfile \"{self.m.ca}\" "
                    "sslcommonname localhost\n"
                    f"  mda \"/bin/sh -c 'cat >> {out}'\"\n"
                    "  fetchall nokeep no rewrite\n")
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        p = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "--invisible", "-v"],
                           env=dict(os.environ, HOME=work, FETCHMAILHOME=work),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr)[-4000:])
        with open(out, encoding="utf-8", errors="replace") as f:
            self.assertIn("sent with an app password", f.read())

        used = {a["name"]: a for a in self.m.ctl("app-password", "list", "alice@example.com")}
        self.assertGreater(used["laptop"]["last_used_at"], 0)
        self.assertEqual(used["phone"]["last_used_at"], 0)
        log = self.m.log()
        self.assertRegex(log, r"event=auth.attempt .*user=alice@example.com result=success "
                              r"reason=\"ok app_password=" + app["id"])
        self.assertNotIn(secret, log)  # secrets are never logged
        # The file holding the hashes is private.
        mode = os.stat(os.path.join(self.m.data, "app-passwords.db")).st_mode & 0o777
        self.assertEqual(mode, 0o600)

    def test_protocol_limit(self):
        secret = self.create("alice@example.com", "imap only", "imap")["password"]
        imap_login(self.m, "alice@example.com", secret)
        with self.assertRaises(poplib.error_proto):
            pop_login(self.m, "alice@example.com", secret)
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            smtp_login(self.m, "alice@example.com", secret)
        self.assertIn(" not allowed on pop3", self.m.log())
        with self.assertRaises(imaplib.IMAP4.error):  # bob cannot use alice's
            imap_login(self.m, "bob@example.com", secret)

    def check_sessions_closed(self, revoke, reason, password_after=None):
        """Opens IMAP (IDLE), POP3 and SMTP sessions with an app password and with another
        credential of the same account, revokes, and checks which close."""
        app = self.create("alice@example.com", "laptop")
        other = self.create("alice@example.com", "phone")
        with_app = Sessions(self.m, "alice@example.com", app["password"])
        with_other = Idle(self.m, "alice@example.com", other["password"])
        self.addCleanup(close_quietly, with_app)
        self.addCleanup(close_quietly, with_other)
        mark = len(self.m.log())
        ctl_stderr = revoke()
        self.assertTrue(wait_for(with_app.imap_closed, CLOSE_WITHIN_S), "IMAP IDLE session open")
        self.assertTrue(wait_for(with_app.pop_closed, CLOSE_WITHIN_S), "POP3 session open")
        self.assertTrue(wait_for(with_app.smtp_closed, CLOSE_WITHIN_S), "SMTP session open")
        self.assertEqual(self.revoked_reasons("alice@example.com")["laptop"], reason)
        # Revoked by mailroomd (the sweep), or by mailroomctl, which audits on its stderr.
        log = self.m.log()[mark:] + ctl_stderr
        self.assertRegex(log, r"event=auth.app_password_revoked account=\S+ name=laptop id=" +
                         app["id"] + " reason=" + reason)
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(self.m, "alice@example.com", app["password"])
        return with_other, other

    def test_revoke_closes_only_that_app_passwords_sessions(self):
        with_other, other = self.check_sessions_closed(
            lambda: self.m.ctl("app-password", "revoke", "alice@example.com", "laptop",
                               json_output=False).stderr,
            "revoked_by_admin")
        self.assertRegex(self.m.log(), r"event=session_revoked account=\S+ "
                                       r"reason=app_password_revoked app_password=\S+ sessions=3")
        self.assertFalse(with_other.imap_closed(), "a session of another app password closed")
        imap_login(self.m, "alice@example.com", other["password"])
        imap_login(self.m, "alice@example.com", "wonderland")

    def test_directory_password_change_revokes(self):
        with_other, _ = self.check_sessions_closed(
            lambda: self.m.ctl("user", "change", "alice@example.com", "--password", "new one",
                               json_output=False).stderr,
            "password_changed")
        # Every app password of the account went, so its sessions too.
        self.assertTrue(wait_for(with_other.imap_closed, CLOSE_WITHIN_S))
        self.assertEqual(self.m.ctl("app-password", "list", "alice@example.com"), [])
        imap_login(self.m, "alice@example.com", "new one")
        # A new app password works after the change.
        imap_login(self.m, "alice@example.com", self.create("alice@example.com", "new")["password"])

    def test_disabled_account_revokes(self):
        self.check_sessions_closed(
            lambda: self.m.ctl("user", "change", "alice@example.com", "--status", "disabled",
                               json_output=False).stderr,
            "disabled")
        # Enabling the account again does not bring them back.
        self.m.ctl("user", "change", "alice@example.com", "--status", "active")
        self.assertEqual(self.m.ctl("app-password", "list", "alice@example.com"), [])

    def test_revoke_all_and_errors(self):
        self.create("alice@example.com", "a")
        self.create("alice@example.com", "b")
        p = self.m.ctl("app-password", "create", "alice@example.com", "--name", "a", check=False)
        self.assertEqual(p.returncode, 1)
        p = self.m.ctl("app-password", "create", "alice@example.com", "--name", "c",
                       "--protocol", "http", check=False)
        self.assertEqual(p.returncode, 1)
        p = self.m.ctl("app-password", "create", "nobody@example.com", "--name", "x", check=False)
        self.assertEqual(p.returncode, 1)
        out = self.m.ctl("app-password", "revoke", "alice@example.com", "--all")
        self.assertEqual(sorted(a["name"] for a in out["revoked"]), ["a", "b"])
        p = self.m.ctl("app-password", "revoke", "alice@example.com", "a", check=False)
        self.assertEqual(p.returncode, 1)


class DirectoryPasswordPolicy(unittest.TestCase):
    def test_directory_password_only_on_smtp(self):
        m = Mailroom(auth_config='directory_password_protocols = ["smtp"]')
        self.addCleanup(m.close)
        m.seed_demo()
        m.start()
        secret = m.ctl("app-password", "create", "alice@example.com", "--name", "mail app")["password"]
        with self.assertRaises(imaplib.IMAP4.error):
            imap_login(m, "alice@example.com", "wonderland")
        with self.assertRaises(poplib.error_proto):
            pop_login(m, "alice@example.com", "wonderland")
        smtp_login(m, "alice@example.com", "wonderland")
        imap_login(m, "alice@example.com", secret)
        pop_login(m, "alice@example.com", secret)
        # SCRAM proves the directory password: not offered on IMAP.
        imap = imaplib.IMAP4("127.0.0.1", m.port("imap"))
        caps = imap.capabilities
        imap.logout()
        self.assertNotIn("AUTH=SCRAM-SHA-256", caps)
        self.assertIn("directory password not accepted on imap", m.log())


if __name__ == "__main__":
    unittest.main()
