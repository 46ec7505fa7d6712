// The settings screens' body parser (src/webmail/settings_request.h) on raw strings.
#include "src/webmail/settings_request.h"

#include <gtest/gtest.h>

namespace mailroom::webmail {
namespace {

TEST(SettingsRequest, AcceptsTheMembersARouteNames) {
  auto e = parse_settings_body(R"({"entry":"spam@bad.example"})", {"entry"});
  ASSERT_TRUE(e) << e.status().client_message();
  EXPECT_EQ(*e->entry, "spam@bad.example");
  auto o = parse_settings_body(R"({"ads":"inbox","blocked":null})", {"ads", "blocked"});
  ASSERT_TRUE(o);
  EXPECT_EQ(*o->ads, "inbox");
  EXPECT_FALSE(o->blocked);  // null: leave it
  auto a = parse_settings_body(R"({"name":"Phone 手機","protocols":["imap","smtp"]})",
                               {"name", "protocols"});
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->name, "Phone 手機");
  EXPECT_EQ(a->protocols->size(), 2u);
  EXPECT_TRUE(parse_settings_body("{}", {"entry"}));
}

TEST(SettingsRequest, RefusesEverythingElse) {
  const char* bad[] = {
      "",
      "null",
      "[]",
      R"("entry")",
      R"({"entry":"a@b.example",})",  // trailing comma
      R"({"entry":1})",
      R"({"entry":["a@b.example"]})",
      R"({"entry":"a@b.example","ads":"inbox"})",  // a member this route does not take
      R"({"Entry":"a@b.example"})",
      R"({"entry":"a@b.example"} x)",
      R"({"entry":"a@b.example"/*c*/})",
      "{\"entry\":\"\xff\"}",  // not UTF-8
  };
  for (const char* body : bad) {
    auto r = parse_settings_body(body, {"entry"});
    EXPECT_FALSE(r) << body;
    if (!r) EXPECT_EQ(r.code(), core::Code::invalid_argument) << body;
  }
  EXPECT_FALSE(parse_settings_body(R"({"protocols":"imap"})", {"protocols"}));
  EXPECT_FALSE(parse_settings_body(R"({"protocols":[1]})", {"protocols"}));
  EXPECT_FALSE(parse_settings_body(R"({"protocols":[[["x"]]]})", {"protocols"}));
}

TEST(SettingsRequest, Bounds) {
  std::string long_entry = R"({"entry":")" + std::string(kMaxSettingsString + 1, 'a') + "\"}";
  EXPECT_FALSE(parse_settings_body(long_entry, {"entry"}));
  std::string nine = R"({"protocols":["a","a","a","a","a","a","a","a","a"]})";
  EXPECT_FALSE(parse_settings_body(nine, {"protocols"}));
  std::string big = R"({"entry":"a@b.example")" + std::string(kMaxSettingsBody, ' ') + "}";
  EXPECT_FALSE(parse_settings_body(big, {"entry"}));
  std::string deep = std::string(64, '[') + std::string(64, ']');
  EXPECT_FALSE(parse_settings_body("{\"entry\":" + deep + "}", {"entry"}));
}

}  // namespace
}  // namespace mailroom::webmail
