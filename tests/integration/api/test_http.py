"""The HTTP server itself (RFC 9112) on a real mailroomd: keep-alive, HTTPS, limits, strict
parsing against request smuggling, slow clients, routing errors. Issue 17."""
import json
import socket
import time
import unittest

from api_common import Http, api_server, raw_exchange, statuses


class HttpServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = api_server(extra_config="\n".join([
            "[http]",
            'max_body_size = "4K"',
            "request_timeout = 2",
            "max_requests_per_connection = 3",
        ]))

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def port(self):
        return self.m.port("http")

    def test_openapi_document_over_keep_alive(self):
        c = Http(self.m)
        try:
            for _ in range(2):  # the same connection answers twice
                status, doc, headers = c.json("GET", "/api/v1/openapi.json")
                self.assertEqual(status, 200)
                self.assertEqual(doc["openapi"], "3.1.0")
                self.assertIn("/api/v1/users/{user}", doc["paths"])
                self.assertIn("delete", doc["paths"]["/api/v1/users/{user}"])
                self.assertNotIn("connection", headers)
        finally:
            c.close()

    def test_https_listener(self):
        c = Http(self.m, "https")
        try:
            status, doc, _ = c.json("GET", "/api/v1/openapi.json")
            self.assertEqual(status, 200)
            self.assertEqual(doc["info"]["title"], "Mailroom admin API")
        finally:
            c.close()

    def test_unauthenticated_api_call_is_401_with_a_bearer_challenge(self):
        c = Http(self.m)
        try:
            status, doc, headers = c.json("GET", "/api/v1/users")
            self.assertEqual(status, 401)
            self.assertTrue(headers["www-authenticate"].startswith("Bearer"))
            self.assertEqual(headers["content-type"], "application/problem+json")
            self.assertEqual(doc["status"], 401)
        finally:
            c.close()

    def test_routing_errors(self):
        c = Http(self.m)
        try:
            status, doc, _ = c.json("GET", "/nope")
            self.assertEqual(status, 404)
            self.assertEqual(doc["title"], "Not Found")
            status, _, headers = c.json("DELETE", "/api/v1/openapi.json")
            self.assertEqual(status, 405)
            self.assertIn("GET", headers["allow"])
            status, headers, _ = c.request("OPTIONS", "/api/v1/users")
            self.assertEqual(status, 204)
            self.assertIn("POST", headers["allow"])
            status, _, _ = c.request("GET", "/api/v1/users/%zz")
            self.assertEqual(status, 400)
            status, headers, _ = c.request("HEAD", "/api/v1/openapi.json")
            self.assertEqual(status, 200)
            self.assertGreater(int(headers["content-length"]), 100)
        finally:
            c.close()

    def test_max_requests_per_connection_then_close(self):
        req = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
        raw = raw_exchange(self.port(), req * 5)
        self.assertEqual(statuses(raw), [200, 200, 200])
        self.assertIn(b"Connection: close", raw)

    def test_pipelined_requests_answered_in_order(self):
        raw = raw_exchange(self.port(), b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(statuses(raw), [404, 200])

    def test_content_length_and_transfer_encoding_together_is_refused(self):
        # The classic CL.TE smuggling shape: refused, connection closed, the smuggled request
        # never answered.
        smuggle = (b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                   b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = raw_exchange(self.port(), smuggle)
        self.assertEqual(statuses(raw), [400])
        self.assertIn(b"Connection: close", raw)

    def test_transfer_codings_other_than_chunked(self):
        for te, want in ((b"gzip, chunked", 501), (b"identity", 400), (b"chunked, gzip", 400)):
            raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                               + te + b"\r\n\r\n0\r\n\r\n")
            self.assertEqual(statuses(raw), [want], te)

    def test_duplicate_content_length(self):
        raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                           b"Content-Length: 2\r\n\r\nab")
        self.assertEqual(statuses(raw), [400])
        raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na")
        self.assertEqual(statuses(raw), [400])

    def test_chunked_body_is_read_whole_and_the_connection_stays_in_step(self):
        body = b'{"address":"x@example.com"}'
        chunked = b"%x;ext=1\r\n%s\r\n0\r\nTrailer: t\r\n\r\n" % (len(body), body)
        raw = raw_exchange(self.port(), b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                           + chunked + b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n"
                           b"Connection: close\r\n\r\n")
        self.assertEqual(statuses(raw), [401, 200])

    def test_malformed_chunks(self):
        for chunks in (b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabc\r\n0\r\n\r\n", b"2\nab\r\n0\r\n\r\n",
                       b"fffffffffff\r\n"):
            raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
            self.assertIn(statuses(raw), ([400], [413]), chunks)

    def test_header_syntax_that_proxies_read_differently_is_refused(self):
        for head in (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",         # space before the colon
                     b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",  # obs-fold
                     b"GET / HTTP/1.1\nHost: x\n\n",                 # bare LF
                     b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",   # control character
                     b"GET / HTTP/1.1\r\n\r\n",                      # no Host
                     b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  # two Hosts
                     b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",          # two spaces
                     b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET x HTTP/1.1\r\nHost: x\r\n\r\n"):
            raw = raw_exchange(self.port(), head)
            self.assertEqual(statuses(raw), [400], head)

    def test_versions(self):
        raw = raw_exchange(self.port(), b"GET /api/v1/openapi.json HTTP/2.0\r\nHost: x\r\n\r\n")
        self.assertEqual(statuses(raw), [505])
        # HTTP/1.0 without keep-alive: one answer, then close (no Host needed).
        raw = raw_exchange(self.port(), b"GET /api/v1/openapi.json HTTP/1.0\r\n\r\n" * 2)
        self.assertEqual(statuses(raw), [200])
        # absolute-form is read for its path (RFC 9112 3.2.2).
        raw = raw_exchange(self.port(), b"GET http://h/api/v1/openapi.json HTTP/1.1\r\nHost: h\r\n"
                           b"Connection: close\r\n\r\n")
        self.assertEqual(statuses(raw), [200])

    def test_limits(self):
        # request line, one field, all fields, body.
        raw = raw_exchange(self.port(), b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(statuses(raw), [414])
        raw = raw_exchange(self.port(), b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertEqual(statuses(raw), [431])
        many = b"".join(b"X-%d: y\r\n" % i for i in range(150))
        raw = raw_exchange(self.port(), b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        self.assertEqual(statuses(raw), [431])
        raw = raw_exchange(self.port(), b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: 5000\r\n\r\n" + b"a" * 5000)
        self.assertEqual(statuses(raw), [413])
        big = b"a" * 3000
        raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                           b"\r\n\r\n" + (b"bb8\r\n" + big + b"\r\n") * 2 + b"0\r\n\r\n")
        self.assertEqual(statuses(raw), [413])

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.port()), timeout=10)
        try:
            s.sendall(b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            first = s.recv(100)
            self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first)
            s.sendall(b"{}")
            rest = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                rest += b
            self.assertEqual(statuses(first + rest), [100, 401])
        finally:
            s.close()
        # An oversized body is refused before the client sends it.
        raw = raw_exchange(self.port(), b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n"
                           b"Expect: 100-continue\r\n\r\n")
        self.assertEqual(statuses(raw), [413])

    def test_slow_client_gets_408_and_is_closed(self):
        # request_timeout = 2: fields trickled one per second never complete a request.
        s = socket.create_connection(("127.0.0.1", self.port()), timeout=20)
        got = b""
        try:
            s.sendall(b"GET /api/v1/openapi.json HTTP/1.1\r\n")
            for i in range(8):
                try:
                    s.sendall(b"X-%d: y\r\n" % i)
                except OSError:
                    break
                time.sleep(1)
            while True:
                try:
                    b = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not b:
                    break
                got += b
        finally:
            s.close()
        self.assertEqual(statuses(got), [408])

    def test_server_still_serves_after_the_abuse(self):
        c = Http(self.m)
        try:
            self.assertEqual(c.request("GET", "/api/v1/openapi.json")[0], 200)
        finally:
            c.close()
        self.assertIn("event=http.request", self.m.log())


if __name__ == "__main__":
    unittest.main()
