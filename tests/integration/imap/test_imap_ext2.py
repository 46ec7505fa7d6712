"""More of issue 20's IMAP extensions against a real mailroomd over TLS (port imaps), on the
wire (imapwire.Wire; imaplib knows neither literal8 nor COMPRESS): BINARY (RFC 3516),
COMPRESS=DEFLATE (RFC 4978, zlib's raw deflate over the TLS socket), UTF8=ACCEPT (RFC 6855).
One server for the module's tests."""
import os
import re
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402

MULTIPART = (b"From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\nAGhlbGxvAHdvcmxk\r\n"
             b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n"
             b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
             b"begin 644 x\r\n--b--\r\n")


class DeflateWire(Wire):
    """Wire after COMPRESS DEFLATE: raw deflate (wbits -15) both ways, a sync flush per send."""

    def start_deflate(self):
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decomp = zlib.decompressobj(-15)
        # Anything already read past the OK was compressed by the server.
        raw, self.buf = self.buf, b""
        self.buf = self.decomp.decompress(raw)

    def _fill(self):
        if not hasattr(self, "decomp"):
            return Wire._fill(self)
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            out = self.decomp.decompress(data)
            if out:
                self.buf += out
                return

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if hasattr(self, "comp"):
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)


def literal8(data, sync=False):
    return b"~{%d%s}\r\n" % (len(data), b"" if sync else b"+") + data


class Ext2(ServerCase):
    port_name = "imaps"

    def wire(self, mailbox=None, cls=Wire):
        w = cls(self.port, tls_context=self.m.ssl_context())
        self.addCleanup(w.close)
        _, tagged = w.cmd("LOGIN alice@example.com wonderland")
        self.assertIn(b"OK", tagged)
        if mailbox:
            w.cmd("DELETE " + mailbox)
            _, tagged = w.cmd("CREATE " + mailbox)
            self.assertIn(b"OK", tagged)
        return w

    def test_binary(self):
        w = self.wire("Bin")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" BINARY", untagged[0])
        # APPEND with a synchronizing literal8 holding NUL, then a non-synchronizing one.
        raw = b"Subject: raw\r\n\r\n\x00\x01\xff"
        w.send(b"A1 APPEND Bin ~{%d}\r\n" % len(raw))
        self.assertTrue(w.read_response_line().startswith(b"+ "))
        w.send(raw + b"\r\n")
        _, tagged = w.until("A1")
        self.assertRegex(tagged, rb"^A1 OK \[APPENDUID \d+ 1\]")
        _, tagged = w.cmd(b"APPEND Bin " + literal8(MULTIPART))
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 2\]")
        w.cmd("SELECT Bin")
        untagged, tagged = w.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
        self.assertIn(b"BINARY[1] ~{3}\r\n\x00\x01\xff BINARY.SIZE[1] 3)", untagged[0])
        untagged, tagged = w.cmd(
            "FETCH 2 (BINARY.PEEK[1] BINARY.PEEK[2]<0.4> BINARY.SIZE[2] BINARY.PEEK[9])")
        self.assertIn(b"BINARY[1] ~{12}\r\n\x00hello\x00world", untagged[0])
        self.assertIn(b"BINARY[2]<0> {4}\r\ncaf\xc3", untagged[0])
        self.assertIn(b"BINARY.SIZE[2] 13", untagged[0])
        self.assertIn(b"BINARY[9] NIL", untagged[0])
        # Unknown encoding: NO [UNKNOWN-CTE]; bad syntax: BAD; the session goes on.
        _, tagged = w.cmd("FETCH 2 BINARY.PEEK[3]")
        self.assertRegex(tagged, rb"^T\d+ NO \[UNKNOWN-CTE\]")
        _, tagged = w.cmd("FETCH 2 BINARY.SIZE[1]<0.1>")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        # BINARY sets \Seen (RFC 3516 4.2), seen by another session.
        w.cmd("FETCH 2 BINARY[2]")
        other = self.wire()
        other.cmd("EXAMINE Bin")
        untagged, _ = other.cmd("FETCH 1:2 FLAGS")
        self.assertNotIn(b"\\Seen", untagged[0])
        self.assertIn(b"\\Seen", untagged[1])
        _, tagged = w.cmd("NOOP")
        self.assertRegex(tagged, rb"^T\d+ OK")

    def test_compress_deflate(self):
        w = self.wire("Zip", cls=DeflateWire)
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" COMPRESS=DEFLATE", untagged[0])
        _, tagged = w.cmd("COMPRESS GZIP")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        _, tagged = w.cmd("COMPRESS DEFLATE")  # the OK in clear, then deflate both ways
        self.assertRegex(tagged, rb"^T\d+ OK ")
        w.start_deflate()
        _, tagged = w.cmd("COMPRESS DEFLATE")
        self.assertRegex(tagged, rb"^T\d+ NO \[COMPRESSIONACTIVE\]")
        # A large message up and down: literals through the layer both ways.
        body = b"".join(b"line %06d of a compressible message\r\n" % i for i in range(20000))
        msg = b"Subject: big\r\n\r\n" + body
        _, tagged = w.cmd(b"APPEND Zip {%d+}\r\n" % len(msg) + msg)
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 1\]")
        w.cmd("SELECT Zip")
        untagged, tagged = w.cmd("FETCH 1 BODY.PEEK[]")
        self.assertEqual(untagged[0], b"* 1 FETCH (BODY[] {%d}\r\n" % len(msg) + msg + b")")
        # IDLE: the continuation and another session's EXISTS arrive without more input
        # (each burst ends with a sync flush).
        w.send(b"I1 IDLE\r\n")
        self.assertTrue(w.read_response_line().startswith(b"+ "))
        other = self.wire()
        _, tagged = other.cmd(b"APPEND Zip {16+}\r\nSubject: two\r\n\r\n")
        self.assertIn(b"OK", tagged)
        self.assertEqual(w.read_response_line(), b"* 2 EXISTS")
        w.send(b"DONE\r\n")
        untagged, tagged = w.until("I1")
        self.assertRegex(tagged, rb"^I1 OK")
        # Bad syntax after the layer: BAD, the session goes on.
        _, tagged = w.cmd("FETCH 1 (FROB)")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        _, tagged = w.cmd("NOOP")
        self.assertRegex(tagged, rb"^T\d+ OK")

    def test_compress_bomb_meets_the_line_limit(self):
        w = self.wire(cls=DeflateWire)
        _, tagged = w.cmd("COMPRESS DEFLATE")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        w.start_deflate()
        # 64 MiB of one line in about 64 KiB: refused as a line too long, not held in memory.
        w.send(b"X1 NOOP " + b"A" * (64 << 20) + b"\r\n")
        line = w.read_response_line()
        self.assertRegex(line, rb"BAD .*(too long|Too long)")
        _, tagged = w.cmd("NOOP")
        self.assertRegex(tagged, rb"^T\d+ OK")

    def test_utf8_accept(self):
        w = self.wire()
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" UTF8=ACCEPT", untagged[0])
        w.cmd('DELETE "Gr&APw-n"')
        _, tagged = w.cmd('CREATE "Gr&APw-n"')  # modified UTF-7 before ENABLE
        self.assertIn(b"OK", tagged)
        untagged, tagged = w.cmd("ENABLE UTF8=ACCEPT")
        self.assertIn(b"* ENABLED UTF8=ACCEPT", untagged)
        untagged, _ = w.cmd('LIST "" "Gr*"')
        self.assertIn(b'* LIST (\\HasNoChildren) "/" "Gr\xc3\xbcn"', untagged)
        # An SMTPUTF8 message with 8-bit headers, appended as UTF8 (~{n}) and read back as is.
        msg = ("From: J\u00f6rg <j\u00f6rg@b\u00fccher.example>\r\nTo: alice@example.com\r\n"
               "Subject: \u2713 gr\u00fc\u00dfe\r\n\r\nhallo\r\n").encode()
        _, tagged = w.cmd(b'APPEND "Gr\xc3\xbcn" UTF8 (~{%d+}\r\n' % len(msg) + msg + b")")
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ 1\]")
        w.cmd(b'SELECT "Gr\xc3\xbcn"')
        untagged, _ = w.cmd("FETCH 1 BODY.PEEK[HEADER]")
        self.assertIn(msg[:msg.index(b"\r\n\r\n") + 4], untagged[0])
        untagged, _ = w.cmd(b'SEARCH SUBJECT "gr\xc3\xbc\xc3\x9fe"')
        self.assertIn(b"* SEARCH 1", untagged)
        _, tagged = w.cmd("SEARCH CHARSET UTF-8 ALL")  # RFC 6855 3: no CHARSET now
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        # Another session without ENABLE sees the name in modified UTF-7 and UTF8 refused.
        other = self.wire()
        untagged, _ = other.cmd('LIST "" "Gr*"')
        self.assertIn(b'* LIST (\\HasNoChildren) "/" "Gr&APw-n"', untagged)
        _, tagged = other.cmd(b'APPEND "Gr&APw-n" UTF8 (~{%d+}\r\n' % len(msg) + msg + b")")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        _, tagged = other.cmd("NOOP")
        self.assertRegex(tagged, rb"^T\d+ OK")


    def test_unauthenticate_keeps_tls_and_compress(self):
        # RFC 8437: back to not authenticated on the same TLS connection, COMPRESS still on;
        # another user logs in and sees none of the first user's state.
        w = self.wire("Unauth", cls=DeflateWire)
        msg = b"Subject: alice's\r\n\r\nbody\r\n"
        _, tagged = w.cmd(b"APPEND Unauth {%d+}\r\n" % len(msg) + msg)
        self.assertRegex(tagged, rb"OK \[APPENDUID ")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" UNAUTHENTICATE", untagged[0])
        _, tagged = w.cmd("COMPRESS DEFLATE")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        w.start_deflate()
        untagged, _ = w.cmd("ENABLE CONDSTORE")
        self.assertEqual(untagged, [b"* ENABLED CONDSTORE"])
        w.cmd("SELECT Unauth")
        _, tagged = w.cmd("UNAUTHENTICATE")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        untagged, _ = w.cmd("CAPABILITY")
        self.assertIn(b" AUTH=PLAIN", untagged[0])
        self.assertNotIn(b" UNAUTHENTICATE", untagged[0])
        _, tagged = w.cmd("FETCH 1 (FLAGS)")
        self.assertRegex(tagged, rb"^T\d+ BAD ")
        _, tagged = w.cmd("LOGIN bob builder")
        self.assertRegex(tagged, rb"^T\d+ OK ")
        _, tagged = w.cmd("STATUS Unauth (MESSAGES)")  # alice's folder: not bob's
        self.assertRegex(tagged, rb"^T\d+ NO ")
        untagged, _ = w.cmd("ENABLE CONDSTORE")  # enabled anew
        self.assertEqual(untagged, [b"* ENABLED CONDSTORE"])
        _, tagged = w.cmd("COMPRESS DEFLATE")  # still compressed
        self.assertRegex(tagged, rb"^T\d+ NO \[COMPRESSIONACTIVE\]")
        _, tagged = w.cmd("SELECT INBOX")
        self.assertRegex(tagged, rb"^T\d+ OK \[READ-WRITE\]")


if __name__ == "__main__":
    unittest.main()
