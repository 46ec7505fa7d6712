"""A mailroomd with HTTP listeners (plain "http" and HTTPS "https") and small HTTP helpers
for the admin API, SCIM, metrics and autoconfiguration tests (issue 17)."""
import http.client
import json
import re
import socket
import ssl

from harness import DEFAULT_LISTENERS, Mailroom

API_LISTENERS = dict(DEFAULT_LISTENERS, http=("http", "none"), https=("http", "implicit"))


def api_server(extra_config="", seed=False, **kwargs):
    """Starts mailroomd with the HTTP listeners (seeded with the demo directory when asked:
    example.com, alice/wonderland, bob/builder, staff@, info@); the caller closes it."""
    m = Mailroom(listeners=API_LISTENERS, extra_config=extra_config, **kwargs)
    if seed:
        m.seed_demo()
    m.start()
    return m


def admin_token(m, name="test-admin", role="global_admin", domains=()):
    """Creates an API token with mailroomctl and returns its secret."""
    args = ["api-token", "create", name, "--role", role]
    for d in domains:
        args += ["--domain", d]
    out = m.ctl(*args)
    return out["token"]


class Http:
    """One keep-alive connection to a listener; request() returns (status, headers, body)."""

    def __init__(self, m, listener="http", timeout=30):
        port = m.port(listener)
        if listener == "https":
            self.conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                                    context=m.ssl_context())
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None, content_type=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            h["Content-Type"] = content_type or "application/json"
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, raw

    def json(self, method, path, body=None, token=None, **kw):
        status, headers, raw = self.request(method, path, body=body, token=token, **kw)
        doc = json.loads(raw) if raw and "json" in headers.get("content-type", "") else None
        return status, doc, headers

    def close(self):
        self.conn.close()


def raw_exchange(port, data, timeout=10, read_all=True):
    """Sends raw bytes and returns everything the server sends until it closes (or the
    timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def statuses(raw):
    """The status codes of every response in a raw byte stream, in order."""
    # A response follows the previous body directly, so status lines are not always at the
    # start of a line; no body these tests get contains the pattern.
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
