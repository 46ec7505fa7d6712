"""A raw IMAP client for tests: exact wire lines, literals in responses kept inline."""
import re
import socket
import ssl
import unittest
import warnings

LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


class Wire:
    def __init__(self, port, host="127.0.0.1", timeout=20, tls_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.n = 0
        self.greeting = self.read_response_line()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response_line(self):
        """One response with its literals inline (CRLF of the last line removed)."""
        out = b""
        while True:
            line = self.read_line()
            out += line
            m = LITERAL.search(line)
            if not m:
                return out[:-2]
            out += self.read_exact(int(m.group(1)))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def tag(self):
        self.n += 1
        return "T%d" % self.n

    def cmd(self, text, tag=None):
        """Sends `text` with a new tag; returns (untagged list, tagged line) as bytes."""
        tag = tag or self.tag()
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        t = tag.encode() + b" "
        while True:
            line = self.read_response_line()
            if line.startswith(t):
                return untagged, line
            untagged.append(line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Driver:
    """tests/integration/imap/imap_driver: the IMAP session on the real store with fixed
    passwords (alice/wonderland, bob/builder), for MAILROOM_IMAP_DRIVER=1 runs."""

    def __init__(self):
        import os
        import tempfile
        from harness import make_tls
        self.base = tempfile.mkdtemp(prefix="imap-driver-")
        self.ca, self.cert, self.key = make_tls(os.path.join(self.base, "tls"))
        self.log_path = os.path.join(self.base, "driver.log")
        self.logf = open(self.log_path, "wb")
        self._spawn()

    def _spawn(self):
        import json
        import os
        import subprocess
        from harness import bin_dir
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir(), "imap_driver"), self.base, self.cert, self.key],
            stdout=subprocess.PIPE, stderr=self.logf)
        self.ports = json.loads(self.proc.stdout.readline())

    def restart(self):
        """Stops the driver and starts it again on the same data directory."""
        self.proc.terminate()
        self.proc.wait(10)
        self._spawn()
        return self

    def seed_demo(self):
        pass

    def start(self):
        return self

    def port(self, name):
        return self.ports[name]

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        import shutil
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
        log = self.log()
        shutil.rmtree(self.base, ignore_errors=True)
        # Sanitizer reports (ASan/UBSan builds) fail the test class.
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in log:
                raise AssertionError("imap_driver reported a sanitizer error:\n" + log[-6000:])


def make_server(extra_config=""):
    """A Mailroom (the real mailroomd) unless MAILROOM_IMAP_DRIVER=1 (which takes no
    extra_config)."""
    import os
    if os.environ.get("MAILROOM_IMAP_DRIVER") == "1":
        return Driver()
    from harness import Mailroom
    return Mailroom(extra_config=extra_config)


class ServerCase(unittest.TestCase):
    """One server (make_server) for all the tests of a class; cls.port is its listener
    `port_name` ("imap", or "imaps" for implicit TLS)."""
    port_name = "imap"
    extra_config = ""  # appended to mailroomd's configuration

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.m = make_server(cls.extra_config)
        cls.m.seed_demo()
        cls.m.start()
        cls.port = cls.m.port(cls.port_name)

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "m"):
            cls.m.close()
