"""What IMAP reads out of a message (issue 13, conformance review): section numbers, SEARCH
on addresses, subjects and dates, SORT order, THREAD and ENVELOPE strings."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapwire import ServerCase, Wire  # noqa: E402


class ContentBase(ServerCase):
    def mailbox(self, name, *messages, date=None):
        """A fresh mailbox holding `messages`, selected in a new session."""
        w = Wire(self.port)
        self.assertIn(b" OK ", w.cmd("LOGIN alice@example.com wonderland")[1])
        w.cmd("DELETE %s" % name)
        self.assertIn(b" OK ", w.cmd("CREATE %s" % name)[1])
        for m in messages:
            when = ' "%s"' % date if date else ""
            _, t = w.cmd(b"APPEND %s%s {%d+}\r\n" % (name.encode(), when.encode(), len(m)) + m)
            self.assertIn(b"OK [APPENDUID ", t)
        self.assertIn(b" OK ", w.cmd("SELECT %s" % name)[1])
        return w


INNER = (b"From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\n"
         b"Hello world\r\n")
OUTER_HEADER = (b"From: user@domain.org\r\nDate: Sat, 24 Mar 2007 23:00:00 +0200\r\n"
                b"Mime-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n")
INNER_MULTI = (b"From: sub@domain.org\r\nSubject: inner\r\n"
               b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
               b"--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
               b"--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n")


def lit(data):
    return b"{%d}\r\n" % len(data) + data


class TestSections(ContentBase):
    def test_top_level_message_rfc822(self):
        # RFC 3501 6.4.5: a non-multipart message has only part 1, its body: here the whole
        # encapsulated message, whose own parts are 1.1, 1.2, ...
        w = self.mailbox("Sect", OUTER_HEADER + INNER,
                         b"From: a@b.c\r\nContent-Type: message/rfc822\r\n\r\n" + INNER_MULTI)
        inner_header, inner_body = INNER.split(b"\r\n\r\n", 1)
        inner_header += b"\r\n\r\n"
        u, _ = w.cmd("FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.HEADER] BODY.PEEK[1.TEXT] "
                     "BODY.PEEK[1.1] BODY.PEEK[2] BODY.PEEK[1.MIME])")
        self.assertEqual(u, [b"* 1 FETCH (BODY[1] " + lit(INNER) + b" BODY[1.HEADER] " +
                             lit(inner_header) + b" BODY[1.TEXT] " + lit(inner_body) +
                             b" BODY[1.1] " + lit(inner_body) + b" BODY[2] NIL BODY[1.MIME] " +
                             lit(OUTER_HEADER) + b")"])
        u, _ = w.cmd("FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[1.2] BODY.PEEK[2] "
                     "BODY.PEEK[1.1.MIME])")
        self.assertEqual(u, [b"* 2 FETCH (BODY[1] " + lit(INNER_MULTI) + b" BODY[1.1] " +
                             lit(b"part one") + b" BODY[1.2] " + lit(b"<p>two</p>") +
                             b" BODY[2] NIL BODY[1.1.MIME] " +
                             lit(b"Content-Type: text/plain\r\n\r\n") + b")"])


class TestSearchAddresses(ContentBase):
    def test_empty_string_tests_that_the_field_exists(self):
        # RFC 3501 6.4.4 HEADER: "" matches every message that has the field.
        w = self.mailbox("Exist", b"From: alice@example.com\r\nSubject: hi\r\n\r\nx\r\n",
                         b"To: bob@example.com\r\n\r\nno from, no subject\r\n")
        for key, expected in [('FROM ""', b"* SEARCH 1"), ('HEADER FROM ""', b"* SEARCH 1"),
                              ('SUBJECT ""', b"* SEARCH 1"), ('TO ""', b"* SEARCH 2"),
                              ('CC ""', b"* SEARCH"), ('NOT FROM ""', b"* SEARCH 2"),
                              ('NOT HEADER Subject ""', b"* SEARCH 2"),
                              ('HEADER X-Foo ""', b"* SEARCH")]:
            u, _ = w.cmd("SEARCH " + key)
            self.assertEqual(u, [expected], key)

    def test_addresses_are_matched_as_parsed(self):
        # RFC 3501 6.4.4: the envelope's FROM field, i.e. the parsed address list.
        w = self.mailbox(
            "Addr",
            b"From: John\r\n\tSmith <js@example.com>\r\nSubject: long\r\n\tsubject\r\n\r\nx\r\n",
            b"From: \"John \\\"JJ\\\" Smith\" <jj@example.com>\r\n\r\nx\r\n",
            b"From: <ann@example.com> (Sales)\r\nTo: a@example.com\r\nTo: Second Person"
            b" <second@example.com>\r\n\r\nx\r\n",
            b"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.com>\r\nCc: team: x@example.com,"
            b" y@example.com;\r\n\r\nx\r\n")
        for key, expected in [('FROM "John Smith"', b"* SEARCH 1"),
                              (b'FROM "John \\"JJ\\" Smith"', b"* SEARCH 2"),
                              ('SUBJECT "long subject"', b"* SEARCH 1"),
                              ('FROM "js@example.com"', b"* SEARCH 1"),
                              ('FROM "Smith <js@"', b"* SEARCH 1"),
                              ('FROM sales', b"* SEARCH"),
                              ('TO "second person"', b"* SEARCH 3"),
                              ('CC "team: x@example.com, y@"', b"* SEARCH 4")]:
            u, _ = w.cmd(b"SEARCH " + (key if isinstance(key, bytes) else key.encode()))
            self.assertEqual(u, [expected], key)
        u, _ = w.cmd(b"SEARCH CHARSET UTF-8 FROM {7+}\r\nj\xc3\xbcrgen")
        self.assertEqual(u, [b"* SEARCH 4"])
        # HEADER stays a match on the header's own text.
        u, _ = w.cmd('SEARCH HEADER From "(Sales)"')
        self.assertEqual(u, [b"* SEARCH 3"])

    def test_sent_keys_need_a_date_header(self):
        # RFC 3501 6.4.4: SENT* compare the Date: header; without one there is nothing to compare.
        w = self.mailbox("Sent0", b"From: a@example.com\r\n\r\nno date\r\n",
                         b"From: a@example.com\r\nDate: Thu, 1 Jan 1970 00:00:00 +0000\r\n\r\nx\r\n",
                         date="01-Jan-2020 00:00:00 +0000")
        u, _ = w.cmd("SEARCH SENTSINCE 1-Jan-2000")
        self.assertEqual(u, [b"* SEARCH"])
        u, _ = w.cmd("SEARCH NOT SENTSINCE 1-Jan-2000")
        self.assertEqual(u, [b"* SEARCH 1 2"])
        u, _ = w.cmd("SEARCH SENTON 1-Jan-1970")  # the epoch is a real date
        self.assertEqual(u, [b"* SEARCH 2"])
        u, _ = w.cmd("SEARCH SENTBEFORE 1-Jan-2030")
        self.assertEqual(u, [b"* SEARCH 2"])


class TestSortThread(ContentBase):
    def test_sort_uses_unicode_casemap(self):
        # RFC 5256 7 / RFC 5051: titlecase, then full decomposition, then octets.
        w = self.mailbox(
            "Casemap",
            b"From: _bob@example.com\r\nSubject: =?UTF-8?Q?=C3=A9clair?=\r\n\r\nx\r\n",
            b"From: alice@example.com\r\nSubject: zebra\r\n\r\nx\r\n",
            b"From: Carol@example.com\r\nSubject: Fish\r\n\r\nx\r\n")
        u, _ = w.cmd("SORT (FROM) UTF-8 ALL")
        self.assertEqual(u, [b"* SORT 2 3 1"])
        u, _ = w.cmd("SORT (SUBJECT) UTF-8 ALL")
        self.assertEqual(u, [b"* SORT 1 3 2"])
        u, _ = w.cmd("SORT (REVERSE FROM) UTF-8 ALL")
        self.assertEqual(u, [b"* SORT 1 3 2"])

    def test_empty_thread_has_no_trailing_space(self):
        w = self.mailbox("Thr0", b"From: a@example.com\r\nSubject: one\r\n\r\nx\r\n")
        for algorithm in ("REFERENCES", "ORDEREDSUBJECT"):
            w.send("e THREAD %s UTF-8 SUBJECT \"no-such-subject-xyz\"\r\n" % algorithm)
            self.assertEqual(w.read_line(), b"* THREAD\r\n")  # RFC 5256 5: thread-data
            self.assertTrue(w.read_line().startswith(b"e OK"))


class TestEnvelope(ContentBase):
    def test_envelope_phrase_with_dots(self):
        # RFC 5322 obs-phrase: "." is part of a display name ("John Q. Public").
        w = self.mailbox("Env", b"From: John Q. Public <jqp@example.com>\r\n"
                                b"To: Dr. X <x@example.com>, Acme Inc. <i@example.com>,"
                                b" a@b.c (Comment Name)\r\n\r\nx\r\n")
        u, _ = w.cmd("FETCH 1 ENVELOPE")
        self.assertIn(b'(("John Q. Public" NIL "jqp" "example.com"))', u[0])
        self.assertIn(b'(("Dr. X" NIL "x" "example.com")("Acme Inc." NIL "i" "example.com")'
                      b'("Comment Name" NIL "a" "b.c"))', u[0])
        u, _ = w.cmd('SEARCH FROM "John Q. Public <jqp@"')
        self.assertEqual(u, [b"* SEARCH 1"])


if __name__ == "__main__":
    unittest.main()
