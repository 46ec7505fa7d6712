"""A raw IMAP client for tests: exact wire lines, literals in responses kept inline."""
import re
import socket
import ssl

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
