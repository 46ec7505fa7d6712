// What the full-text index reads from a message (src/fts/extract.h): decoded header fields,
// text parts in Big5, GB2312 and UTF-8 as Unicode, HTML without markup, bounded sizes.
#include "src/fts/extract.h"

#include <gtest/gtest.h>

namespace mailroom::fts {
namespace {

// Well-formed UTF-8 (RFC 3629): no overlongs, surrogates or code points past U+10FFFF.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

TEST(Extract, HeaderFieldsAreDecoded) {
  auto t = extract_text(
      "From: =?UTF-8?B?546L5bCP5piO?= <wang@example.com>\r\nTo: a@example.com, b@example.com\r\n"
      "Cc: c@example.com\r\nSubject: =?UTF-8?Q?caf=C3=A9_report?=\r\n\r\nbody\r\n");
  EXPECT_EQ(t.subject, "café report");
  EXPECT_NE(t.from.find("王小明"), std::string::npos) << t.from;
  EXPECT_NE(t.to.find("b@example.com"), std::string::npos);
  EXPECT_NE(t.cc.find("c@example.com"), std::string::npos);
  EXPECT_NE(t.header.find("café report"), std::string::npos);
  EXPECT_EQ(t.body.substr(0, 4), "body");
}

TEST(Extract, Big5AndGb2312BodiesBecomeUnicode) {
  auto big5 = extract_text(
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=big5\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n"
      "\xa4\xa4\xa4\xe5\xa5\xfe\xa4\xe5\xc0\xcb\xaf\xc1\xb4\xfa\xb8\xd5\r\n");
  EXPECT_NE(big5.body.find("中文全文檢索測試"), std::string::npos) << big5.body;
  auto gb = extract_text(
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n"
      "\xbc\xf2\xcc\xe5\xd6\xd0\xce\xc4\xcb\xd1\xcb\xf7\xb2\xe2\xca\xd4\r\n");
  EXPECT_NE(gb.body.find("简体中文搜索测试"), std::string::npos) << gb.body;
}

TEST(Extract, HtmlLosesMarkupAndAttachmentsOfTypeTextCount) {
  auto t = extract_text(
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      "<html><style>.hidden{}</style><script>var secretword=1;</script>"
      "<p>Fish&amp;chips</p><!-- comment --><b>bold</b>word &#x4E2D;&#25991;</html>\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; "
      "filename=notes.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "6ZmE5Lu26KOh55qE6Zec6Y215a2X5Liy\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAECAwQFBgcICQ==\r\n--b--\r\n");
  EXPECT_NE(t.body.find("Fish&chips"), std::string::npos) << t.body;
  EXPECT_NE(t.body.find("bold word"), std::string::npos) << t.body;
  EXPECT_NE(t.body.find("中文"), std::string::npos) << t.body;
  EXPECT_EQ(t.body.find("secretword"), std::string::npos);
  EXPECT_EQ(t.body.find("hidden"), std::string::npos);
  EXPECT_EQ(t.body.find("comment"), std::string::npos);
  EXPECT_NE(t.body.find("附件裡的關鍵字串"), std::string::npos) << t.body;
}

TEST(Extract, HugeBodyIsCutOnACharacterBoundary) {
  std::string body;
  for (int i = 0; i < 200000; ++i) body += "中";  // 600,000 octets
  ExtractLimits limits;
  limits.max_body_bytes = 100001;  // not a multiple of 3: the cut must back off
  auto t =
      extract_text("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body, limits);
  EXPECT_TRUE(t.truncated);
  EXPECT_LE(t.body.size(), limits.max_body_bytes);
  EXPECT_EQ(t.body.size() % 3, 0u);
}

TEST(Extract, HostileInputGivesValidUtf8AndNoCrash) {
  // An unknown charset, invalid UTF-8, NULs, a binary "text" part, unterminated HTML, deep
  // nesting.
  std::string nested = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 0; i < 100; ++i)
    nested += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
              std::to_string(i + 1) + "\r\n\r\n";
  nested += "text at the bottom\r\n";
  const std::string inputs[] = {
      "Subject: \xff\xfe bad\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
      "\xff\xfe\x00\x01 text\r\n",
      std::string("Content-Type: text/plain; charset=utf-8\r\n\r\n\xc3\x28\xa0\xa1\x00zz", 50),
      "Content-Type: text/html\r\n\r\n<p>open &#xFFFFFFFF; &#0; &#55296; <scr",
      nested,
      "",
      "\r\n\r\n",
  };
  for (const auto& in : inputs) {
    auto t = extract_text(in);
    for (const std::string* s : {&t.body, &t.header, &t.subject}) {
      EXPECT_TRUE(valid_utf8(*s)) << *s;
    }
  }
}

}  // namespace
}  // namespace mailroom::fts
