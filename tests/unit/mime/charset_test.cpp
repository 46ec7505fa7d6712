// Encoded words and legacy Chinese charsets through GMime/iconv.
#include <gtest/gtest.h>

#include "src/mime/facts.h"

namespace mailroom::mime {
namespace {

TEST(Charset, EncodedWords) {
  EXPECT_EQ(decode_header_text("=?Big5?B?pKSk5Q==?="), "中文");
  EXPECT_EQ(decode_header_text("=?GB2312?B?1tDOxA==?= x"), "中文 x");
  EXPECT_EQ(decode_header_text("=?UTF-8?Q?caf=C3=A9?= au lait"), "café au lait");
  EXPECT_EQ(decode_header_text("plain text"), "plain text");
}

TEST(Charset, CasemapKey) {
  // RFC 5051 2: titlecase, then full decomposition.
  EXPECT_EQ(casemap_key("alice"), "ALICE");
  EXPECT_EQ(casemap_key("_bob"), "_BOB");
  EXPECT_EQ(casemap_key("é"), "E\xcc\x81");
  // Titlecase first (the simple mapping), then the decomposition, which is not case-mapped
  // again: U+01C6 "dž" -> U+01C5 "Dž" -> "D", "z", U+030C; U+FB01 "ﬁ" has no simple titlecase.
  EXPECT_EQ(casemap_key("ǆ"), "Dz\xcc\x8c");
  EXPECT_EQ(casemap_key("ﬁ"), "fi");
  EXPECT_EQ(casemap_key("a\xff"
                        "b"),
            "A\xff"
            "B");  // not UTF-8: bytes kept
  EXPECT_LT(casemap_key("éclair"), casemap_key("fish"));
  EXPECT_LT(casemap_key("carol"), casemap_key("_bob"));
}

TEST(Charset, ToUtf8) {
  auto big5 = to_utf8("\xa4\xa4\xa4\xe5", "Big5");
  ASSERT_TRUE(big5.is_ok());
  EXPECT_EQ(*big5, "中文");
  auto gb = to_utf8("\xd6\xd0\xce\xc4", "gb2312");
  ASSERT_TRUE(gb.is_ok());
  EXPECT_EQ(*gb, "中文");
  EXPECT_EQ(to_utf8("abc", "no-such-charset-x").code(), core::Code::not_found);
  EXPECT_EQ(to_utf8("\xff\xfe", "UTF-8").code(), core::Code::invalid_argument);
}

TEST(Charset, BodyText) {
  std::string msg =
      "Content-Type: text/plain; charset=big5\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "pKSk5Q==\r\n";
  EXPECT_NE(decoded_body_text(msg).find("中文"), std::string::npos);
}

}  // namespace
}  // namespace mailroom::mime
