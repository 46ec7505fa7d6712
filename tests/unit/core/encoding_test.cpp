// core::hex_encode (src/core/base64.h).
#include <gtest/gtest.h>

#include "src/core/base64.h"

namespace mailroom::core {
namespace {

TEST(HexEncode, TwoLowerCaseDigitsPerByte) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode("A"), "41");
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(hex_encode("\x9a\xbc"), "9abc");
}

}  // namespace
}  // namespace mailroom::core
