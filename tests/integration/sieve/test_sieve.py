"""Sieve filters at delivery and ManageSieve (issue 21) against a real mailroomd: scripts
uploaded and activated with Debian's sieve-connect over STARTTLS, mail delivered by SMTP and
LMTP, where it landed read over IMAP; the global "before" script; vacation once per :days and
never to a list; redirect to another user and a redirect loop; a failing script keeps the mail
in INBOX and tells the user once; reject as a DSN (SMTP) and as a 5xx (LMTP); hostile
ManageSieve sessions (bad literals, oversized scripts, commands before login, the error
limit)."""
import base64
import imaplib
import json
import os
import shutil
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import Mailroom, DEFAULT_LISTENERS  # noqa: E402

PASSWORDS = {"alice@example.com": "wonderland", "bob@example.com": "builder"}

BEFORE = """require ["fileinto"];
# The administrator's "before" script: mail a gateway flagged as spam goes to Junk.
if header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }
"""


def wait_for(what, check, timeout=60):
    """Polls `check` until it returns a true value (a generous bound: a hang fails the test,
    the time taken is not what is tested)."""
    deadline = time.time() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class SieveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("sieve-connect"):
            raise unittest.SkipTest("sieve-connect is not installed (scripts/setup installs it)")
        listeners = dict(DEFAULT_LISTENERS)
        listeners["managesieve"] = ("managesieve", "starttls")
        cls.tmp = tempfile.mkdtemp(prefix="sieve-test-")
        before = os.path.join(cls.tmp, "before.sieve")
        with open(before, "w") as f:
            f.write(BEFORE)
        cls.m = Mailroom(listeners=listeners, extra_config=(
            "[sieve]\n"
            f'before = "{before}"\n'
            "max_redirects = 4\n"
            "max_script_size = 16384\n"
            "[managesieve]\nmax_errors = 12\nmax_literal = 32768\n"))
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers ---
    def sieve_connect(self, user, *args, script_text=None):
        r, w = os.pipe()
        os.write(w, (PASSWORDS[user] + "\n").encode())
        os.close(w)
        cmd = ["sieve-connect", "-s", "localhost", "-p", str(self.m.port("managesieve")),
               "-u", user, "--passwordfd", str(r), "--tlscafile", self.m.ca, "--noclearauth"]
        path = None
        if script_text is not None:
            fd, path = tempfile.mkstemp(suffix=".sieve", dir=self.tmp)
            with os.fdopen(fd, "w") as f:
                f.write(script_text)
            cmd += ["--localsieve", path]
        try:
            return subprocess.run(cmd + list(args), pass_fds=(r,), capture_output=True,
                                  text=True, timeout=60)
        finally:
            os.close(r)

    def install(self, user, name, text):
        p = self.sieve_connect(user, "--remotesieve", name, "--upload", script_text=text)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.sieve_connect(user, "--remotesieve", name, "--activate")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def deactivate(self, user):
        p = self.sieve_connect(user, "--deactivate")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def send(self, sender, rcpts, subject, headers="", to_header=None, message_id=None,
             text=None, lmtp=False):
        """SMTP on the MX port, or LMTP (the front end's path, whose verdict headers a scanner
        in front of us wrote and mailroomd keeps; on the MX they are removed)."""
        message_id = message_id or f"<{time.time_ns()}.{subject.replace(' ', '-')}@test>"
        body = (f"From: <{sender}>\r\nTo: <{to_header or rcpts[0]}>\r\nSubject: {subject}\r\n"
                f"Message-ID: {message_id}\r\n"
                f"{headers}\r\n{text or 'body of ' + subject}\r\n")
        if lmtp:
            s = smtplib.LMTP("127.0.0.1", self.m.port("lmtp"), timeout=30)
            try:
                s.sendmail(sender, rcpts, body)
            finally:
                s.quit()
            return
        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail(sender, rcpts, body)

    def imap(self, user):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        c.login(user, PASSWORDS[user])
        return c

    def messages(self, user, mailbox="INBOX"):
        """[(flags, raw message)] of a mailbox ([] when it does not exist)."""
        c = self.imap(user)
        try:
            typ, data = c.select(f'"{mailbox}"', readonly=True)
            if typ != "OK" or data[0] in (b"0", None):
                return []
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
            out = []
            if typ != "OK" or data == [None]:
                return out
            for item in data:
                if isinstance(item, tuple):
                    out.append((item[0].decode(), item[1].decode("utf-8", "replace")))
            return out
        finally:
            c.logout()

    def subjects(self, user, mailbox="INBOX"):
        out = []
        for _, raw in self.messages(user, mailbox):
            for line in raw.split("\r\n"):
                if line.lower().startswith("subject:"):
                    out.append(line.split(":", 1)[1].strip())
                    break
        return out

    def wait_subject(self, user, mailbox, subject):
        return wait_for(f"{subject!r} in {user} {mailbox}",
                        lambda: subject in self.subjects(user, mailbox))

    def queue_empty(self):
        return self.m.ctl("queue", "list") in ([], {"messages": []}) or \
            not self.m.ctl("queue", "list")

    # --- delivery ---
    def test_fileinto_flags_discard_subaddress_and_before_script(self):
        self.install("bob@example.com", "rules", r'''require ["fileinto", "imap4flags", "envelope", "subaddress"];
if header :contains "subject" "[list]" { fileinto :flags ["\\Seen", "$List"] "Lists"; stop; }
if header :contains "subject" "junk me" { discard; stop; }
if envelope :detail "to" "tag" { fileinto "Tagged"; }
''')
        self.send("carol@remote.example", ["bob@example.com"], "[list] news")
        self.send("carol@remote.example", ["bob@example.com"], "junk me please")
        self.send("carol@remote.example", ["bob+tag@example.com"], "tagged one")
        self.send("carol@remote.example", ["bob@example.com"], "spam", headers="X-Spam-Flag: YES\r\n",
                  lmtp=True)  # as a gateway in front would (on the MX the field is removed)
        self.send("carol@remote.example", ["bob@example.com"], "plain one")
        self.wait_subject("bob@example.com", "INBOX", "plain one")
        self.wait_subject("bob@example.com", "Lists", "[list] news")
        self.wait_subject("bob@example.com", "Tagged", "tagged one")
        self.wait_subject("bob@example.com", "Junk", "spam")  # the before script, then stop
        wait_for("the queue to drain", self.queue_empty)
        lists = self.messages("bob@example.com", "Lists")
        self.assertEqual(len(lists), 1)
        self.assertIn("\\Seen", lists[0][0])
        self.assertIn("$List", lists[0][0])
        inbox = self.subjects("bob@example.com")
        self.assertNotIn("junk me please", inbox)
        self.assertNotIn("[list] news", inbox)
        self.assertNotIn("spam", inbox)
        self.assertNotIn("spam", self.subjects("bob@example.com", "Lists"))
        # Scripts are stored under the account id, private to the server.
        sieve_dir = os.path.join(self.m.data, "mail", self.m.account_id("bob@example.com"), "sieve")
        path = os.path.join(sieve_dir, "scripts", b"rules".hex() + ".sieve")
        mode = os.stat(path).st_mode
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        self.deactivate("bob@example.com")

    def test_extensions_at_delivery(self):
        self.install("bob@example.com", "ext", r'''require ["fileinto", "editheader", "body", "variables",
  "duplicate", "copy", "mailbox", "spamtest", "relational", "comparator-i;ascii-numeric"];
if duplicate :header "Message-ID" { fileinto "Dups"; stop; }
if body :text :contains "secret word" {
  addheader "X-Body-Hit" "yes";
  fileinto :copy "BodyHits";
}
if header :matches "subject" "order *" { set :lower "n" "${1}"; fileinto "Order-${n}"; }
if spamtest :value "ge" :comparator "i;ascii-numeric" "8" { fileinto "Spammy"; }
if allof (header :is "subject" "create", not mailboxexists "Created") { fileinto :create "Created"; }
''')
        try:
            self.send("carol@remote.example", ["bob@example.com"], "has a secret",
                      text="the secret word is here")
            self.send("carol@remote.example", ["bob@example.com"], "order ABC42")
            self.send("carol@remote.example", ["bob@example.com"], "scored",
                      headers="X-Spam-Score: 9.5\r\n", lmtp=True)
            # The same forged on the MX: removed, so spamtest sees no score (RFC 5235 "0").
            self.send("carol@remote.example", ["bob@example.com"], "forged score",
                      headers="X-Spam-Score: 9.5\r\n")
            self.send("carol@remote.example", ["bob@example.com"], "create")
            self.send("carol@remote.example", ["bob@example.com"], "dup one", message_id="<same@test>")
            self.wait_subject("bob@example.com", "INBOX", "dup one")
            self.send("carol@remote.example", ["bob@example.com"], "dup two", message_id="<same@test>")
            self.wait_subject("bob@example.com", "Dups", "dup two")
            self.wait_subject("bob@example.com", "Order-abc42", "order ABC42")
            self.wait_subject("bob@example.com", "Spammy", "scored")
            self.wait_subject("bob@example.com", "Created", "create")
            self.wait_subject("bob@example.com", "BodyHits", "has a secret")
            self.wait_subject("bob@example.com", "INBOX", "has a secret")
            inbox = [raw for _, raw in self.messages("bob@example.com") if "has a secret" in raw]
            self.assertEqual(len(inbox), 1)
            self.assertTrue(inbox[0].split("\r\n\r\n")[0].count("X-Body-Hit: yes") == 1, inbox[0])
            self.assertNotIn("dup two", self.subjects("bob@example.com"))
            self.assertNotIn("order ABC42", self.subjects("bob@example.com"))
            self.wait_subject("bob@example.com", "INBOX", "forged score")
            forged = [raw for _, raw in self.messages("bob@example.com") if "forged score" in raw]
            self.assertNotIn("X-Spam-Score", forged[0])
        finally:
            self.deactivate("bob@example.com")

    def test_vacation_once_per_days_and_never_to_lists(self):
        self.install("alice@example.com", "away", '''require "vacation";
vacation :days 1 :subject "Out of office" "I am away until Monday.";
''')
        try:
            self.send("bob@example.com", ["alice@example.com"], "list mail",
                      headers="List-Id: <team.example.com>\r\n")
            self.send("bob@example.com", ["alice@example.com"], "first question")
            self.send("bob@example.com", ["alice@example.com"], "second question")
            self.send("bob@example.com", ["alice@example.com"], "bulk", headers="Precedence: bulk\r\n")
            for s in ("list mail", "first question", "second question", "bulk"):
                self.wait_subject("alice@example.com", "INBOX", s)
            self.wait_subject("bob@example.com", "INBOX", "Out of office")
            wait_for("the queue to drain", self.queue_empty)
            replies = [raw for _, raw in self.messages("bob@example.com")
                       if "Subject: Out of office" in raw]
            self.assertEqual(len(replies), 1, replies)
            self.assertIn("Auto-Submitted: auto-replied", replies[0])
            self.assertIn("Return-Path: <>", replies[0])
            self.assertIn("I am away until Monday.", replies[0])
        finally:
            self.deactivate("alice@example.com")

    def test_redirect_to_local_user_and_loop(self):
        self.install("alice@example.com", "fwd", 'redirect "bob@example.com";\n')
        try:
            self.send("carol@remote.example", ["alice@example.com"], "for bob via alice")
            self.wait_subject("bob@example.com", "INBOX", "for bob via alice")
            raw = [r for _, r in self.messages("bob@example.com") if "for bob via alice" in r][0]
            self.assertIn("X-Sieve-Redirected-By: alice@example.com", raw)
            wait_for("the queue to drain", self.queue_empty)
            self.assertNotIn("for bob via alice", self.subjects("alice@example.com"))
            # A loop: bob sends everything back to alice; the message stops when it comes
            # back to a redirector (kept, never lost, never bouncing forever).
            self.install("bob@example.com", "back", 'redirect "alice@example.com";\n')
            self.send("carol@remote.example", ["alice@example.com"], "loop test")
            self.wait_subject("alice@example.com", "INBOX", "loop test")
            wait_for("the queue to drain", self.queue_empty)
            self.assertIn("event=sieve_redirect_loop", self.m.log())
            self.deactivate("bob@example.com")
        finally:
            self.deactivate("alice@example.com")

    def test_failing_script_keeps_mail_and_tells_the_user_once(self):
        # Five redirects against max_redirects = 4: a runtime error at every delivery.
        self.install("alice@example.com", "broken", "".join(
            f'redirect "r{i}@remote.example";\n' for i in range(5)))
        try:
            self.send("carol@remote.example", ["alice@example.com"], "still delivered 1")
            self.send("carol@remote.example", ["alice@example.com"], "still delivered 2")
            self.wait_subject("alice@example.com", "INBOX", "still delivered 1")
            self.wait_subject("alice@example.com", "INBOX", "still delivered 2")
            wait_for("the queue to drain", self.queue_empty)
            notices = [s for s in self.subjects("alice@example.com")
                       if s == "Your Sieve filter failed"]
            self.assertEqual(len(notices), 1)
            self.assertEqual(self.m.ctl("queue", "list") or [], [])  # nothing redirected
        finally:
            self.deactivate("alice@example.com")

    def test_reject_dsn_over_smtp_and_5xx_over_lmtp(self):
        self.install("alice@example.com", "rej", 'require "reject";\nreject "No thanks.";\n')
        try:
            self.send("bob@example.com", ["alice@example.com"], "please reject")
            dsn = wait_for("the refusal report", lambda: [
                raw for _, raw in self.messages("bob@example.com")
                if "please reject" in raw and "No thanks." in raw and "5.7.1" in raw])
            self.assertTrue(dsn)
            self.assertNotIn("please reject", self.subjects("alice@example.com"))
            lmtp = smtplib.LMTP("127.0.0.1", self.m.port("lmtp"), timeout=30)
            try:
                refused = None
                try:
                    lmtp.sendmail("carol@remote.example", ["alice@example.com"],
                                  "Subject: lmtp reject\r\n\r\nx\r\n")
                except smtplib.SMTPRecipientsRefused as e:
                    refused = e.recipients
                except smtplib.SMTPDataError as e:
                    refused = {"alice@example.com": (e.smtp_code, e.smtp_error)}
                self.assertIsNotNone(refused)
                code, text = refused["alice@example.com"]
                self.assertEqual(code // 100, 5)
                self.assertIn(b"No thanks.", text)
            finally:
                lmtp.close()
        finally:
            self.deactivate("alice@example.com")

    # --- ManageSieve protocol ---
    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.m.port("managesieve")), timeout=20)
        f = s.makefile("rb")
        greeting = []
        while True:
            line = f.readline().decode().rstrip("\r\n")
            greeting.append(line)
            if line.startswith("OK"):
                break
        return s, f, greeting

    def response(self, f):
        """Lines up to and including the final OK/NO/BYE."""
        lines = []
        while True:
            raw = f.readline()
            if not raw:
                return lines
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if line.startswith(("OK", "NO", "BYE")):
                return lines

    def cmd(self, s, f, text):
        s.sendall(text if isinstance(text, bytes) else text.encode())
        return self.response(f)

    def test_managesieve_commands_and_hostile_input(self):
        s, f, greeting = self.raw()
        self.assertIn('"STARTTLS"', greeting)
        self.assertTrue(any(l.startswith('"SIEVE" "fileinto') for l in greeting))
        # Before authentication.
        self.assertEqual(self.cmd(s, f, 'PUTSCRIPT "x" "keep;"\r\n')[-1], 'NO "Authenticate first"')
        self.assertEqual(self.cmd(s, f, "LISTSCRIPTS\r\n")[-1], 'NO "Authenticate first"')
        self.assertEqual(self.cmd(s, f, "FROB\r\n")[-1], 'NO "Unknown command"')
        token = base64.b64encode(b"\0bob@example.com\0builder").decode()
        self.assertEqual(self.cmd(s, f, f'AUTHENTICATE "PLAIN" "{token}"\r\n')[-1], 'OK "Logged in"')
        # Bad literals and oversized scripts: NO, and the session goes on.
        self.assertEqual(self.cmd(s, f, 'PUTSCRIPT "x" {abc}\r\n')[-1], 'NO "Bad literal size"')
        big = b"#" * 20000
        self.assertEqual(self.cmd(s, f, b'PUTSCRIPT "big" {20000+}\r\n' + big + b"\r\n")[-1],
                         'NO (QUOTA/MAXSIZE) "script too large (limit 16384 octets)"')
        huge = b"#" * 40000
        self.assertEqual(self.cmd(s, f, b'PUTSCRIPT "huge" {40000+}\r\n' + huge + b"\r\n")[-1],
                         'NO (QUOTA/MAXSIZE) "Script too large"')
        self.assertEqual(self.cmd(s, f, 'HAVESPACE "x" 999999\r\n')[-1],
                         'NO (QUOTA/MAXSIZE) "script too large (limit 16384 octets)"')
        self.assertEqual(self.cmd(s, f, 'NOOP "t1"\r\n')[-1], 'OK (TAG "t1") "Done"')
        # A script that does not parse: NO with line and column (RFC 5804 2.6).
        bad = b'require "fileinto";\r\nfileinto;\r\n'
        r = self.cmd(s, f, b'PUTSCRIPT "bad" {%d+}\r\n' % len(bad) + bad + b"\r\n")
        self.assertTrue(r[-1].startswith('NO "line 2, column 1:'), r)
        good = b'require "fileinto";\r\nif true { fileinto "A"; }\r\n'
        self.assertEqual(self.cmd(s, f, b'CHECKSCRIPT {%d}\r\n' % len(good) + good + b"\r\n")[-1],
                         'OK "Script is valid"')
        self.assertEqual(self.cmd(s, f, b'PUTSCRIPT "good" {%d+}\r\n' % len(good) + good + b"\r\n")[-1],
                         'OK "Script stored"')
        self.assertEqual(self.cmd(s, f, 'HAVESPACE "good2" 100\r\n')[-1], 'OK "Putscript would succeed"')
        r = self.cmd(s, f, 'GETSCRIPT "good"\r\n')
        self.assertEqual(r[0], "{%d}" % len(good))
        self.assertEqual(r[-1], 'OK "Getscript completed"')
        self.assertEqual(self.cmd(s, f, 'SETACTIVE "nope"\r\n')[-1], 'NO (NONEXISTENT) "no such script"')
        self.assertEqual(self.cmd(s, f, 'SETACTIVE "good"\r\n')[-1], 'OK "Script activated"')
        self.assertEqual(self.cmd(s, f, 'DELETESCRIPT "good"\r\n')[-1],
                         'NO (ACTIVE) "the active script cannot be deleted"')
        self.assertEqual(self.cmd(s, f, 'RENAMESCRIPT "good" "better"\r\n')[-1], 'OK "Script renamed"')
        r = self.cmd(s, f, "LISTSCRIPTS\r\n")
        self.assertIn('"better" ACTIVE', r)
        self.assertEqual(self.cmd(s, f, 'SETACTIVE ""\r\n')[-1], 'OK "No script active"')
        self.assertEqual(self.cmd(s, f, 'DELETESCRIPT "better"\r\n')[-1], 'OK "Script deleted"')
        self.assertEqual(self.cmd(s, f, "UNAUTHENTICATE\r\n")[-1], 'OK "Unauthenticated"')
        self.assertEqual(self.cmd(s, f, "LISTSCRIPTS\r\n")[-1], 'NO "Authenticate first"')
        # A line over the limit, then the error limit ends the session with BYE.
        self.assertEqual(self.cmd(s, f, "NOOP " + "x" * 10000 + "\r\n")[-1], 'NO "Line too long"')
        last = None
        for _ in range(12):
            last = self.cmd(s, f, "FROB\r\n")
            if last and last[-1].startswith("BYE"):
                break
        self.assertEqual(last[-1], 'BYE "Too many errors"')
        self.assertEqual(f.readline(), b"")
        s.close()

    def test_literal_beyond_any_limit_ends_the_session(self):
        s, f, _ = self.raw()
        r = self.cmd(s, f, 'PUTSCRIPT "x" {999999999+}\r\n')
        self.assertEqual(r[-1], 'BYE "Literal too large"')
        s.close()


if __name__ == "__main__":
    unittest.main()
