"""Outbound tests that each start a mailroomd of their own: kill -9 and SIGTERM while a peer
holds its reply to DATA, peers that misbehave, a relay host with AUTH and required TLS. Apart
from test_outbound.py (one mailroomd, Postfix and dnsmasq shared by its tests) so that ctest
runs the two files side by side: each is about half of what was one 90 s module.
"""
import os
import socket
import time
import unittest

from harness import Mailroom
from peers import DNSMASQ, Dnsmasq, ScriptedSmtpPeer
from test_outbound import message, submit_as, wait_for


def run_with_held_data_reply(test, subject, interrupt, checks=None):
    """One message to a peer that holds its reply to DATA; `interrupt(m)` stops mailroomd
    while it waits. After the restart the queue must empty with the message sent once or
    twice (the peer's 250 may never have been recorded) and no bounce to the sender;
    `checks(m)` adds the caller's own."""
    import threading
    in_data = threading.Event()
    release = threading.Event()
    calls = []

    def data_reply(txn, data):
        calls.append(1)
        if len(calls) == 1:
            in_data.set()
            release.wait(30)  # held until mailroomd is down
        return None  # the default 250

    with ScriptedSmtpPeer(script={"data": data_reply}) as peer:
        m = Mailroom(extra_config=f"""
[outbound.transports]
"slow.test" = "[127.0.0.1]:{peer.port}"

[queue]
remote_retry_min = 1
remote_retry_max = 1
""")
        try:
            m.seed_demo()
            m.start()
            token, text = message("alice@example.com", "x@slow.test", subject)
            submit_as(m, "alice@example.com", "wonderland", ["x@slow.test"], text)
            test.assertTrue(in_data.wait(30), m.log()[-4000:])
            interrupt(m)
            release.set()
            m.start()
            test.assertTrue(wait_for(lambda: not m.ctl("queue", "list"), timeout=40),
                            m.log()[-4000:])
            copies = [t for t in peer.transactions
                      if t.delivered and token.encode() in (t.data or b"")]
            test.assertIn(len(copies), (1, 2))
            test.assertEqual(m.ctl("delivery-log", "--recipient", "alice@example.com"), [])
            if checks:
                checks(m)
        finally:
            release.set()
            m.close()


class CrashDuringRemoteDeliveryTest(unittest.TestCase):
    """kill -9 while the peer holds its reply to the message: after the restart the message
    is sent again (the peer's 250 was never recorded) and then retired: at most two copies,
    never none, no bounce."""

    def test_kill_during_data_sends_at_most_twice(self):
        def recorded_once(m):
            sent = [r for r in m.ctl("delivery-log", "--recipient", "x@slow.test")
                    if r["result"] == "sent"]
            self.assertEqual(len(sent), 1)  # recorded once: by the attempt that finished

        run_with_held_data_reply(self, "crash", lambda m: m.kill(), recorded_once)


class StopDuringRemoteDeliveryTest(unittest.TestCase):
    """SIGTERM while the peer holds its reply to the message: the attempt is abandoned, and
    mailroomd must still exit 0 with nothing leaked (the harness fails on a LeakSanitizer
    report; the abandoned attempt once kept the queue and the transport alive through each
    other). After the restart the message is sent again and retired."""

    def test_sigterm_during_data_exits_cleanly_and_sends_after_restart(self):
        # m.stop() raises on a non-zero exit or a sanitizer report.
        run_with_held_data_reply(self, "stop", lambda m: m.stop())


class HostilePeerTest(unittest.TestCase):
    """Peers that misbehave: an endless multi-line greeting, a peer that never answers, a reply
    line without end. Each attempt ends (reply limits, command_timeout) as a temporary
    failure; the message stays queued."""

    def serve(self, behaviour):
        import threading
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        self.addCleanup(listener.close)

        def run():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=behaviour, args=(conn,), daemon=True).start()

        threading.Thread(target=run, daemon=True).start()
        return listener.getsockname()[1]

    def test_misbehaving_peers_defer(self):
        def endless_greeting(conn):
            try:
                while True:
                    conn.sendall(b"220-still greeting you\r\n" * 100)
            except OSError:
                pass

        def silent(conn):
            time.sleep(30)
            conn.close()

        def no_line_end(conn):
            try:
                conn.sendall(b"220 " + b"x" * 100000)
                time.sleep(30)
            except OSError:
                pass

        ports = {name: self.serve(fn) for name, fn in
                 (("endless", endless_greeting), ("silent", silent), ("longline", no_line_end))}
        m = Mailroom(extra_config=f"""
[outbound]
command_timeout = 2

[outbound.transports]
"endless.test" = "[127.0.0.1]:{ports['endless']}"
"silent.test" = "[127.0.0.1]:{ports['silent']}"
"longline.test" = "[127.0.0.1]:{ports['longline']}"
""")
        try:
            m.seed_demo()
            m.start()
            for name in ports:
                token, text = message("alice@example.com", f"x@{name}.test", name)
                submit_as(m, "alice@example.com", "wonderland", [f"x@{name}.test"], text)
            want = {"endless": "more than 200 lines", "silent": "timed out",
                    "longline": "longer than 4096"}
            for name, reason in want.items():
                records = wait_for(lambda: [r for r in m.ctl("delivery-log", "--recipient",
                                                             f"x@{name}.test")
                                            if r["result"] == "deferred"], timeout=30)
                self.assertTrue(records, m.log()[-4000:])
                self.assertIn(reason, records[0]["detail"])
            self.assertEqual(len(m.ctl("queue", "list")), 3)
        finally:
            m.close()


@unittest.skipUnless(os.path.exists(DNSMASQ), "needs dnsmasq-base (scripts/setup)")
class RelayHostTest(unittest.TestCase):
    def test_relay_with_auth_and_required_tls(self):
        with ScriptedSmtpPeer(users={"relayuser": "relaypass"}, require_tls=True) as relay, \
                Dnsmasq() as dns_server:
            m = Mailroom(extra_config=f"""
[dns]
servers = ["{dns_server.server}"]

[outbound]
relay = "[127.0.0.1]:{relay.port}"
relay_user = "relayuser"
relay_password = "relaypass"
""")
            try:
                m.seed_demo()
                m.start()
                token, text = message("alice@example.com", "someone@faraway.test", "relay")
                submit_as(m, "alice@example.com", "wonderland", ["someone@faraway.test"], text)
                self.assertTrue(relay.wait_for(1, timeout=40), m.log()[-4000:])
                txn = [t for t in relay.transactions if t.delivered][-1]
                self.assertEqual(txn.auth_user, "relayuser")
                self.assertTrue(txn.tls and txn.tls.startswith("TLSv1."))
                self.assertEqual(txn.accepted_rcpts, ["someone@faraway.test"])
                self.assertIn(token.encode(), txn.data)
            finally:
                m.close()


if __name__ == "__main__":
    unittest.main()
