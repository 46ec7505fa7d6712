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


# Load must keep coming: the test fails when no message is acknowledged for this long (a
# stall, not a throughput bound).
STALL_S = 60
ACKS_PER_ROUND = 150


class CrashTest(unittest.TestCase):
    def test_kill9_under_load_delivers_exactly_once(self):
        rounds = int(os.environ.get("SMTP_CRASH_ROUNDS", "1"))
        senders = int(os.environ.get("SMTP_CRASH_SENDERS", "8"))
        with Mailroom() as m:
            m.seed_demo()
            acked, attempted = set(), set()
            errors = []  # (time.monotonic(), repr(exception)) of every sender that stopped
            lock = threading.Lock()
            for rnd in range(rounds):
                stop = threading.Event()

                def send_loop():
                    try:
                        s = smtplib.SMTP("127.0.0.1", m.port("smtp"), timeout=30)
                        s.ehlo("loader")
                        while not stop.is_set():
                            token = uuid.uuid4().hex
                            with lock:
                                attempted.add(token)
                            s.sendmail("load@remote.example", ["alice@example.com"],
                                       f"Subject: load\r\nX-Token: {token}\r\n\r\n" + ("x" * 78 + "\r\n") * 25)
                            with lock:
                                acked.add(token)
                    except Exception as e:  # expected only once the server is killed
                        with lock:
                            errors.append((time.monotonic(), repr(e)))

                threads = [threading.Thread(target=send_loop, daemon=True)
                           for _ in range(senders)]
                for t in threads:
                    t.start()
                target = len(acked) + ACKS_PER_ROUND
                last_count, last_progress = len(acked), time.monotonic()
                while len(acked) < target:
                    with lock:
                        early = list(errors)
                    if early:
                        stop.set()
                        self.fail(f"a sender failed before the kill: {early}")
                    if len(acked) != last_count:
                        last_count, last_progress = len(acked), time.monotonic()
                    elif time.monotonic() - last_progress > STALL_S:
                        stop.set()
                        self.fail(f"no message acknowledged for {STALL_S} s "
                                  f"({len(acked)} so far)")
                    time.sleep(0.01)
                killed_at = time.monotonic()
                m.kill()  # SIGKILL while sessions are mid-transaction
                stop.set()
                for t in threads:
                    t.join(60)
                self.assertEqual([t for t in threads if t.is_alive()], [],
                                 "a sender did not finish after the kill")
                with lock:
                    early = [e for e in errors if e[0] < killed_at]
                self.assertEqual(early, [], "a sender failed before the kill")
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
            self.assertGreaterEqual(len(acked), ACKS_PER_ROUND * rounds)


if __name__ == "__main__":
    unittest.main()
