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

TEST(Charset, DecodedParamsRfc2231And2047) {
  // RFC 2231 4: charset'language'percent-encoded; 3: continuations, encoded or not.
  EXPECT_EQ(decoded_param("attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf", "filename"),
            "報告.pdf");
  EXPECT_EQ(decoded_param("attachment; filename*0*=UTF-8'zh-TW'%E5%A0%B1; filename*1=\"-2024.pdf\"",
                          "filename"),
            "報-2024.pdf");
  EXPECT_EQ(decoded_param("attachment; filename*=big5''%B3%F8%A7i.txt", "filename"), "報告.txt");
  // RFC 2047 words in a quoted value (Outlook, Gmail), and plain values.
  EXPECT_EQ(decoded_param("application/pdf; name=\"=?UTF-8?B?5aCx5ZGKLnBkZg==?=\"", "name"),
            "報告.pdf");
  EXPECT_EQ(decoded_param("attachment; FILENAME=\"a b.txt\"", "filename"), "a b.txt");
  EXPECT_EQ(decoded_param("inline; filename=x.png; size=3", "size"), "3");
  EXPECT_EQ(decoded_param("attachment", "filename"), std::nullopt);
  EXPECT_EQ(decoded_param("attachment; name=x", "filename"), std::nullopt);
}

TEST(Charset, DecodedParamsHostile) {
  // Broken escapes, unknown charsets, missing quotes, gaps in continuations, huge input: an
  // answer or nothing, never a crash (fuzz_mime runs this too).
  for (std::string_view v :
       {"attachment; filename*=UTF-8''%E5%A0", "attachment; filename*=UTF-8''%zz%",
        "attachment; filename*=x-unknown''%FF%FE", "attachment; filename*=''",
        "attachment; filename*", "attachment; filename=\"unterminated",
        "attachment; filename*0*=UTF-8''a; filename*5*=b", "attachment; filename*99999999999*=x",
        "attachment;;;=;=\"\";", ";", "attachment; filename=\"\\\""}) {
    auto r = decoded_param(v, "filename");
    if (r) EXPECT_LE(r->size(), v.size() * 3) << v;
  }
  std::string big = "attachment; filename*0*=utf-8''%41%42";
  for (int i = 1; i < 2000; ++i) big += "; filename*" + std::to_string(i) + "*=%41%42";
  auto r = decoded_param(big, "filename");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->substr(0, 4), "ABAB");
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
