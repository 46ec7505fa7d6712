#include "src/smtp/proto/reply.h"

#include <gtest/gtest.h>

namespace mailroom::smtp::proto {
namespace {

TEST(Reply, SingleLineCarriesEnhancedCode) {
  EXPECT_EQ(make_reply(250, "2.1.0", "Ok").wire(), "250 2.1.0 Ok\r\n");
}

TEST(Reply, MultiLineTextRepeatsCodeAndEnhancedCode) {
  EXPECT_EQ(make_reply(550, "5.7.1", "one\ntwo").wire(), "550-5.7.1 one\r\n550 5.7.1 two\r\n");
}

TEST(Reply, GreetingWithoutEnhancedCode) {
  EXPECT_EQ(make_reply(220, "", "mx ESMTP").wire(), "220 mx ESMTP\r\n");
}

TEST(Reply, ControlCharactersAreNeutralized) {
  EXPECT_EQ(make_reply(501, "5.5.4", std::string("a\rb\0c", 5)).wire(), "501 5.5.4 a?b?c\r\n");
}

TEST(Reply, Multiline) {
  EXPECT_EQ(multiline(250, {"mx", "PIPELINING", "SIZE 100"}),
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
}

}  // namespace
}  // namespace mailroom::smtp::proto
