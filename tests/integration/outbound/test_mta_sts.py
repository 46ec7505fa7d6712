"""MTA-STS (RFC 8461) for outbound MX delivery, against real peers on loopback.

dnsmasq serves _mta-sts.<domain> TXT records, the policy hosts mta-sts.<domain> and the MX
mx.sts.test; a Python HTTPS server (http.server + ssl, in a thread) serves the policies with
a certificate for the mta-sts.<domain> names; Postfix is the MX with a certificate for
mx.sts.test. Both certificates come from the harness test CA, which mailroomd trusts through
tls_ca_file. Evidence: what Postfix received, the delivery log, mailroomd's log.
"""
import http.server
import os
import ssl
import tempfile
import threading
import time
import unittest

from harness import Mailroom
from peers import DNSMASQ, close_all, POSTFIX, Dnsmasq, PostfixPeer, tls_files
from test_outbound import message, submit_as, wait_for

PASSWORD = "sts-pass-1"
MX = "mx.sts.test"
# domain -> policy body served at https://mta-sts.<domain>/.well-known/mta-sts.txt
POLICIES = {
    # enforce, and the MX matches (a wildcard for exactly one label)
    "sts.test": "version: STSv1\r\nmode: enforce\r\nmx: *.sts.test\r\nmax_age: 86400\r\n",
    # enforce, and no MX matches: deferred, never delivered
    "stsbad.test": "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n",
    # testing, and no MX matches: delivered, the mismatch logged
    "ststesting.test": "version: STSv1\nmode: testing\nmx: mx.elsewhere.test\nmax_age: 86400\n",
    # enforce, the MX matches but Postfix's certificate does not name it: deferred
    "stscert.test": "version: STSv1\nmode: enforce\nmx: mx.stscert.test\nmax_age: 86400\n",
    # enforce with no matching MX, but [outbound.tls_policy] names the domain: that wins
    "stsoverride.test": "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 60\n",
}
# The MX of each domain (all on 127.0.0.1, where Postfix listens).
MX_OF = {d: MX for d in POLICIES}
MX_OF["stscert.test"] = "mx.stscert.test"


class PolicyServer:
    """HTTPS on 127.0.0.1:<free port> serving POLICIES by the request's Host."""

    def __init__(self, directory):
        names = ["mta-sts." + d for d in POLICIES]
        _, cert, key = tls_files(directory, names)
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                outer.requests.append((host, self.path))
                domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else ""
                body = POLICIES.get(domain)
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@unittest.skipUnless(os.path.exists(DNSMASQ) and os.path.exists(POSTFIX),
                     "needs dnsmasq-base and postfix (scripts/setup)")
class MtaStsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mr-sts-")
        cls.https = PolicyServer(os.path.join(cls.tmp.name, "tls"))
        cls.https.start()
        cls.postfix = PostfixPeer(list(POLICIES), tls_names=[MX])
        cls.postfix.start()
        cls.dns = Dnsmasq()
        for mx in sorted(set(MX_OF.values())):
            cls.dns.host(mx, "127.0.0.1")
        for domain in POLICIES:
            (cls.dns.mx(domain, MX_OF[domain], 10).host("mta-sts." + domain, "127.0.0.1")
             .txt("_mta-sts." + domain, "v=STSv1; id=20261204T000000;"))
        cls.dns.start()
        cls.mailroom = Mailroom(extra_config=f"""
[dns]
servers = ["{cls.dns.server}"]
timeout = 2
tries = 1

[outbound]
port = {cls.postfix.port}
connect_timeout = 5
command_timeout = 20
mta_sts_port = {cls.https.port}
tls_ca_file = "{{ca}}"

[outbound.tls_policy]
"stsoverride.test" = "may"

[queue]
remote_retry_min = 1
remote_retry_max = 2
""")
        with open(cls.mailroom.config_path) as f:
            config = f.read()
        with open(cls.mailroom.config_path, "w") as f:
            f.write(config.replace("{ca}", cls.mailroom.ca))
        cls.mailroom.seed_demo()
        cls.sender = "stsuser@example.com"
        cls.mailroom.ctl("user", "add", cls.sender, "--password", PASSWORD)
        cls.mailroom.start()

    @classmethod
    def tearDownClass(cls):
        try:
            close_all(cls, ("mailroom", "dns", "postfix", "https"))
        finally:
            cls.tmp.cleanup()

    def delivery_log(self, recipient):
        return self.mailroom.ctl("delivery-log", "--recipient", recipient)

    def send(self, recipient, subject):
        token, text = message(self.sender, recipient, subject)
        submit_as(self.mailroom, self.sender, PASSWORD, [recipient], text)
        return token

    def test_enforce_with_a_matching_mx_delivers_over_verified_tls(self):
        token = self.send("bob@sts.test", "sts enforce")
        got = wait_for(lambda: [m for m in self.postfix.messages("bob@sts.test")
                                if token.encode() in m], timeout=30)
        self.assertTrue(got, self.mailroom.log()[-4000:])
        self.assertRegex(got[0].decode(errors="replace"), r"using TLSv1\.[23]")
        records = wait_for(lambda: [r for r in self.delivery_log("bob@sts.test")
                                    if r["result"] == "sent"], timeout=10)
        self.assertTrue(records, self.mailroom.log()[-4000:])
        self.assertIn("tls=TLSv1.", records[0]["detail"])
        self.assertIn("sts=enforce", records[0]["detail"])
        self.assertIn(f"peer={MX}[127.0.0.1]", records[0]["detail"])
        self.assertIn(("mta-sts.sts.test", "/.well-known/mta-sts.txt"), self.https.requests)
        self.assertIn("event=mta_sts_policy domain=sts.test", self.mailroom.log())

    def test_enforce_without_a_matching_mx_defers_and_sends_nothing(self):
        token = self.send("x@stsbad.test", "sts mismatch")
        deferred = wait_for(lambda: [r for r in self.delivery_log("x@stsbad.test")
                                     if r["result"] == "deferred"], timeout=30)
        self.assertTrue(deferred, self.mailroom.log()[-4000:])
        self.assertIn("MTA-STS: no MX matches the policy", deferred[0]["detail"])
        self.assertIn("sts=enforce", deferred[0]["detail"])
        time.sleep(1)
        self.assertEqual([m for m in self.postfix.messages() if token.encode() in m], [])
        self.assertIn("event=mta_sts_mx_skipped", self.mailroom.log())
        for q in self.mailroom.ctl("queue", "list"):
            if any(r["address"] == "x@stsbad.test" for r in q["recipients"]):
                self.mailroom.ctl("queue", "delete", q["queue_id"])

    def test_enforce_with_a_certificate_for_another_name_defers(self):
        token = self.send("y@stscert.test", "sts certificate")
        deferred = wait_for(lambda: [r for r in self.delivery_log("y@stscert.test")
                                     if r["result"] == "deferred"], timeout=30)
        self.assertTrue(deferred, self.mailroom.log()[-4000:])
        self.assertIn("MTA-STS: TLS handshake failed", deferred[0]["detail"])
        self.assertIn("certificate", deferred[0]["detail"])
        self.assertIn("sts=enforce", deferred[0]["detail"])
        self.assertEqual([m for m in self.postfix.messages() if token.encode() in m], [])
        for q in self.mailroom.ctl("queue", "list"):
            if any(r["address"] == "y@stscert.test" for r in q["recipients"]):
                self.mailroom.ctl("queue", "delete", q["queue_id"])

    def test_explicit_tls_policy_wins_over_mta_sts(self):
        token = self.send("z@stsoverride.test", "sts override")
        got = wait_for(lambda: [m for m in self.postfix.messages("z@stsoverride.test")
                                if token.encode() in m], timeout=30)
        self.assertTrue(got, self.mailroom.log()[-4000:])
        records = wait_for(lambda: [r for r in self.delivery_log("z@stsoverride.test")
                                    if r["result"] == "sent"], timeout=10)
        self.assertTrue(records)
        self.assertNotIn("sts=", records[0]["detail"])
        self.assertNotIn(("mta-sts.stsoverride.test", "/.well-known/mta-sts.txt"),
                         self.https.requests)

    def test_testing_mode_delivers_and_logs_the_mismatch(self):
        token = self.send("carl@ststesting.test", "sts testing")
        got = wait_for(lambda: [m for m in self.postfix.messages("carl@ststesting.test")
                                if token.encode() in m], timeout=30)
        self.assertTrue(got, self.mailroom.log()[-4000:])
        records = wait_for(lambda: [r for r in self.delivery_log("carl@ststesting.test")
                                    if r["result"] == "sent"], timeout=10)
        self.assertTrue(records)
        self.assertIn("sts=testing", records[0]["detail"])
        self.assertIn("event=mta_sts_testing_failure", self.mailroom.log())
        self.assertIn("reason=mx_mismatch", self.mailroom.log())


if __name__ == "__main__":
    unittest.main()
