"""HTTPS requests the web client's and JMAP's integration tests make of a running mailroomd
(tests/integration/webmail, tests/integration/jmap), written once: one request, the web
sign-in and its session (cookie + CSRF token), a JMAP call, and a small JMAP client with
Basic or Bearer authentication and blob upload. `m` is a harness.Mailroom with an "https"
listener."""
import base64
import http.client
import json

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
# What a browser sends with a same-origin request to the test server.
SAME_ORIGIN = {"Origin": "https://127.0.0.1", "Sec-Fetch-Site": "same-origin", "Host": "127.0.0.1"}


def https(m):
    return http.client.HTTPSConnection("127.0.0.1", m.port("https"), timeout=30,
                                       context=m.ssl_context())


def request(m, method, path, body=None, headers=None):
    """One request on its own connection: (status, headers with lower-case names, body)."""
    c = https(m)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def basic_auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def login(m, user, password, headers=SAME_ORIGIN):
    """POST /webmail/login with a JSON password credential: the raw (status, headers, body)."""
    return request(m, "POST", "/webmail/login", json.dumps({"username": user, "password": password}),
                   dict(headers, **{"Content-Type": "application/json"}))


def web_session(m, user, password):
    """A web session: (cookie "name=value", CSRF token)."""
    status, headers, data = login(m, user, password)
    if status != 200:
        raise AssertionError(f"login {user}: {status} {data!r}")
    return headers["set-cookie"].split(";")[0], json.loads(data)["csrf"]


def session_headers(cookie, csrf):
    """What the web client sends with a JMAP call of its session."""
    return dict(SAME_ORIGIN, **{"Cookie": cookie, "X-Mailroom-CSRF": csrf})


def jmap_call(m, method_calls, headers, using=(CORE, MAIL)):
    """POST /jmap/api with the raw method calls ([name, args, tag] lists) and `headers` (the
    credentials); its methodResponses."""
    status, _, data = request(m, "POST", "/jmap/api",
                              json.dumps({"using": list(using), "methodCalls": method_calls}),
                              dict(headers, **{"Content-Type": "application/json"}))
    if status != 200:
        raise AssertionError(f"api: {status} {data!r}")
    return json.loads(data)["methodResponses"]


class Jmap:
    """A minimal JMAP client: one HTTPS connection, Basic (or Bearer) authentication."""

    def __init__(self, m, user="alice@example.com", password="wonderland", token=None):
        self.conn = https(m)
        self.auth = basic_auth(user, password) if token is None else "Bearer " + token
        self.account = None

    def raw(self, method, path, body=None, content_type="application/json", auth=True):
        headers = {}
        if auth:
            headers["Authorization"] = self.auth
        if body is not None:
            headers["Content-Type"] = content_type
            if isinstance(body, str):
                body = body.encode()
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        headers = {}
        for k, v in r.getheaders():  # repeated fields joined (RFC 9110 5.3)
            headers[k.lower()] = headers[k.lower()] + ", " + v if k.lower() in headers else v
        return r.status, headers, data

    def session(self):
        status, headers, data = self.raw("GET", "/.well-known/jmap")
        if status != 200:
            raise AssertionError(f"session: {status} {data!r}")
        s = json.loads(data)
        self.account = s["primaryAccounts"][MAIL]
        return s

    def call(self, *calls, using=(CORE, MAIL)):
        """calls: (name, args) pairs; accountId is added. Returns the methodResponses."""
        if self.account is None:
            self.session()
        method_calls = []
        for i, (name, args) in enumerate(calls):
            a = dict(args)
            if name != "Core/echo":
                a.setdefault("accountId", self.account)
            method_calls.append([name, a, str(i)])
        status, _, data = self.raw("POST", "/jmap/api",
                                   json.dumps({"using": list(using), "methodCalls": method_calls}))
        if status != 200:
            raise AssertionError(f"api: {status} {data!r}")
        return json.loads(data)["methodResponses"]

    def one(self, name, args):
        r = self.call((name, args))[0]
        if r[0] != name:
            raise AssertionError(f"{name}: {r}")
        return r[1]

    def upload(self, data, content_type="message/rfc822"):
        """RFC 8620 6.1: the blob's id."""
        if self.account is None:
            self.session()
        status, _, body = self.raw("POST", f"/jmap/upload/{self.account}", data, content_type)
        if status != 201:
            raise AssertionError(f"upload: {status} {body!r}")
        return json.loads(body)["blobId"]

    def close(self):
        self.conn.close()
