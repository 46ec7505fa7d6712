"""A full disk under the data directory: SMTP answers 4xx and queues nothing, IMAP APPEND
answers NO [UNAVAILABLE] and the session goes on, mail accepted before is kept, and everything
works again once there is room. The data directory is a small tmpfs mounted by the test
(needs root; skipped otherwise)."""
import errno
import imaplib
import os
import smtplib
import subprocess
import time
import unittest

from harness import Mailroom

BODY = (b"x" * 70 + b"\r\n") * 1500  # ~108 KB, lines of legal length


def fill(path):
    """Writes zeros to `path` until the file system is full. Unbuffered: a buffered file would
    raise ENOSPC again when closed, depending on where the space ran out. Any error other than
    ENOSPC is raised."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 512, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a tmpfs for the data directory")
        self.m = Mailroom()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", self.m.data],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.m.close()
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        self.addCleanup(self.cleanup)

    def cleanup(self):
        self.m.stop()
        subprocess.run(["umount", self.m.data], check=False)
        self.m.close()

    def subjects(self):
        c = imaplib.IMAP4("127.0.0.1", self.m.port("imap"))
        c.login("alice@example.com", "wonderland")
        c.select("INBOX", readonly=True)
        typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        c.logout()
        if data == [None]:
            return []
        return sorted(d[1].decode().strip() for d in data if isinstance(d, tuple))

    def wait_for(self, expected):
        deadline = time.time() + 30
        while time.time() < deadline and self.subjects() != expected:
            time.sleep(0.2)
        self.assertEqual(self.subjects(), expected)

    def send(self, subject):
        s = smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30)
        try:
            s.ehlo("client.example")
            return s.sendmail("sender@example.org", ["alice@example.com"],
                              b"Subject: " + subject.encode() + b"\r\n\r\n" + BODY)
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                pass

    def test_full_disk_gives_temporary_errors_and_loses_nothing(self):
        m = self.m
        m.seed_demo()
        m.start()
        self.send("before")
        self.wait_for(["Subject: before"])

        ballast = os.path.join(m.data, "ballast")
        fill(ballast)
        self.assertEqual(os.statvfs(m.data).f_bavail, 0, "the file system is not full")
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send("while full")
        self.assertEqual(e.exception.smtp_code // 100, 4, e.exception)

        c = imaplib.IMAP4("127.0.0.1", m.port("imap"))
        c.login("alice@example.com", "wonderland")
        typ, data = c.append("INBOX", None, None, b"Subject: appended\r\n\r\n" + BODY)
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[UNAVAILABLE]"), data)
        self.assertEqual(c.noop()[0], "OK")  # the session goes on

        os.unlink(ballast)
        typ, data = c.append("INBOX", None, None, b"Subject: appended\r\n\r\n" + BODY)
        self.assertEqual(typ, "OK", data)
        c.logout()
        self.send("after")
        self.wait_for(["Subject: after", "Subject: appended", "Subject: before"])
        # The refused message was never queued (the client keeps it and retries): two queued.
        self.assertEqual(m.log().count("event=smtp_queued "), 2, m.log()[-3000:])


if __name__ == "__main__":
    unittest.main()
