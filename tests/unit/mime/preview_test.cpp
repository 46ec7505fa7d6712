// RFC 8970 previews (src/mime/preview.cpp, preview_text in charset.cpp): which part is used,
// HTML reduced to its text, white space collapsed, at most 256 characters cut between UTF-8
// sequences, Chinese charsets decoded, and nothing taken from headers or attachments.
#include <gtest/gtest.h>

#include <string>

#include "src/mime/facts.h"

namespace mailroom::mime {
namespace {

// Code points of a UTF-8 string (for the 256-character bound).
size_t chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(Preview, PlainTextWithWhiteSpaceCollapsed) {
  std::string m =
      "From: a@example.com\r\nSubject: not in the preview\r\n\r\n\r\n  Hello,\r\n\r\n\tsee "
      "you\xc2\xa0 at  noon.\r\n";
  EXPECT_EQ(preview_text(m), "Hello, see you at noon.");
}

TEST(Preview, PlainPartIsPreferredToHtmlAndAttachmentsAreSkipped) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=OUT\r\n\r\n--OUT\r\n"
      "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
      "attached text\r\n--OUT\r\n"
      "Content-Type: multipart/alternative; boundary=ALT\r\n\r\n--ALT\r\n"
      "Content-Type: text/html\r\n\r\n<p>html version</p>\r\n--ALT\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
      "\r\nplain =C3=A9t=C3=A9 version\r\n--ALT--\r\n--OUT--\r\n";
  EXPECT_EQ(preview_text(m), "plain \xc3\xa9t\xc3\xa9 version");
}

TEST(Preview, AnAttachedMessageIsNotThisMessagesText) {
  std::string m =
      "Content-Type: multipart/mixed; boundary=OUT\r\n\r\n--OUT\r\n"
      "Content-Type: text/html\r\n\r\n<p>see the forwarded mail</p>\r\n--OUT\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
      "Content-Type: text/plain\r\n\r\ninner text\r\n--OUT--\r\n";
  EXPECT_EQ(preview_text(m), "see the forwarded mail");
}

TEST(Preview, HtmlOnlyKeepsTheTextOfTheDocument) {
  std::string m =
      "Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>T</title>"
      "<style>p { color: red }</style></head><body><!-- hidden --><script>var x = '<p>';"
      "</script><p>Caf&eacute; &amp; tea&nbsp;at&#160;4&lt;5 &#x4F60;&#22909;</p><br>next<header>"
      "kept</header></body></html>\r\n";
  // &eacute; is not among the named references decoded: it stays as written.
  EXPECT_EQ(preview_text(m), "Caf&eacute; & tea at 4<5 \xe4\xbd\xa0\xe5\xa5\xbd next kept");
}

TEST(Preview, ChineseCharsetsAreDecoded) {
  // "你好" in GB2312 and in Big5, base64.
  EXPECT_EQ(preview_text("Content-Type: text/plain; charset=gb2312\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\nxOO6ww==\r\n"),
            "\xe4\xbd\xa0\xe5\xa5\xbd");
  EXPECT_EQ(preview_text("Content-Type: text/plain; charset=big5\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\np0Gmbg==\r\n"),
            "\xe4\xbd\xa0\xe5\xa5\xbd");
}

TEST(Preview, AtMost256CharactersNeverInsideASequence) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "\xe4\xbd\xa0";  // 300 x "你"
  std::string p = preview_text("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n");
  EXPECT_EQ(chars(p), kPreviewChars);
  EXPECT_EQ(p.size(), kPreviewChars * 3);
  std::string ascii(1000, 'a');
  EXPECT_EQ(preview_text("Subject: x\r\n\r\n" + ascii + "\r\n").size(), kPreviewChars);
}

TEST(Preview, NoTextPartGivesAnEmptyPreview) {
  EXPECT_EQ(preview_text("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                         "iVBORw0KGgo=\r\n"),
            "");
  EXPECT_EQ(preview_text("Subject: header only\r\n"), "");
  EXPECT_EQ(preview_text(""), "");
}

TEST(Preview, HostileHtmlCostsLinearWork) {
  // 8 MB of '&', '<!--', '<script' and '<' with nothing closing them: each is skipped or
  // scanned a bounded distance (a quadratic scan here took minutes).
  for (std::string unit : {"&", "&#", "<!--", "<script ", "<"}) {
    std::string html;
    while (html.size() < (8u << 20)) html += unit;
    std::string p = preview_from_text(html, true);
    size_t n = 0;
    for (unsigned char c : p) n += (c & 0xC0) != 0x80;
    EXPECT_LE(n, kPreviewChars) << unit;
  }
}

TEST(Preview, HostileHtmlEndsWithinItsInput) {
  EXPECT_EQ(preview_from_text("<script>never closed", true), "");
  EXPECT_EQ(preview_from_text("a <!-- never closed", true), "a");
  EXPECT_EQ(preview_from_text("a <b", true), "a");
  EXPECT_EQ(preview_from_text("&#99999999; &#x; &; & x", true), "&#99999999; &#x; &; & x");
  EXPECT_EQ(preview_from_text("&#0;", true), "\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(preview_from_text("\xe4\xbd", false), "");         // a cut sequence
  // Overlong forms, surrogates and code points above U+10FFFF are not UTF-8 (RFC 3629 4).
  EXPECT_EQ(preview_from_text("\xe0\x80\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80", false),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80");
  // Octets that are not UTF-8 become U+FFFD, so the preview is always UTF-8.
  EXPECT_EQ(preview_from_text("a\xc3z \x80 \xff", false),
            "a\xef\xbf\xbdz \xef\xbf\xbd \xef\xbf\xbd");
}

}  // namespace
}  // namespace mailroom::mime
