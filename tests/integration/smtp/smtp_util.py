"""Helpers shared by the SMTP integration tests (raw socket client, mailbox read-back)."""
import os
import re
import socket
import ssl
import tempfile
import time

REPLY_RE = re.compile(rb"^(\d{3})([ -])(.*)$")
ENHANCED_RE = re.compile(rb"^[245]\.\d{1,3}\.\d{1,3} ")


class Raw:
    """A line-level SMTP client that lets tests send anything, including malformed input."""

    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_reply(self):
        """Returns (code, [lines]) of one (possibly multi-line) reply; code 0 on EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return 0, lines
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            m = REPLY_RE.match(line)
            if not m:
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(m.group(3))
            if m.group(2) == b" ":
                return int(m.group(1)), lines

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply()

    def starttls(self, context):
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_for(predicate, timeout=30, interval=0.05):
    """Polls `predicate` until it returns a true value or `timeout` seconds pass; returns its
    last value."""
    deadline = time.time() + timeout
    value = predicate()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def session_of(m, sock, listener="smtp"):
    """The server's session id of the connection behind `sock`, read from mailroomd's
    event=connection.open line (matched by the client's port)."""
    port = sock.getsockname()[1]
    pattern = re.compile(rf"event=connection\.open session=(\S+) listener={listener} "
                         rf"protocol=\S+ ip=\S+ port={port}\b")
    match = wait_for(lambda: pattern.search(m.log()))
    if not match:
        raise AssertionError(f"no event=connection.open for client port {port}")
    return match.group(1)


def wait_session_closed(m, session):
    """Waits for the server to finish the session (event=connection.close); returns the log."""
    closed = wait_for(lambda: f"event=connection.close session={session} " in m.log())
    if not closed:
        raise AssertionError(f"session {session} did not end")
    return m.log()


def mailbox_count(m, user, mailbox="INBOX"):
    out = m.ctl("mailbox", "list", user)
    for b in out["mailboxes"]:
        if b["name"].upper() == mailbox.upper():
            return b["messages"]
    return 0


def wait_count(m, user, want, timeout=30):
    deadline = time.time() + timeout
    n = mailbox_count(m, user)
    while n < want and time.time() < deadline:
        time.sleep(0.1)
        n = mailbox_count(m, user)
    return n


def export_mbox(m, user, mailbox="INBOX"):
    fd, path = tempfile.mkstemp(suffix=".mbox")
    os.close(fd)
    try:
        m.ctl("export", "mbox", user, mailbox, "--out", path, json_output=False)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def tls_client_context(m):
    ctx = ssl.create_default_context(cafile=m.ca)
    return ctx
