"""Real IMAP clients against mailroomd: mbsync (isync) two-way sync, neomutt reading INBOX,
offlineimap3 when installed. Each test is skipped with a clear message when its client is
not installed (Debian packages: isync, neomutt, offlineimap3)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mailroom  # noqa: E402
from imapwire import ServerCase, Wire  # noqa: E402


def message(subject, body="body"):
    return ("From: bob@example.com\r\nTo: alice@example.com\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.com>\r\n\r\n%s\r\n" % (subject, subject.replace(" ", "."), body)).encode()


class ClientTestBase(ServerCase):
    def wire(self):
        w = Wire(self.port)
        _, t = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b"OK", t)
        return w

    def append(self, w, mailbox, msg, flags=""):
        tag = w.tag()
        w.send("%s APPEND %s %s{%d+}\r\n" % (tag, mailbox, flags, len(msg)))
        w.send(msg + b"\r\n")
        _, t = w.until(tag)
        self.assertIn(b"OK", t)


@unittest.skipUnless(shutil.which("mbsync"), "mbsync not installed (Debian package isync)")
class TestMbsync(ClientTestBase):
    def run_mbsync(self, cfg):
        p = subprocess.run(["mbsync", "-c", cfg, "-a"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def test_two_way_sync(self):
        tmp = tempfile.mkdtemp(prefix="mbsync-")
        try:
            local = os.path.join(tmp, "mail")
            os.makedirs(local)
            cfg = os.path.join(tmp, "mbsyncrc")
            with open(cfg, "w") as f:
                f.write(textwrap.dedent(f"""\
                    IMAPAccount mr
                    Host localhost
                    Port {self.port}
                    User alice@example.com
                    Pass wonderland
                    SSLType STARTTLS
                    CertificateFile {self.m.ca}
                    AuthMechs PLAIN

                    IMAPStore remote
                    Account mr

                    MaildirStore local
                    Path {local}/
                    Inbox {local}/INBOX
                    SubFolders Verbatim

                    Channel ch
                    Far :remote:
                    Near :local:
                    Patterns INBOX Sync*
                    Create Both
                    Expunge Both
                    SyncState *
                    """))
            w = self.wire()
            w.cmd("CREATE SyncA")
            for i in range(3):
                self.append(w, "INBOX", message("inbox %d" % i))
            self.append(w, "SyncA", message("folder a"))
            self.run_mbsync(cfg)
            inbox = sorted(glob.glob(os.path.join(local, "INBOX", "*", "*")))
            self.assertEqual(len(inbox), 3, inbox)
            self.assertEqual(len(glob.glob(os.path.join(local, "SyncA", "*", "*"))), 1)

            # Local changes: mark one seen, delete one, new local folder with a message.
            files = sorted(inbox)
            seen = files[0]
            base = os.path.basename(seen).split(":2,")[0]
            os.rename(seen, os.path.join(local, "INBOX", "cur", base + ":2,S"))
            os.unlink(files[1])
            os.makedirs(os.path.join(local, "SyncB", "cur"))
            os.makedirs(os.path.join(local, "SyncB", "new"))
            os.makedirs(os.path.join(local, "SyncB", "tmp"))
            with open(os.path.join(local, "SyncB", "new", "1.local"), "wb") as f:
                f.write(message("local b").replace(b"\r\n", b"\n"))
            # Remote changes: flag one, move the folder message to INBOX.
            w.cmd("SELECT INBOX")
            u, _ = w.cmd("UID SEARCH SUBJECT \"inbox 2\"")
            flagged_uid = u[0].split()[2].decode()
            w.cmd("UID STORE %s +FLAGS (\\Flagged)" % flagged_uid)
            w.cmd("SELECT SyncA")
            _, t = w.cmd("MOVE 1 INBOX")
            self.assertIn(b"OK", t)
            w.cmd("UNSELECT")
            self.run_mbsync(cfg)
            self.run_mbsync(cfg)  # a second run must be a no-op and succeed

            # Remote state
            u, _ = w.cmd("STATUS INBOX (MESSAGES)")
            self.assertIn(b"MESSAGES 3", u[0])  # 3 - 1 deleted + 1 moved in
            w.cmd("SELECT INBOX")
            u, _ = w.cmd("SEARCH SEEN SUBJECT \"inbox 0\"")
            self.assertEqual(len(u[0].split()), 3, u)
            u, _ = w.cmd("SEARCH SUBJECT \"inbox 1\"")
            self.assertEqual(u, [b"* SEARCH"])
            u, _ = w.cmd("STATUS SyncB (MESSAGES)")
            self.assertIn(b"MESSAGES 1", u[0])
            # Local state
            names = [os.path.basename(p) for p in glob.glob(os.path.join(local, "INBOX", "*", "*"))]
            self.assertEqual(len(names), 3, names)
            self.assertTrue(any(re.search(r":2,[A-Z]*F", n) for n in names), names)
            self.assertEqual(len(glob.glob(os.path.join(local, "SyncA", "*", "*"))), 0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(shutil.which("neomutt") and shutil.which("script"),
                     "neomutt or script not installed (Debian packages neomutt, bsdutils)")
class TestNeomutt(ClientTestBase):
    def test_reads_inbox(self):
        tmp = tempfile.mkdtemp(prefix="neomutt-")
        try:
            w = self.wire()
            self.append(w, "INBOX", message("for neomutt one"))
            self.append(w, "INBOX", message("for neomutt two"))
            out = os.path.join(tmp, "out.mbox")
            rc = os.path.join(tmp, "muttrc")
            with open(rc, "w") as f:
                f.write(textwrap.dedent(f"""\
                    set imap_user="alice@example.com"
                    set imap_pass="wonderland"
                    set folder="imap://127.0.0.1:{self.port}/"
                    set spoolfile="+INBOX"
                    set ssl_starttls=no
                    set ssl_force_tls=no
                    set confirmcreate=no
                    set confirmappend=no
                    set quit=yes
                    set move=no
                    set mbox_type=mbox
                    set header_cache=""
                    set message_cachedir=""
                    """))
            push = ('push "<tag-pattern>~s neomutt<enter><tag-prefix><copy-message>%s<enter>'
                    '<sync-mailbox><quit>"' % out)
            cmd = "neomutt -n -F %s -f imap://127.0.0.1:%d/INBOX -e '%s'" % (rc, self.port, push)
            env = dict(os.environ, TERM="xterm", HOME=tmp)
            p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                               timeout=90, env=env, stdin=subprocess.DEVNULL)
            self.assertTrue(os.path.exists(out), p.stdout[-2000:])
            with open(out, "rb") as f:
                data = f.read()
            self.assertIn(b"Subject: for neomutt one", data)
            self.assertIn(b"Subject: for neomutt two", data)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(shutil.which("offlineimap"), "offlineimap3 not installed (Debian package "
                     "offlineimap3); skipped")
class TestOfflineimap(ClientTestBase):
    def test_sync(self):
        tmp = tempfile.mkdtemp(prefix="offlineimap-")
        try:
            w = self.wire()
            self.append(w, "INBOX", message("for offlineimap"))
            cfg = os.path.join(tmp, "rc")
            with open(cfg, "w") as f:
                f.write(textwrap.dedent(f"""\
                    [general]
                    accounts = mr
                    metadata = {tmp}/meta
                    [Account mr]
                    localrepository = local
                    remoterepository = remote
                    [Repository local]
                    type = Maildir
                    localfolders = {tmp}/mail
                    [Repository remote]
                    type = IMAP
                    remotehost = 127.0.0.1
                    remoteport = {self.port}
                    remoteuser = alice@example.com
                    remotepass = wonderland
                    ssl = no
                    starttls = no
                    folderfilter = lambda f: f in ['INBOX']
                    """))
            for _ in range(2):
                p = subprocess.run(["offlineimap", "-c", cfg, "-o", "-u", "basic"],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertTrue(glob.glob(os.path.join(tmp, "mail", "INBOX", "*", "*")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
