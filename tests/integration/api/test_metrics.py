"""GET /metrics, /healthz and /readyz on a real mailroomd (issue 17, "Operations"): the page
is valid Prometheus text (format 0.0.4) and its counters move with an SMTP delivery, IMAP
logins and the scrape itself."""
import imaplib
import re
import smtplib
import socket
import time
import unittest

from api_common import API_LISTENERS, Http
from harness import Mailroom

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_metrics(text):
    """Returns ({family: type}, {(name, frozenset(labels)): value}); fails on any line that is
    not HELP, TYPE or a well-formed sample of the family last typed."""
    types, samples, current = {}, {}, None
    assert text.endswith("\n"), "no final line feed"
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, "TYPE twice: " + line
            types[name] = kind
            current = name
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, "not a sample: " + repr(line)
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        labels = {}
        pos = 0
        while pos < len(labels_text):
            lm = LABEL.match(labels_text, pos)
            assert lm, "bad labels: " + repr(line)
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        family = name
        if types.get(current) == "histogram":
            family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert family == current, "sample outside its family: " + line
        samples[(name, frozenset(labels.items()))] = float(value)
    return types, samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # LMTP only for a gateway elsewhere: this client is refused before any byte.
        cls.m = Mailroom(listeners=API_LISTENERS,
                         listener_config={"lmtp": 'allow = ["192.0.2.0/24"]'})
        cls.m.seed_demo()
        cls.m.start()

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def scrape(self):
        c = Http(self.m)
        try:
            status, headers, body = c.request("GET", "/metrics")
        finally:
            c.close()
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        return parse_metrics(body.decode())

    def wait_for(self, predicate, what):
        # Bounded polling (the delivery runs on the queue's threads), not a timing threshold.
        for _ in range(300):
            types, samples = self.scrape()
            if predicate(samples):
                return types, samples
            time.sleep(0.1)
        self.fail("metrics never showed " + what)

    def test_counters_move_with_smtp_delivery_and_imap_logins(self):
        types, before = self.scrape()
        for family, kind in {
                "mailroom_connections_accepted_total": "counter",
                "mailroom_logins_total": "counter",
                "mailroom_smtp_messages_accepted_total": "counter",
                "mailroom_queue_messages": "gauge",
                "mailroom_delivery_latency_seconds": "histogram",
                "mailroom_directory_lookups_total": "counter",
                "mailroom_store_fsync_duration_seconds": "histogram",
                "mailroom_worker_pool_busy_workers": "gauge",
                "mailroom_http_requests_total": "counter"}.items():
            self.assertEqual(types.get(family), kind, family)
        self.assertEqual(value(before, "mailroom_worker_pool_threads"), 4)  # worker_threads

        with smtplib.SMTP("127.0.0.1", self.m.port("smtp"), timeout=30) as s:
            s.sendmail("someone@remote.example", ["alice@example.com"],
                       b"From: someone@remote.example\r\nSubject: metrics\r\n\r\nhello\r\n")
        imap = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
        imap.login("alice@example.com", "wonderland")
        imap.logout()
        bad = imaplib.IMAP4("127.0.0.1", self.m.port("imap"), timeout=30)
        with self.assertRaises(imaplib.IMAP4.error):
            bad.login("bob@example.com", "not-his-password")
        bad.logout()

        delivered0 = value(before, "mailroom_queue_recipients_delivered_total")
        _, after = self.wait_for(
            lambda s: value(s, "mailroom_queue_recipients_delivered_total") > delivered0,
            "the local delivery")

        def moved(name, by=1, **labels):
            self.assertEqual(value(after, name, **labels) - value(before, name, **labels), by,
                             f"{name} {labels}")

        moved("mailroom_smtp_messages_accepted_total", protocol="smtp")
        moved("mailroom_queue_recipients_delivered_total")
        moved("mailroom_delivery_latency_seconds_count")
        moved("mailroom_connections_accepted_total", protocol="smtp")
        moved("mailroom_connections_accepted_total", by=2, protocol="imap")
        moved("mailroom_logins_total", protocol="imap", mechanism="LOGIN", result="ok")
        moved("mailroom_logins_total", protocol="imap", mechanism="LOGIN", result="fail")
        self.assertGreater(
            value(after, "mailroom_directory_lookups_total", backend="local",
                  operation="find_account_by_login", result="found") +
            value(after, "mailroom_directory_lookups_total", backend="local",
                  operation="find_account_by_address", result="found"),
            0)
        self.assertGreater(value(after, "mailroom_directory_lookups_total", backend="local",
                                 operation="check_password", result="mismatch"), 0)
        # The message file's fsync in the store ([store] fsync is on by default).
        self.assertGreater(
            value(after, "mailroom_store_fsync_duration_seconds_count", kind="file") -
            value(before, "mailroom_store_fsync_duration_seconds_count", kind="file"), 0)
        self.assertEqual(value(after, "mailroom_queue_messages"), 0)
        # Histogram buckets are cumulative and end at _count.
        buckets = sorted(
            ((float(dict(k[1])["le"]), v) for k, v in after.items()
             if k[0] == "mailroom_delivery_latency_seconds_bucket"), key=lambda p: p[0])
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual(buckets[-1][1], value(after, "mailroom_delivery_latency_seconds_count"))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))

    def test_http_requests_are_counted_by_route_family(self):
        # On one keep-alive connection the server counts a request before it reads the next.
        c = Http(self.m)
        try:
            pages = []
            for _ in range(2):
                status, _, body = c.request("GET", "/metrics")
                self.assertEqual(status, 200)
                pages.append(parse_metrics(body.decode())[1])
            self.assertEqual(c.request("GET", "/no/such/route")[0], 404)
            _, _, body = c.request("GET", "/metrics")
            last = parse_metrics(body.decode())[1]
        finally:
            c.close()
        ok = dict(family="metrics", status_class="2xx")
        self.assertEqual(value(pages[1], "mailroom_http_requests_total", **ok) -
                         value(pages[0], "mailroom_http_requests_total", **ok), 1)
        self.assertEqual(value(last, "mailroom_http_requests_total", family="none",
                               status_class="4xx") -
                         value(pages[1], "mailroom_http_requests_total", family="none",
                               status_class="4xx"), 1)
        self.assertGreaterEqual(
            value(last, "mailroom_http_request_duration_seconds_count", family="metrics"), 2)
        self.assertGreaterEqual(value(last, "mailroom_connections_accepted_total",
                                      protocol="http"), 1)

    def test_the_reference_parser_reads_the_page(self):
        # An independent reader of the format (the Prometheus project's Python client).
        from prometheus_client.parser import text_string_to_metric_families
        c = Http(self.m)
        try:
            _, _, body = c.request("GET", "/metrics")
        finally:
            c.close()
        types, _ = parse_metrics(body.decode())
        seen = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
        for family, kind in types.items():
            # The client drops "_total" from counter family names.
            name = family[:-len("_total")] if kind == "counter" else family
            self.assertEqual(seen.get(name), kind, family)

    def test_refused_connections_are_counted_by_reason(self):
        _, before = self.scrape()
        s = socket.create_connection(("127.0.0.1", self.m.port("lmtp")), timeout=10)
        try:
            s.recv(1024)  # the refusal (or nothing) and the close
        finally:
            s.close()
        _, after = self.wait_for(
            lambda now: value(now, "mailroom_connections_refused_total", protocol="lmtp",
                              reason="not_allowed") >
            value(before, "mailroom_connections_refused_total", protocol="lmtp",
                  reason="not_allowed"),
            "the refused LMTP connection")
        self.assertEqual(value(after, "mailroom_connections_accepted_total", protocol="lmtp"),
                         value(before, "mailroom_connections_accepted_total", protocol="lmtp"))

    def test_health_and_readiness(self):
        c = Http(self.m)
        try:
            status, _, body = c.request("GET", "/healthz")
            self.assertEqual((status, body), (200, b"ok\n"))
            status, doc, _ = c.json("GET", "/readyz")
            self.assertEqual(status, 200)
            self.assertEqual(doc, {"status": "ready",
                                   "checks": {"directory": "ok", "store": "ok"}})
            status, _, body = c.request("HEAD", "/metrics")
            self.assertEqual((status, body), (200, b""))
            status, _, _ = c.request("POST", "/metrics", body=b"")
            self.assertEqual(status, 405)
        finally:
            c.close()

    def test_https_listener_serves_metrics_to_loopback_too(self):
        c = Http(self.m, listener="https")
        try:
            status, headers, body = c.request("GET", "/metrics")
        finally:
            c.close()
        self.assertEqual(status, 200)
        parse_metrics(body.decode())


if __name__ == "__main__":
    unittest.main()
