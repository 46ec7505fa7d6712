// core::hex_encode (src/core/base64.h) and core::utf8_or_replacement (src/core/json_text.h).
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

}  // namespace
}  // namespace mailroom::core
