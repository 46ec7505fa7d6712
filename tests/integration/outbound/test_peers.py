"""The peers of the outbound tests (tests/integration/peers.py) do what those tests will rely
on, checked with Python's own clients (dnspython, smtplib) and no mailroomd:

- Dnsmasq answers MX, null MX, A/AAAA, TXT (one over 255 octets, in 255-octet strings),
  NXDOMAIN for unknown names under .test, NODATA, and serves changed records after reload();
- PostfixPeer takes mail over STARTTLS into its Maildir with the TLS version in Received:,
  answers 450 from its access map until set_access() lifts it, leaves 8BITMIME out on the
  listener told to, runs beside a second instance, and leaves no process behind;
- ScriptedSmtpPeer requires AUTH, answers a scripted 451 then the default 250 for a recipient,
  drops chosen EHLO keywords, and records parameters, TLS and the AUTH user.
"""
import os
import smtplib
import socket
import ssl
import unittest
import uuid

import dns.resolver

from peers import POSTFIX, DNSMASQ, Dnsmasq, PostfixPeer, ScriptedSmtpPeer

DKIM_KEY = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9


def resolver(server):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = server.port
    r.lifetime = 5
    return r


def client_context(peer):
    ctx = ssl.create_default_context(cafile=peer.ca)
    ctx.check_hostname = False  # 127.0.0.2/.3 are not in the test certificate
    return ctx


def message(token, subject="peer test"):
    return (f"From: a@sender.test\r\nTo: someone@b.test\r\nSubject: {subject} {token}\r\n"
            f"Message-ID: <{token}@sender.test>\r\n\r\nhello {token}\r\n").encode()


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie until its parent reaps it
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


@unittest.skipUnless(os.path.exists(DNSMASQ), "needs dnsmasq-base (scripts/setup)")
class DnsmasqTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        (cls.dns.mx("b.test", "mx1.b.test", 10).mx("b.test", "mx2.b.test", 20)
         .host("mx1.b.test", "127.0.0.2", "::1").host("mx2.b.test", "127.0.0.3")
         .null_mx("nomail.test")
         .txt("b.test", "v=spf1 ip4:127.0.0.0/8 -all")
         .txt("sel._domainkey.b.test", DKIM_KEY))
        cls.dns.start()
        cls.r = resolver(cls.dns)

    @classmethod
    def tearDownClass(cls):
        cls.dns.close()

    def test_server_names_the_port(self):
        self.assertEqual(self.dns.server, f"127.0.0.1:{self.dns.port}")

    def test_mx_in_preference_order(self):
        answer = sorted((mx.preference, mx.exchange.to_text())
                        for mx in self.r.resolve("b.test", "MX"))
        self.assertEqual(answer, [(10, "mx1.b.test."), (20, "mx2.b.test.")])

    def test_null_mx(self):
        answer = [(mx.preference, mx.exchange.to_text())
                  for mx in self.r.resolve("nomail.test", "MX")]
        self.assertEqual(answer, [(0, ".")])

    def test_a_and_aaaa(self):
        self.assertEqual([a.to_text() for a in self.r.resolve("mx1.b.test", "A")],
                         ["127.0.0.2"])
        self.assertEqual([a.to_text() for a in self.r.resolve("mx1.b.test", "AAAA")], ["::1"])

    def test_txt(self):
        [txt] = self.r.resolve("b.test", "TXT")
        self.assertEqual(txt.strings, (b"v=spf1 ip4:127.0.0.0/8 -all",))

    def test_long_txt_comes_in_255_octet_strings(self):
        [txt] = self.r.resolve("sel._domainkey.b.test", "TXT")
        self.assertGreater(len(DKIM_KEY), 255)
        self.assertEqual([len(s) for s in txt.strings[:-1]], [255] * (len(txt.strings) - 1))
        self.assertEqual(b"".join(txt.strings).decode(), DKIM_KEY)

    def test_unknown_name_under_test_is_nxdomain(self):
        with self.assertRaises(dns.resolver.NXDOMAIN):
            self.r.resolve("nowhere.b.test", "A")

    def test_known_name_without_the_type_is_nodata(self):
        with self.assertRaises(dns.resolver.NoAnswer):
            self.r.resolve("mx2.b.test", "AAAA")

    def test_reload_serves_new_records_on_the_same_port(self):
        with Dnsmasq() as d:
            d.host("moving.test", "127.0.0.7").reload()
            port = d.port
            self.assertEqual([a.to_text() for a in resolver(d).resolve("moving.test", "A")],
                             ["127.0.0.7"])
            d.reload([("host", "moving.test", "127.0.0.8")])
            self.assertEqual(d.port, port)
            self.assertEqual([a.to_text() for a in resolver(d).resolve("moving.test", "A")],
                             ["127.0.0.8"])
            pid = d.proc.pid
        self.assertTrue(gone(pid), "dnsmasq still runs after the with block")


@unittest.skipUnless(os.path.exists(POSTFIX), "needs postfix (scripts/setup)")
class PostfixPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = PostfixPeer(
            ["b.test"],
            listen=[("127.0.0.2", None),
                    ("127.0.0.3", None, {"smtpd_discard_ehlo_keywords": "8bitmime"})],
            access={"later@b.test": "450 4.2.0 try later"})
        cls.peer.start()

    @classmethod
    def tearDownClass(cls):
        cls.peer.close()

    def smtp(self, ip="127.0.0.2"):
        s = smtplib.SMTP(ip, self.peer.port, timeout=30)
        self.addCleanup(s.close)
        s.ehlo("client.sender.test")
        return s

    def test_one_port_on_two_addresses(self):
        self.assertEqual(self.peer.addresses,
                         [("127.0.0.2", self.peer.port), ("127.0.0.3", self.peer.port)])

    def test_starttls_delivery_lands_in_the_maildir(self):
        token = uuid.uuid4().hex
        rcpt = f"tls-{token[:8]}@b.test"
        s = self.smtp()
        self.assertIn("starttls", s.esmtp_features)
        s.starttls(context=client_context(self.peer))
        s.ehlo("client.sender.test")
        s.sendmail("a@sender.test", [rcpt], message(token))
        s.quit()
        [got] = self.peer.wait_for(1, rcpt)
        self.assertIn(f"hello {token}".encode(), got)
        self.assertIn(f"Delivered-To: {rcpt}".encode(), got)
        self.assertRegex(got, rb"\(using TLSv1\.[23] with cipher ")

    def test_access_map_450_until_set_access_lifts_it(self):
        token = uuid.uuid4().hex
        s = self.smtp()
        s.mail("a@sender.test")
        code, text = s.rcpt("later@b.test")
        self.assertEqual(code, 450)
        self.assertIn(b"4.2.0", text)
        s.quit()
        self.peer.set_access({"gone@b.test": "550 5.1.1 no such user"})
        try:
            s = self.smtp()
            s.mail("a@sender.test")
            self.assertEqual(s.rcpt("gone@b.test")[0], 550)
            s.rset()
            s.sendmail("a@sender.test", ["later@b.test"], message(token))
            s.quit()
            got = self.peer.wait_for(1, "later@b.test")
            self.assertIn(token.encode(), got[-1])
        finally:
            self.peer.set_access({"later@b.test": "450 4.2.0 try later"})

    def test_listener_without_8bitmime(self):
        self.assertIn("8bitmime", self.smtp("127.0.0.2").esmtp_features)
        s = self.smtp("127.0.0.3")
        self.assertNotIn("8bitmime", s.esmtp_features)
        self.assertIn("starttls", s.esmtp_features)

    def test_second_instance_runs_beside_and_stops_clean(self):
        with PostfixPeer(["c.test"], listen=[("127.0.0.4", None)], tls=False) as other:
            self.assertNotEqual(other.base, self.peer.base)
            s = smtplib.SMTP("127.0.0.4", other.port, timeout=30)
            self.assertNotIn("starttls", s.ehlo("x")[1].decode().lower())
            s.sendmail("a@sender.test", ["c1@c.test"], message("second"))
            s.quit()
            other.wait_for(1, "c1@c.test")
            master = other.proc.pid
            children = other._children()
            self.assertTrue(children)
        self.assertTrue(gone(master), "postfix master still runs")
        self.assertEqual([p for p in children if not gone(p)], [])
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.4", other.port), timeout=2).close()
        self.assertEqual(self.peer.messages("c1@c.test"), [])


class ScriptedSmtpPeerTest(unittest.TestCase):
    def test_auth_is_required_and_recorded(self):
        with ScriptedSmtpPeer(users={"relay": "secret"}) as peer:
            s = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            self.addCleanup(s.close)
            s.ehlo("client.test")
            self.assertNotIn("auth", s.esmtp_features)  # not before TLS
            self.assertEqual(s.mail("a@sender.test")[0], 530)
            s.starttls(context=ssl.create_default_context(cafile=peer.ca))
            s.ehlo("client.test")
            self.assertIn("PLAIN", s.esmtp_features["auth"])
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("relay", "wrong")
            s.login("relay", "secret")
            s.sendmail("a@sender.test", ["x@far.test"], message("auth"),
                       mail_options=["BODY=8BITMIME", "ENVID=Q+2Bx"],
                       rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;X@far.test"])
            s.quit()
            [txn] = peer.delivered()
            self.assertEqual(txn.auth_user, "relay")
            self.assertEqual(txn.tls, "TLSv1.3")
            self.assertEqual(txn.mail_params, {"SIZE": str(len(message("auth"))),  # smtplib's
                                               "BODY": "8BITMIME", "ENVID": "Q+2Bx"})
            self.assertEqual(txn.rcpts[0].params,
                             {"NOTIFY": "FAILURE", "ORCPT": "rfc822;X@far.test"})
            self.assertIn(b"Subject: peer test auth", txn.data)

    def test_scripted_451_then_250(self):
        script = {"rcpt": {"x@far.test": ["451 4.3.0 try again later"]}}
        with ScriptedSmtpPeer(script=script, tls=False) as peer:
            s = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
                s.sendmail("a@sender.test", ["x@far.test"], message("first"))
            self.assertEqual(refused.exception.recipients["x@far.test"][0], 451)
            s.quit()
            s = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            s.sendmail("a@sender.test", ["x@far.test"], message("second"))
            s.quit()
            self.assertEqual(peer.rcpt_attempts("x@far.test"), 2)
            [data] = peer.wait_for(1, "x@far.test")
            self.assertIn(b"second", data)
            self.assertEqual([t.rcpts[0].reply[:3] for t in peer.transactions], ["451", "250"])
            self.assertIsNone(peer.transactions[0].tls)

    def test_dropped_extensions_and_their_parameters(self):
        with ScriptedSmtpPeer(drop=("PIPELINING", "8BITMIME", "SMTPUTF8", "DSN",
                                    "STARTTLS")) as peer:
            s = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            self.addCleanup(s.close)
            s.ehlo("client.test")
            for ext in ("pipelining", "8bitmime", "smtputf8", "dsn", "starttls"):
                self.assertNotIn(ext, s.esmtp_features)
            self.assertIn("size", s.esmtp_features)
            self.assertEqual(s.mail("a@sender.test", ["BODY=8BITMIME"])[0], 555)
            self.assertEqual(s.mail("<>")[0], 250)  # the null sender of a bounce

    def test_greeting_421_data_replies_and_disconnect(self):
        script = {"greeting": ["421 4.3.2 busy"],
                  "data": ["452 4.3.1 out of space", None, "DISCONNECT"]}
        with ScriptedSmtpPeer(script=script, tls=False) as peer:
            with self.assertRaises(smtplib.SMTPConnectError):
                smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            s = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
            with self.assertRaises(smtplib.SMTPDataError):
                s.sendmail("a@sender.test", ["y@far.test"], message("full"))
            s.sendmail("a@sender.test", ["y@far.test"], message("fits"))
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                s.sendmail("a@sender.test", ["y@far.test"], message("cut"))
            s.close()
            self.assertEqual(peer.connections, 2)
            self.assertEqual([t.data_reply for t in peer.transactions],
                             ["452 4.3.1 out of space", "250 2.0.0 OK queued as 2",
                              "DISCONNECT"])
            self.assertEqual(len(peer.messages("y@far.test")), 1)

    def test_pipelined_commands_get_their_replies_in_order(self):
        script = {"rcpt": {"x@far.test": ["451 4.3.0 later"]}}
        with ScriptedSmtpPeer(script=script, tls=False) as peer, \
                socket.create_connection(("127.0.0.1", peer.port), timeout=10) as sock:
            f = sock.makefile("rb")

            def replies(n):
                out = []
                while len(out) < n:
                    line = f.readline()
                    if line[3:4] != b"-":
                        out.append(line[:3].decode())
                return out
            replies(1)
            sock.sendall(b"EHLO client.test\r\n")
            replies(1)
            sock.sendall(b"MAIL FROM:<a@sender.test>\r\nRCPT TO:<x@far.test>\r\n"
                         b"RCPT TO:<y@far.test>\r\nDATA\r\n")
            self.assertEqual(replies(4), ["250", "451", "250", "354"])
            sock.sendall(message("piped") + b".\r\nQUIT\r\n")
            self.assertEqual(replies(2), ["250", "221"])
            [txn] = peer.delivered()
            self.assertEqual(txn.accepted_rcpts, ["y@far.test"])


if __name__ == "__main__":
    unittest.main()
