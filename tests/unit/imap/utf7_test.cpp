// Modified UTF-7 (RFC 3501 5.1.3) round trips and strict rejection.
#include "src/imap/proto/utf7.h"

#include <gtest/gtest.h>

namespace mailroom::imap::proto {
namespace {

TEST(Utf7, Encode) {
  EXPECT_EQ(utf8_to_mutf7("INBOX"), "INBOX");
  EXPECT_EQ(utf8_to_mutf7("Tom & Jerry"), "Tom &- Jerry");
  EXPECT_EQ(utf8_to_mutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(utf8_to_mutf7("收件匣"), "&ZTZO9lMj-");
  EXPECT_EQ(utf8_to_mutf7("\xf0\x9f\x98\x80"), "&2D3eAA-");  // U+1F600, a surrogate pair
  EXPECT_FALSE(utf8_to_mutf7("\xff").has_value());
  EXPECT_FALSE(utf8_to_mutf7("\xc3").has_value());
}

TEST(Utf7, DecodeRoundTrip) {
  for (std::string s : {"INBOX", "Tom & Jerry", "台北/日本語", "a&b&c", "\xf0\x9f\x98\x80x", "é"}) {
    auto enc = utf8_to_mutf7(s);
    ASSERT_TRUE(enc);
    EXPECT_EQ(mutf7_to_utf8(*enc), s) << *enc;
  }
}

TEST(Utf7, DecodeRejectsInvalid) {
  EXPECT_FALSE(mutf7_to_utf8("&").has_value());                     // unterminated
  EXPECT_FALSE(mutf7_to_utf8("&U,BTFw").has_value());               // missing '-'
  EXPECT_FALSE(mutf7_to_utf8("&AGE-").has_value());                 // shifted printable 'a'
  EXPECT_FALSE(mutf7_to_utf8("&ZeVnLIqe-&ZeVnLIqe-").has_value());  // adjacent shifts
  EXPECT_FALSE(mutf7_to_utf8("&ZeV-").has_value());                 // not whole UTF-16 units
  EXPECT_FALSE(mutf7_to_utf8("&2D0-").has_value());                 // lone high surrogate
  EXPECT_FALSE(mutf7_to_utf8("&Jjo!-").has_value());                // not base64
  EXPECT_FALSE(mutf7_to_utf8("caf\xc3\xa9").has_value());           // raw 8-bit
  EXPECT_FALSE(mutf7_to_utf8(std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(mutf7_to_utf8("&U,BTF2-").has_value());  // non-zero pad bits
  EXPECT_EQ(mutf7_to_utf8("&-&-"), "&&");
}

}  // namespace
}  // namespace mailroom::imap::proto
