// core::hex_encode (src/core/base64.h), core::utf8_or_replacement and core::utf8_prefix
// (src/core/json_text.h).
#include <gtest/gtest.h>

#include "src/core/base64.h"
#include "src/core/json_text.h"

namespace mailroom::core {
namespace {

TEST(HexEncode, TwoLowerCaseDigitsPerByte) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("A"), "41");
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(hex_encode("\x9a\xbc"), "9abc");
}

// Valid UTF-8 passes unchanged; every byte of a malformed sequence becomes one U+FFFD.
TEST(Utf8OrReplacement, KeepsValidTextAndReplacesEachBadByte) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8_or_replacement(""), "");
  EXPECT_EQ(utf8_or_replacement("ok \xe5\xa0\xb1 \xf0\x9f\x98\x80"),
            "ok \xe5\xa0\xb1 \xf0\x9f\x98\x80");
  EXPECT_EQ(utf8_or_replacement("\xa4\x48"), r + "H");                // raw Big5 "\xa4H"
  EXPECT_EQ(utf8_or_replacement("\xed\xa0\x80"), r + r + r);          // a surrogate
  EXPECT_EQ(utf8_or_replacement("\xc0\xaf"), r + r);                  // overlong '/'
  EXPECT_EQ(utf8_or_replacement("\xe0\x80\xaf"), r + r + r);          // overlong, 3 bytes
  EXPECT_EQ(utf8_or_replacement("\xf4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(utf8_or_replacement("\xe5\xa0"), r + r);                  // cut short
  EXPECT_EQ(utf8_or_replacement(std::string("a\0b", 3)), std::string("a\0b", 3));
}

// A cut never splits a character: 1-, 2-, 3- and 4-byte characters kept whole or dropped whole.
TEST(Utf8Prefix, CutsAtCharacterBoundaries) {
  const std::string bao = "\xe5\xa0\xb1";  // U+5831, three bytes
  EXPECT_EQ(utf8_prefix("abc", 5), "abc");
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(utf8_prefix("a" + bao, 4), "a" + bao);
  EXPECT_EQ(utf8_prefix("a" + bao, 3), "a");
  EXPECT_EQ(utf8_prefix("a" + bao, 2), "a");
  EXPECT_EQ(utf8_prefix(bao + bao, 5), bao);
  EXPECT_EQ(utf8_prefix("\xf0\x9f\x98\x80x", 3), "");  // a 4-byte character
  EXPECT_EQ(utf8_prefix("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");
  // Not UTF-8 (raw Big5): at most three bytes are given back, never more.
  EXPECT_EQ(utf8_prefix("\xa4\x48\xa4\x48", 3), "\xa4\x48\xa4");
  EXPECT_EQ(utf8_prefix(std::string(10, '\x80'), 8).size(), 5u);
}

}  // namespace
}  // namespace mailroom::core
