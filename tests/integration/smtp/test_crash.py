"""kill -9 of mailroomd under SMTP load: every message answered 250 is delivered exactly once
after the restart; nothing is delivered twice; nothing unknown appears.

SMTP_CRASH_ROUNDS (default 1) repeats the kill/restart cycle; SMTP_CRASH_SENDERS (default 8)
sets the number of concurrent sessions.
"""
import collections
import os
import re
import smtplib
import threading
import time
import unittest
import uuid

from harness import Mailroom
from smtp_util import export_mbox

TOKEN_RE = re.compile(rb"X-Token: ([0-9a-f]{32})")


class CrashTest(unittest.TestCase):
    def test_kill9_under_load_delivers_exactly_once(self):
        rounds = int(os.environ.get("SMTP_CRASH_ROUNDS", "1"))
        senders = int(os.environ.get("SMTP_CRASH_SENDERS", "8"))
        with Mailroom() as m:
            m.seed_demo()
            acked, attempted = set(), set()
            lock = threading.Lock()
            for rnd in range(rounds):
                stop = threading.Event()

                def send_loop():
                    try:
                        s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=10)
                        s.ehlo("loader")
                        while not stop.is_set():
                            token = uuid.uuid4().hex
                            with lock:
                                attempted.add(token)
                            s.sendmail("load@remote.example", ["alice@example.com"],
                                       f"Subject: load\r\nX-Token: {token}\r\n\r\n" + ("x" * 78 + "\r\n") * 25)
                            with lock:
                                acked.add(token)
                    except (OSError, smtplib.SMTPException):
                        pass  # the server was killed under us

                threads = [threading.Thread(target=send_loop) for _ in range(senders)]
                for t in threads:
                    t.start()
                target = len(acked) + 150
                deadline = time.time() + 120
                while len(acked) < target and time.time() < deadline:
                    time.sleep(0.01)
                m.kill()  # SIGKILL while sessions are mid-transaction
                stop.set()
                for t in threads:
                    t.join(30)
                m.start()

            # After the last restart every acknowledged message must arrive.
            deadline = time.time() + 120
            while True:
                box = export_mbox(m, "alice@example.com")
                counts = collections.Counter(TOKEN_RE.findall(box))
                missing = [t for t in acked if counts[t.encode()] == 0]
                if not missing or time.time() > deadline:
                    break
                time.sleep(0.5)
            print(f"acked={len(acked)} attempted={len(attempted)} "
                  f"delivered={sum(counts.values())} distinct={len(counts)}")
            self.assertEqual(missing, [], "acknowledged messages lost")
            dups = {t: n for t, n in counts.items() if n > 1}
            self.assertEqual(dups, {}, "messages delivered more than once")
            unknown = [t for t in counts if t.decode() not in attempted]
            self.assertEqual(unknown, [])
            self.assertGreaterEqual(len(acked), 150 * rounds)


if __name__ == "__main__":
    unittest.main()
