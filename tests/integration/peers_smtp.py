"""ScriptedSmtpPeer: an aiosmtpd SMTP server in a thread of the test, for what Postfix cannot
easily show (see peers.py): chosen EHLO keywords, AUTH, replies scripted per attempt, a record
of every transaction."""
import atexit
import os
import re
import shutil
import ssl
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword, Session

from peers_common import Peer, free_port, register, tls_files, unregister

DEFAULT_EXTENSIONS = ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "DSN",
                      "ENHANCEDSTATUSCODES")
# MAIL/RCPT parameters and the extension that defines each (RFC 1870, 6152, 6531, 3461,
# 4954, 8689). A parameter of an extension not advertised gets 555 (RFC 5321 4.1.1.11).
MAIL_PARAMS = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8", "RET": "DSN",
               "ENVID": "DSN", "AUTH": "AUTH", "REQUIRETLS": "REQUIRETLS"}
RCPT_PARAMS = {"NOTIFY": "DSN", "ORCPT": "DSN"}


class Rcpt:
    def __init__(self, address, params, reply):
        self.address, self.params, self.reply = address, params, reply

    @property
    def accepted(self):
        return self.reply.startswith("2")

    def __repr__(self):
        return f"Rcpt({self.address!r}, {self.params!r}, {self.reply!r})"


class Transaction:
    """One MAIL FROM of a session and what followed it. `tls` is the TLS version in use
    ("TLSv1.3") or None; `auth_user` the AUTH login or None; `data` the message as received
    (dot-unstuffed, CRLF) or None if DATA never completed; replies are what the peer sent."""

    def __init__(self, helo, tls, auth_user, peer_address, mail_from, mail_params):
        self.helo, self.tls, self.auth_user = helo, tls, auth_user
        self.peer_address = peer_address
        self.mail_from, self.mail_params = mail_from, mail_params
        self.mail_reply = None
        self.rcpts = []
        self.data = None
        self.data_reply = None

    @property
    def accepted_rcpts(self):
        return [r.address for r in self.rcpts if r.accepted]

    @property
    def delivered(self):
        return self.data_reply is not None and self.data_reply.startswith("2")

    def __repr__(self):
        return (f"Transaction(from={self.mail_from!r} {self.mail_params} {self.mail_reply!r}, "
                f"rcpts={self.rcpts}, "
                f"data={len(self.data) if self.data is not None else None} bytes, "
                f"data_reply={self.data_reply!r}, tls={self.tls}, auth={self.auth_user})")


def _params(text):
    """ESMTP parameters as {KEYWORD: value or True}, values as sent; None if malformed."""
    out = {}
    for item in text.split():
        key, eq, value = item.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", key) or (eq and not value):
            return None
        out[key.upper()] = value if eq else True
    return out


class _Session(Session):
    """aiosmtpd's own AUTH code sets login_data, which logs a deprecation warning each time."""

    @property
    def login_data(self):
        return self._login_data

    @login_data.setter
    def login_data(self, value):
        self._login_data = value


class _ScriptedSMTP(SMTP):
    """aiosmtpd's session with MAIL and RCPT of our own: any parameter of an advertised
    extension is accepted and kept as sent (aiosmtpd upper-cases them and refuses most), the
    null sender is accepted, and every reply may come from the script."""

    def __init__(self, peer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.peer = peer
        self.txn = None
        self.greeted = False

    def _create_session(self):
        return _Session(self.loop)

    async def push(self, status):
        if isinstance(status, bytes):  # an AUTH challenge
            return await super().push(status)
        if not self.greeted:  # the first push is the greeting
            self.greeted = True
            status = self.peer._next_reply("greeting", None) or status
        if status == "DISCONNECT":
            self.transport.close()
            return
        await super().push(status)
        if status.startswith("421") and self.transport is not None:
            self.transport.close()

    def _tls_version(self):
        if self.session.ssl:
            return self.session.ssl["ssl_object"].version()
        return None

    def _auth_user(self):
        data = self.session.auth_data
        return data.login.decode("utf-8", "replace") if isinstance(data, LoginPassword) else None

    async def smtp_EHLO(self, hostname):
        self.txn = None
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self.txn = None
        await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg):
        self.txn = None  # RFC 3207 4.2: the client starts over
        await super().smtp_STARTTLS(arg)

    async def smtp_RSET(self, arg):
        self.txn = None
        await super().smtp_RSET(arg)

    async def smtp_MAIL(self, arg):
        if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
            return
        if self.txn is not None:
            return await self.push("503 5.5.1 Error: nested MAIL command")
        m = re.fullmatch(r"(?is)FROM:\s*<([^<>]*)>(.*)", arg or "")
        params = _params(m.group(2)) if m else None
        if params is None or (params and not self.session.extended_smtp):
            return await self.push("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]")
        address = m.group(1)
        unknown = [k for k in params if MAIL_PARAMS.get(k) not in self.peer.advertised(self)]
        txn = Transaction(self.session.host_name, self._tls_version(), self._auth_user(),
                          self.session.peer, address, params)
        if unknown:
            reply = f"555 5.5.4 Unsupported parameter {unknown[0]}"
        elif "SIZE" in params and (not str(params["SIZE"]).isdigit() or
                                   int(params["SIZE"]) > self.peer.size_limit):
            reply = "552 5.3.4 Message size exceeds fixed limit"
        else:
            reply = self.peer._next_reply("mail", None, address, params) or "250 2.1.0 OK"
        txn.mail_reply = reply
        self.peer._record(txn)
        if reply.startswith("2"):
            self.txn = txn
            self.envelope.mail_from = address
        await self.push(reply)

    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
            return
        if self.txn is None:
            return await self.push("503 5.5.1 Error: need MAIL command")
        m = re.fullmatch(r"(?is)TO:\s*<([^<>]+)>(.*)", arg or "")
        params = _params(m.group(2)) if m else None
        if params is None or (params and not self.session.extended_smtp):
            return await self.push("501 5.5.4 Syntax: RCPT TO:<address> [parameters]")
        address = m.group(1)
        unknown = [k for k in params if RCPT_PARAMS.get(k) not in self.peer.advertised(self)]
        attempt = self.peer._count_rcpt(address)
        if unknown:
            reply = f"555 5.5.4 Unsupported parameter {unknown[0]}"
        else:
            reply = self.peer._rcpt_reply(address, params, attempt) or "250 2.1.5 OK"
        with self.peer._cond:
            self.txn.rcpts.append(Rcpt(address, params, reply))
        if reply.startswith("2"):
            self.envelope.rcpt_tos.append(address)
        await self.push(reply)


class _Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        lines = [f"250-{server.hostname}"]
        for ext in self.peer.advertised(server):
            if ext == "SIZE":
                lines.append(f"250-SIZE {self.peer.size_limit}")
            elif ext == "AUTH":
                lines.append("250-AUTH LOGIN PLAIN")
            else:
                lines.append(f"250-{ext}")
        lines[-1] = "250 " + lines[-1][4:]
        return lines

    async def handle_DATA(self, server, session, envelope):
        txn, server.txn = server.txn, None
        if txn is None:  # cannot happen: aiosmtpd needs an accepted RCPT first
            return "503 5.5.1 Error: no transaction"
        data = envelope.original_content
        reply = self.peer._next_reply("data", None, txn, data) or \
            f"250 2.0.0 OK queued as {len(self.peer.transactions)}"
        with self.peer._cond:
            txn.data, txn.data_reply = data, reply
            self.peer._cond.notify_all()
        return reply


class _Controller(Controller):
    def __init__(self, peer, **kwargs):
        self.peer = peer
        super().__init__(_Handler(peer), **kwargs)

    def factory(self):
        return _ScriptedSMTP(self.peer, self.handler, **self.SMTP_kwargs)


class ScriptedSmtpPeer(Peer):
    """An SMTP server (aiosmtpd, in a thread of this process) whose every answer a test
    chooses. `script` maps a command to its replies:

        {"rcpt": {"x@b.test": ["451 4.3.0 try later"]},  # 1st RCPT of x@: 451, then default
         "mail": ["452 4.3.1 full", None],                # Nth MAIL of the peer's life
         "data": lambda txn, data: "554 5.6.0 no",        # or a function returning a reply
         "greeting": ["421 4.3.2 busy"]}                  # per connection

    A list gives the reply to the 1st, 2nd, ... such command (per address for "rcpt"); None,
    a list run out, or a function returning None means the default (accept). A reply starting
    421 closes the connection after it is sent; "DISCONNECT" closes it without a reply.
    Functions: rcpt(address, params, attempt), mail(address, params), data(txn, data),
    greeting(); attempt counts from 1, all connections together.

    extensions: what EHLO advertises besides STARTTLS (with `tls`, before it is active) and
    AUTH (with `users`, after TLS unless `auth_require_tls` is False). `drop` takes names out
    of either, e.g. drop=("PIPELINING", "8BITMIME"). users={"relay": "secret"} makes AUTH
    PLAIN/LOGIN required before MAIL.
    """

    def __init__(self, port=None, script=None, host="127.0.0.1", hostname="mx.scripted.test",
                 extensions=DEFAULT_EXTENSIONS, drop=(), tls=True, require_tls=False,
                 users=None, auth_require_tls=True, size_limit=10 * 1024 * 1024,
                 tls_names=None):
        self.host, self.port = host, port
        self.script = dict(script or {})
        self.hostname = hostname
        self.extensions = [e.upper() for e in extensions]
        self.drop = {d.upper() for d in drop}
        self.tls, self.require_tls = tls, require_tls
        self.users = dict(users) if users else None
        self.auth_require_tls = auth_require_tls
        self.size_limit = size_limit
        self.tls_names = tls_names
        self.base = tempfile.mkdtemp(prefix="mr-smtppeer-")
        # stop() may be followed by start(): the files go when the test process ends.
        atexit.register(shutil.rmtree, self.base, True)
        self.transactions = []
        self.connections = 0
        self._counts = {}
        self._rcpt_attempts = {}
        self._cond = threading.Condition()
        self._ready = False
        self.controller = None

    def __repr__(self):
        return f"ScriptedSmtpPeer({self.host}:{self.port})"

    # --- what a session sees ---
    def advertised(self, server):
        """EHLO keywords for this session, in order."""
        out = [e for e in self.extensions if e not in ("STARTTLS", "AUTH")]
        tls_active = server.session.ssl is not None
        if self.tls and not tls_active:
            out.append("STARTTLS")
        if self.users and (tls_active or not self.auth_require_tls):
            out.append("AUTH")
        return [e for e in out if e not in self.drop]

    def _next_reply(self, what, default, *args):
        entry = self.script.get(what)
        if what == "greeting" and not self._ready:
            return None  # the controller's own readiness probe
        with self._cond:
            n = self._counts[what] = self._counts.get(what, 0) + 1
            if what == "greeting":
                self.connections += 1
        if callable(entry):
            return entry(*args) or default
        if entry and n <= len(entry):
            return entry[n - 1] or default
        return default

    def _count_rcpt(self, address):
        with self._cond:
            key = address.lower()
            self._rcpt_attempts[key] = self._rcpt_attempts.get(key, 0) + 1
            return self._rcpt_attempts[key]

    def _rcpt_reply(self, address, params, attempt):
        entry = self.script.get("rcpt")
        if callable(entry):
            return entry(address, params, attempt)
        replies = {k.lower(): v for k, v in (entry or {}).items()}.get(address.lower())
        if callable(replies):
            return replies(address, params, attempt)
        if replies and attempt <= len(replies):
            return replies[attempt - 1]
        return None

    def _record(self, txn):
        with self._cond:
            self.transactions.append(txn)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and self.users is not None and \
            self.users.get(auth_data.login.decode("utf-8", "replace")) == \
            auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    # --- process ---
    def start(self):
        kwargs = dict(hostname=self.host, server_hostname=self.hostname,
                      data_size_limit=self.size_limit, decode_data=False,
                      enable_SMTPUTF8="SMTPUTF8" in self.extensions and
                      "SMTPUTF8" not in self.drop,
                      ready_timeout=10)
        if self.tls:
            self.ca, self.cert, self.key = tls_files(os.path.join(self.base, "tls"),
                                                     self.tls_names)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert, self.key)
            kwargs.update(tls_context=ctx, require_starttls=self.require_tls)
        if self.users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.auth_require_tls)
        fixed = self.port is not None
        for _ in range(5):
            if not fixed:
                self.port = free_port((self.host,))
            self.controller = _Controller(self, port=self.port, **kwargs)
            try:
                self.controller.start()
                break
            except OSError:
                self.controller = None
                if fixed:
                    raise
        else:
            raise RuntimeError(f"{self!r}: no free port after 5 tries")
        self._ready = True
        register(self)
        return self

    def stop(self):
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.stop()
        unregister(self)

    # --- what arrived ---
    def delivered(self):
        """Transactions whose DATA got a 2xx reply, in order."""
        with self._cond:
            return [t for t in self.transactions if t.delivered]

    def messages(self, address=None):
        return [t.data for t in self.delivered()
                if address is None or address.lower() in map(str.lower, t.accepted_rcpts)]

    def rcpt_attempts(self, address):
        with self._cond:
            return self._rcpt_attempts.get(address.lower(), 0)

    def wait_for(self, count, address=None, timeout=30):
        """Waits until `count` messages (for `address`) were accepted; returns them."""
        deadline = time.time() + timeout
        with self._cond:
            while True:
                got = self.messages(address)
                if len(got) >= count:
                    return got
                if time.time() > deadline:
                    raise AssertionError(f"{self!r}: {len(got)} of {count} messages after "
                                         f"{timeout} s; transactions: {self.transactions}")
                self._cond.wait(min(0.5, max(0.01, deadline - time.time())))
