"""A TLS client that decides where TLS records and TCP segments fall (issue 24).

Python's ssl.SSLObject over memory BIOs produces one TLS record per write(); nothing is sent
until flush(), so a test can put the handshake's Finished and the first commands, or several
pipelined commands, into a single TCP segment, as Thunderbird and iOS Mail do. A server that
waits on the socket for bytes its TLS layer already holds never answers the later commands.
"""
import socket
import ssl


class RecordClient:
    def __init__(self, sock, context, server_hostname="localhost"):
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=False,
                                    server_hostname=server_hostname)
        self.plain = b""

    @classmethod
    def connect(cls, port, context, timeout=20):
        # The timeout is a liveness bound (a stalled server never answers), not a speed test.
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, context)

    # --- before TLS (STARTTLS / STLS) ---
    def raw_line(self):
        out = b""
        while not out.endswith(b"\n"):
            c = self.sock.recv(1)
            if not c:
                break
            out += c
        return out

    def raw_send(self, data):
        self.sock.sendall(data)

    # --- TLS ---
    def handshake(self, hold_finished=True):
        """Completes the handshake; with hold_finished the client's last flight stays queued
        so that it travels with the next records."""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self._receive()
        if not hold_finished:
            self.flush()

    def record(self, data):
        """Encrypts data as one TLS record, queued until flush()."""
        if isinstance(data, str):
            data = data.encode()
        self.obj.write(data)

    def flush(self):
        pending = self.outgoing.read()
        if pending:
            self.sock.sendall(pending)

    def send_together(self, *commands):
        """One TLS record per command, all in one TCP segment."""
        for c in commands:
            self.record(c)
        self.flush()

    def readline(self):
        while b"\n" not in self.plain:
            try:
                chunk = self.obj.read(65536)
                if not chunk:
                    raise EOFError("TLS connection closed")
                self.plain += chunk
            except ssl.SSLWantReadError:
                self.flush()
                self._receive()
        line, _, self.plain = self.plain.partition(b"\n")
        return line + b"\n"

    def read_until(self, predicate, limit=1000):
        """Lines up to and including the first for which predicate(line) is true."""
        lines = []
        for _ in range(limit):
            line = self.readline()
            lines.append(line)
            if predicate(line):
                return lines
        raise AssertionError("no matching line in %d lines" % limit)

    def _receive(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by server")
        self.incoming.write(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
