"""Full-text search (src/fts) through the real mailroomd over TLS.

Mail in UTF-8, Big5 and GB2312 and a text attachment is delivered by LMTP; the indexer thread
indexes it off the delivery path (`mailroomctl index status` shows nothing pending); IMAP
SEARCH CHARSET UTF-8 BODY/TEXT with Chinese substrings finds exactly the right messages; a
message delivered a moment ago is found before or after it is indexed; the index deleted
loses nothing (SEARCH scans) and `mailroomctl index rebuild` builds it again. A .docx (real
docx2txt) and a PDF (real pdftotext) attachment, built here, are found by text that is only in
them once indexed."""
import base64
import imaplib
import io
import os
import shutil
import smtplib
import sys
import time
import unittest
import warnings
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Mailroom  # noqa: E402


def text_message(subject, body, charset="utf-8"):
    return (b"From: Wang <wang@example.org>\r\nTo: alice@example.com\r\nSubject: " +
            subject.encode() + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=" +
            charset.encode() + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n")


def docx(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
                   'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>' +
                   text + "</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def pdf(ascii_text):
    """A one-page PDF (ISO 32000-1 7.5) showing `ascii_text` in Helvetica."""
    content = b"BT /F1 24 Tf 72 700 Td (" + ascii_text.encode() + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, xref)


def with_attachment(subject, ctype, filename, data):
    return (b"From: x@example.org\r\nTo: alice@example.com\r\nSubject: " + subject.encode() +
            b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain\r\n\r\nsee the document\r\n--b\r\n"
            b"Content-Type: " + ctype.encode() + b"\r\nContent-Disposition: attachment; "
            b"filename=" + filename.encode() + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            base64.encodebytes(data).replace(b"\n", b"\r\n") + b"--b--\r\n")


MESSAGES = [
    text_message("utf8", "本週進度：全文檢索已經完成。".encode()),
    text_message("big5", "中文全文檢索測試".encode("big5"), "big5"),
    text_message("gb2312", "简体中文搜索测试".encode("gb2312"), "gb2312"),
    (b"From: x@example.org\r\nTo: alice@example.com\r\nSubject: attached\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
     b"see the file\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
     b"Content-Disposition: attachment; filename=a.txt\r\nContent-Transfer-Encoding: base64\r\n"
     b"\r\n6ZmE5Lu26KOh55qE6Zec6Y215a2X5Liy\r\n--b--\r\n"),  # 附件裡的關鍵字串
    text_message("latin", b"The quarterly revenue report"),
    with_attachment("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml."
                    "document", "r.docx", docx("季度詞語附件，中文資料夾的文件")),
    with_attachment("pdf", "application/pdf", "q.pdf", pdf("Okapi giraffe ledger")),
]
DOCX_UID, PDF_UID = 6, 7


class FtsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.m = Mailroom()
        cls.m.seed_demo()
        cls.m.start()
        cls.account = cls.m.account_id("alice@example.com")
        cls.fts = os.path.join(cls.m.data, "mail", cls.account, "fts")
        for msg in MESSAGES:
            cls.deliver(msg)

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "m"):
            cls.m.close()

    @classmethod
    def deliver(cls, msg):
        with smtplib.LMTP("127.0.0.1", cls.m.port("lmtp")) as lmtp:
            lmtp.sendmail("wang@example.org", ["alice@example.com"], msg)

    def status(self):
        return self.m.ctl("index", "status", "alice@example.com")["users"][0]

    def wait_indexed(self):
        """Until the indexer thread has caught up (it runs after the 250, not before)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            st = self.status()
            if st["exists"] and st["pending"] == 0:
                return st
            time.sleep(0.1)
        self.fail("index never caught up: %r" % self.status())

    def search(self, key, text):
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.m.port("imaps"),
                                 ssl_context=self.m.ssl_context())
        try:
            imap.login("alice@example.com", "wonderland")
            imap.select("INBOX")
            imap.literal = text.encode()
            typ, data = imap.uid("SEARCH", "CHARSET", "UTF-8", key)
            self.assertEqual(typ, "OK", data)
            return [int(x) for x in data[0].split()]
        finally:
            imap.logout()

    def check_answers(self):
        self.assertEqual(self.search("BODY", "全文檢索"), [1, 2])
        self.assertEqual(self.search("BODY", "檢索測試"), [2])
        self.assertEqual(self.search("BODY", "体中"), [3])
        self.assertEqual(self.search("BODY", "搜索测试"), [3])
        self.assertEqual(self.search("BODY", "關鍵字"), [4])
        self.assertEqual(self.search("TEXT", "進度"), [1])
        self.assertEqual(self.search("BODY", "revenue"), [5])
        self.assertEqual(self.search("BODY", "無此字串"), [])

    def check_attachments(self):
        """Text only inside a .docx or PDF: found once indexed (the index keeps it)."""
        self.assertEqual(self.search("BODY", "詞語"), [DOCX_UID])
        self.assertEqual(self.search("TEXT", "季度詞"), [DOCX_UID])
        self.assertEqual(self.search("BODY", "giraffe"), [PDF_UID])
        self.assertEqual(self.search("BODY", "中文件"), [])  # its n-grams are there, it is not

    def test_1_delivered_mail_is_indexed_and_found_by_chinese_substrings(self):
        st = self.wait_indexed()
        self.assertEqual(st["documents"], len(MESSAGES))
        self.assertGreater(st["index_bytes"], 0)
        inbox = [b for b in st["mailboxes"] if b["name"] == "INBOX"][0]
        self.assertEqual((inbox["messages"], inbox["pending"]), (len(MESSAGES), 0))
        self.check_answers()
        self.check_attachments()

    def test_2_a_message_just_delivered_is_found(self):
        self.wait_indexed()
        self.deliver(text_message("new", "剛剛送達的榴槤".encode()))
        # Whether or not the indexer got to it yet, SEARCH finds it.
        uid = len(MESSAGES) + 1
        self.assertEqual(self.search("BODY", "送達的榴"), [uid])
        self.wait_indexed()
        self.assertEqual(self.search("BODY", "送達的榴"), [uid])

    def test_3_index_deleted_loses_nothing_and_is_rebuilt(self):
        self.wait_indexed()
        shutil.rmtree(self.fts)
        self.assertFalse(self.status()["exists"])
        self.check_answers()  # scanned
        out = self.m.ctl("index", "rebuild", "alice@example.com")
        self.assertEqual(out["users"][0]["documents"], len(MESSAGES) + 1)
        st = self.status()
        self.assertEqual(st["pending"], 0)
        self.check_answers()
        self.check_attachments()
        p = self.m.ctl("index", "rebuild", check=False)  # neither USER nor --all
        self.assertEqual(p.returncode, 1)


if __name__ == "__main__":
    unittest.main()
