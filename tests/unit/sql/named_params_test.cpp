#include "auth/sql/named_params.h"

#include <gtest/gtest.h>

namespace mailroom::auth::sql {
namespace {

const std::vector<std::string> kAll = {"address", "local", "domain", "login", "id"};

TEST(NamedParams, ReplacesNamesInOrderWithRepeats) {
  auto r =
      compile_named_sql("SELECT * FROM a WHERE x = :address OR y = :address AND d=:domain", kAll);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->text, "SELECT * FROM a WHERE x = ? OR y = ? AND d=?");
  EXPECT_EQ(r->params, (std::vector<std::string>{"address", "address", "domain"}));
}

TEST(NamedParams, IgnoresQuotedTextAndComments) {
  auto r = compile_named_sql(
      "SELECT ':address', \":login\", `:id` -- :domain\n"
      "FROM t /* :local */ WHERE a = :id # :login\n AND b = 'it''s :x' AND c = 'a\\':y'",
      kAll);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->params, (std::vector<std::string>{"id"}));
  EXPECT_NE(r->text.find("':address'"), std::string::npos);
  EXPECT_NE(r->text.find("'it''s :x'"), std::string::npos);
  EXPECT_NE(r->text.find("a = ?"), std::string::npos);
}

TEST(NamedParams, DoubleColonAndTimeLiteralsStay) {
  auto r = compile_named_sql("SELECT '10:30', a::b FROM t WHERE x = :login", kAll);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "SELECT '10:30', a::b FROM t WHERE x = ?");
  // A colon followed by a digit is not a parameter.
  auto r2 = compile_named_sql("SELECT 1 FROM t WHERE x = :1", kAll);
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->params.empty());
}

TEST(NamedParams, RejectsUnknownNamesAndPositionalPlaceholders) {
  auto r = compile_named_sql("SELECT 1 FROM t WHERE x = :password", {"login"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), core::Code::invalid_argument);
  EXPECT_NE(r.status().client_message().find(":password"), std::string::npos);
  EXPECT_NE(r.status().client_message().find(":login"), std::string::npos);
  EXPECT_FALSE(compile_named_sql("SELECT 1 FROM t WHERE x = ?", kAll));
  EXPECT_TRUE(compile_named_sql("SELECT '?' FROM t", kAll));
  auto none = compile_named_sql("SELECT 1 FROM t WHERE x = :id", {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.status().client_message().find("takes none"), std::string::npos);
}

TEST(NamedParams, UnterminatedQuoteIsLeftForTheServer) {
  auto r = compile_named_sql("SELECT 'abc :login", kAll);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->params.empty());
}

}  // namespace
}  // namespace mailroom::auth::sql
