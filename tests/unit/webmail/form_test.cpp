// The cookie and form parsers on raw header and body strings.
#include "src/webmail/form.h"

#include <gtest/gtest.h>

namespace mailroom::webmail {
namespace {

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("mailroom_session=abc", "mailroom_session").value_or("-"), "abc");
  EXPECT_EQ(cookie_value("a=1; mailroom_session=abc; b=2", "mailroom_session").value_or("-"),
            "abc");
  EXPECT_EQ(cookie_value("a=1;mailroom_session=abc", "mailroom_session").value_or("-"), "abc");
  // Two Cookie fields joined by the HTTP kit.
  EXPECT_EQ(cookie_value("a=1, mailroom_session=x", "mailroom_session").value_or("-"), "x");
  EXPECT_EQ(cookie_value("mailroom_session=\"q\"", "mailroom_session").value_or("-"), "q");
  EXPECT_EQ(cookie_value("mailroom_session=", "mailroom_session").value_or("-"), "");
  // The first wins (a cookie set for a narrower path comes first in the header).
  EXPECT_EQ(
      cookie_value("mailroom_session=1; mailroom_session=2", "mailroom_session").value_or("-"),
      "1");
}

TEST(CookieValue, HostileOrAbsent) {
  EXPECT_FALSE(cookie_value("", "mailroom_session"));
  EXPECT_FALSE(cookie_value("xmailroom_session=1", "mailroom_session"));
  EXPECT_FALSE(cookie_value("mailroom_sessionx=1", "mailroom_session"));
  EXPECT_FALSE(cookie_value("mailroom_session", "mailroom_session"));
  EXPECT_FALSE(cookie_value(";;;,,,===", "mailroom_session"));
  EXPECT_FALSE(cookie_value(std::string(10000, ';'), "mailroom_session"));
  EXPECT_EQ(cookie_value("mailroom_session=\"", "mailroom_session").value_or("-"), "\"");
}

TEST(ParseForm, DecodesPairs) {
  auto f = parse_form("username=alice%40example.com&password=a+b%26c%3D&empty=&flag", 16);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[0].first, "username");
  EXPECT_EQ((*f)[0].second, "alice@example.com");
  EXPECT_EQ((*f)[1].second, "a b&c=");
  EXPECT_EQ((*f)[2].second, "");
  EXPECT_EQ((*f)[3].first, "flag");
  EXPECT_EQ((*f)[3].second, "");
  auto zh = parse_form("html=%E4%B8%AD%E6%96%87", 16);
  ASSERT_TRUE(zh);
  EXPECT_EQ((*zh)[0].second, "中文");
  EXPECT_TRUE(parse_form("", 16) && parse_form("", 16)->empty());
  EXPECT_TRUE(parse_form("&&&", 16) && parse_form("&&&", 16)->empty());
}

TEST(ParseForm, RefusesMalformedAndTooMany) {
  EXPECT_FALSE(parse_form("a=%", 16));
  EXPECT_FALSE(parse_form("a=%4", 16));
  EXPECT_FALSE(parse_form("a=%zz", 16));
  EXPECT_FALSE(parse_form("%ff=1", 16));     // not UTF-8
  EXPECT_FALSE(parse_form("a=%C0%AF", 16));  // overlong
  EXPECT_FALSE(parse_form("a=1&b=2&c=3", 2));
  EXPECT_TRUE(parse_form("a=1&b=2", 2));
}

}  // namespace
}  // namespace mailroom::webmail
