"""fetchmail (STLS) and getmail6 (implicit TLS) download a 300-message mailbox (mixed sizes,
8-bit bodies, Big5 and UTF-8 subjects, dot-stuffed and "From " lines) and what they hand to
their MDA is compared byte for byte with what was delivered.

Both MDAs are `sh -c 'cat >> all'`: the clients deliver in message order, so the file must be
exactly the delivered messages concatenated (a Python MDA per message made the run minutes
longer). fetchmail runs with `no stripcr`, so it must hand over the CRLF bytes exactly.
getmail6 hands its MDA the message with LF line endings (its local convention), so its copy is
compared with the delivered bytes with CRLF turned into LF; nothing else may differ.
MAILROOM_POP3_CLIENT_MESSAGES=N changes the mailbox size (default 300, about 9 of them of
100-600 KB; getmail gets the first quarter of it). Both clients fork a shell per message, so
the time went to fetchmail, getmail and sh rather than the server: 1,000 messages cost 50 CPU-s
of a 2-core `make test`. bench/pop3 measures the server's download speed on 1,000."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Mailroom  # noqa: E402
import corpus  # noqa: E402
from test_pop3 import import_messages  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COUNT = int(os.environ.get("MAILROOM_POP3_CLIENT_MESSAGES", "300"))
GETMAIL_COUNT = max(1, COUNT // 4)


# getmail6 1.x loses its MDA child's exit when the SIGCHLD arrives before it waits (it installs
# the handler after fork() and notifies a condition nobody waits on yet:
# getmailcore.baseclasses.ForkingBase), and then gives up after its socket timeout with
# "waiting child pid N timed out". On a loaded 2-core machine that happened about once per 200
# messages, each costing the 180 s default timeout. Every local destination of getmail forks,
# so the MDA itself closes the window: after `cat` it waits until getmail (its parent) is no
# longer runnable, i.e. sleeps in that wait.
# (No double quotes: getmail reads `arguments` as a Python tuple literal.)
WAIT_FOR_PARENT = "while grep -q '^[0-9]* ([^)]*) R' /proc/$PPID/stat; do sleep 0.001; done"


def downloaded(out_dir):
    with open(os.path.join(out_dir, "all"), "rb") as f:
        return f.read()


class Pop3ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.messages = corpus.make_messages(COUNT, seed=11)
        cls.m = Mailroom()
        cls.m.seed_demo()
        import_messages(cls.m, "alice@example.com", cls.messages)
        import_messages(cls.m, "bob@example.com", cls.messages[:GETMAIL_COUNT])
        cls.m.start()
        cls.work = tempfile.mkdtemp(prefix="pop3-clients-")
        os.chmod(cls.work, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.m.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def assert_same_messages(self, got, expected):
        """`got` is the MDA's file; `expected` the delivered messages in order."""
        joined = b"".join(expected)
        if got == joined:
            return
        offset = 0
        for i, e in enumerate(expected):
            if got[offset:offset + len(e)] != e:
                self.fail(f"message {i + 1} of {len(expected)} differs (downloaded {len(got)} "
                          f"octets, delivered {len(joined)})")
            offset += len(e)
        self.fail(f"extra data after the last message ({len(got) - len(joined)} octets)")

    def remaining(self, address, password):
        import poplib
        p = poplib.POP3("127.0.0.1", self.m.port("pop3"), timeout=10)
        p.user(address)
        p.pass_(password)
        n = p.stat()[0]
        p.quit()
        return n

    def test_fetchmail_over_stls(self):
        home = os.path.join(self.work, "fetchmail")
        out = os.path.join(home, "out")
        os.makedirs(out)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(
                "set no bouncemail\n"
                f"poll 127.0.0.1 with proto POP3 port {self.m.port('pop3')}\n"
                "  user \"alice@example.com\" there with password \"wonderland\" is root here\n"
                f"  sslproto 'TLS1.2+' sslcertck sslcertfile \"{self.m.ca}\" sslcommonname localhost\n"
                f"  mda \"/bin/sh -c 'cat >> {out}/all'\"\n"
                "  fetchall nokeep no rewrite no stripcr\n")
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
        p = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "--invisible", "-v"],
                           env=env, capture_output=True, text=True, timeout=900)
        log = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, log[-4000:])
        self.assertIn("STLS", log)  # it did upgrade in-band
        self.assert_same_messages(downloaded(out), self.messages)
        self.assertEqual(self.remaining("alice@example.com", "wonderland"), 0)

    def test_getmail_over_implicit_tls(self):
        home = os.path.join(self.work, "getmail")
        out = os.path.join(home, "out")
        os.makedirs(out)
        os.chmod(home, 0o755)
        os.chmod(out, 0o777)
        rc = os.path.join(home, "getmailrc")
        with open(rc, "w") as f:
            f.write(
                "[retriever]\n"
                "type = SimplePOP3SSLRetriever\n"
                "server = localhost\n"
                f"port = {self.m.port('pop3s')}\n"
                "username = bob@example.com\n"
                "password = builder\n"
                f"ca_certs = {self.m.ca}\n"
                # also how long getmail waits for its MDA child: see the retry below
                "timeout = 20\n"
                "\n[destination]\n"
                "type = MDA_external\n"
                "path = /bin/sh\n"
                # The MDA exits only once getmail sleeps in its wait for it: see below.
                f"arguments = (\"-c\", \"cat >> {out}/all && {WAIT_FOR_PARENT}\")\n"
                "unixfrom = false\n"
                "user = nobody\n"
                "group = nogroup\n"
                "\n[options]\n"
                "read_all = true\n"
                "delete = true\n"
                "delivered_to = false\n"
                "received = false\n"
                "verbose = 1\n")
        attempts = 4
        for attempt in range(attempts):
            p = subprocess.run(["getmail", "--rcfile", rc, "--getmaildir", home],
                               capture_output=True, text=True, timeout=900)
            log = p.stdout + p.stderr
            # The MDA's wait (WAIT_FOR_PARENT) makes the lost wake-up rare, not impossible; the
            # session then ended without QUIT, so the server deleted nothing (RFC 1939
            # section 6) and the download starts again.
            if p.returncode == 0 or "waiting child pid" not in log or attempt == attempts - 1:
                break
            print("getmail lost its MDA child; downloading again", flush=True)
            os.unlink(os.path.join(out, "all"))
        self.assertEqual(p.returncode, 0, log[-4000:])
        expected = [m.replace(b"\r\n", b"\n") for m in self.messages[:GETMAIL_COUNT]]
        self.assert_same_messages(downloaded(out), expected)
        self.assertEqual(self.remaining("bob@example.com", "builder"), 0)


if __name__ == "__main__":
    unittest.main()
