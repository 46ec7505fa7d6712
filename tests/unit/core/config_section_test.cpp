#include "src/core/config_section.h"

#include <gtest/gtest.h>

namespace mailroom::core {
namespace {

TEST(ConfigSection, ReadsTypedValuesAndReportsUnknownKeysWithLine) {
  ConfigErrors errors;
  auto doc = ConfigDocument::load_string(
      "[server]\nhostname = \"mx\"\nthreads = 4\n\n[smtp]\nmax_size = \"25M\"\ntimeout = \"5m\"\n"
      "typo_key = 1\n",
      "test.toml", &errors);
  auto root = doc->root();
  auto server = root.child("server");
  EXPECT_EQ(server.get_string("hostname", ""), "mx");
  EXPECT_EQ(server.get_int("threads", 1, 1, 64), 4);
  server.finish();
  auto smtp = root.child("smtp");
  EXPECT_EQ(smtp.get_size("max_size", 0), 25u * 1024 * 1024);
  EXPECT_EQ(smtp.get_seconds("timeout", 0), 300);
  smtp.finish();
  root.finish();
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(errors.messages()[0], "test.toml:8: smtp.typo_key: unknown key");
}

TEST(ConfigSection, WrongTypeAndRangeNameFileLineKey) {
  ConfigErrors errors;
  auto doc = ConfigDocument::load_string("a = \"x\"\nb = 500\nc = \"maybe\"\nd = \"12Q\"\n",
                                         "f.toml", &errors);
  auto root = doc->root();
  EXPECT_EQ(root.get_int("a", 7), 7);
  EXPECT_EQ(root.get_int("b", 1, 1, 100), 1);
  EXPECT_EQ(root.get_choice("c", "no", {"yes", "no"}), "no");
  EXPECT_EQ(root.get_size("d", 9), 9u);
  root.finish();
  ASSERT_EQ(errors.messages().size(), 4u);
  EXPECT_EQ(errors.messages()[0], "f.toml:1: a: expected an integer, found string");
  EXPECT_EQ(errors.messages()[1], "f.toml:2: b: value 500 out of range [1, 100]");
  EXPECT_NE(errors.messages()[2].find("f.toml:3: c: \"maybe\" is not one of"), std::string::npos);
  EXPECT_NE(errors.messages()[3].find("f.toml:4: d: expected a size"), std::string::npos);
}

// Scores and thresholds ([spam] junk_score): an integer or a float, within a range.
TEST(ConfigSection, NumbersAreIntegersOrFloatsInRange) {
  ConfigErrors errors;
  auto doc = ConfigDocument::load_string("a = 6\nb = 6.5\nc = \"6\"\nd = 1e9\ne = nan\n", "n.toml",
                                         &errors);
  auto root = doc->root();
  EXPECT_DOUBLE_EQ(root.get_number("a", 0, -100, 100), 6.0);
  EXPECT_DOUBLE_EQ(root.get_number("b", 0, -100, 100), 6.5);
  EXPECT_DOUBLE_EQ(root.get_number("c", 1, -100, 100), 1.0);
  EXPECT_DOUBLE_EQ(root.get_number("d", 2, -100, 100), 2.0);
  EXPECT_DOUBLE_EQ(root.get_number("e", 3, -100, 100), 3.0);
  EXPECT_DOUBLE_EQ(root.get_number("absent", 4, -100, 100), 4.0);
  root.finish();
  ASSERT_EQ(errors.messages().size(), 3u);
  EXPECT_EQ(errors.messages()[0], "n.toml:3: c: expected a number, found string");
  EXPECT_NE(errors.messages()[1].find("n.toml:4: d: value"), std::string::npos);
  EXPECT_NE(errors.messages()[2].find("n.toml:5: e: value"), std::string::npos);
}

TEST(ConfigSection, SyntaxErrorNamesLine) {
  ConfigErrors errors;
  auto doc = ConfigDocument::load_string("a = 1\nb = = 2\n", "bad.toml", &errors);
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(errors.messages()[0].rfind("bad.toml:2: ", 0), 0u) << errors.messages()[0];
}

TEST(ConfigSection, MissingFile) {
  ConfigErrors errors;
  ConfigDocument::load_file("/nonexistent/mailroom.toml", &errors);
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_NE(errors.messages()[0].find("/nonexistent/mailroom.toml"), std::string::npos);
}

TEST(ConfigSection, ArrayOfTables) {
  ConfigErrors errors;
  auto doc = ConfigDocument::load_string(
      "[[listener]]\nname = \"a\"\n[[listener]]\nname = \"b\"\nbogus = true\n", "l.toml", &errors);
  auto root = doc->root();
  auto ls = root.children("listener");
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].get_string("name", ""), "a");
  EXPECT_EQ(ls[1].get_string("name", ""), "b");
  for (auto& l : ls) l.finish();
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_EQ(errors.messages()[0], "l.toml:5: listener[1].bogus: unknown key");
}

}  // namespace
}  // namespace mailroom::core
