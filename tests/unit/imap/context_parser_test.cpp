// The RFC 5267 4 grammar: RETURN (UPDATE CONTEXT PARTIAL lo:hi) on SEARCH and SORT, and
// CANCELUPDATE with quoted tags; malformed input refused with a reason.
#include <gtest/gtest.h>

#include "src/imap/proto/command.h"

namespace mailroom::imap::proto {
namespace {

TEST(ContextGrammar, ReturnOptions) {
  auto r = parse_command("a UID SEARCH RETURN (update context partial 5:2 MIN) UNSEEN");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& ret = r.command->search_return;
  EXPECT_TRUE(ret.present && ret.update && ret.context && ret.min);
  EXPECT_FALSE(ret.all);  // options given: no implicit ALL (RFC 4731 3.1)
  ASSERT_TRUE(ret.partial);
  EXPECT_EQ(ret.partial->first, 2u);
  EXPECT_EQ(ret.partial->second, 5u);
  auto s = parse_command("a SORT RETURN (PARTIAL 1:4294967295 UPDATE) (DATE) UTF-8 ALL");
  ASSERT_TRUE(s.ok()) << s.error.message;
  EXPECT_EQ(s.command->search_return.partial->second, 4294967295u);
  EXPECT_TRUE(s.command->search_return.update);
}

TEST(ContextGrammar, CancelUpdate) {
  auto r = parse_command("a CANCELUPDATE \"B01\" \"B 02\"");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.command->name, "CANCELUPDATE");
  EXPECT_EQ(r.command->args, (std::vector<std::string>{"B01", "B 02"}));
}

TEST(ContextGrammar, MalformedIsRefused) {
  const char* bad[] = {
      "a SEARCH RETURN (PARTIAL) ALL",
      "a SEARCH RETURN (PARTIAL 1) ALL",
      "a SEARCH RETURN (PARTIAL 0:1) ALL",
      "a SEARCH RETURN (PARTIAL 1:0) ALL",
      "a SEARCH RETURN (PARTIAL 01:5) ALL",
      "a SEARCH RETURN (PARTIAL 1:2:3) ALL",
      "a SEARCH RETURN (PARTIAL -1:-5) ALL",
      "a SEARCH RETURN (PARTIAL 1:4294967296) ALL",
      "a SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL",
      "a SEARCH RETURN (UPDATES) ALL",
      "a CANCELUPDATE",
      "a CANCELUPDATE B01",
      "a CANCELUPDATE \"\"",
      "a CANCELUPDATE \"B01\"  \"B02\"",
      "a CANCELUPDATE {3+}\r\nB01",
  };
  for (const char* wire : bad) {
    auto r = parse_command(wire);
    EXPECT_FALSE(r.ok()) << wire;
    EXPECT_FALSE(r.error.message.empty()) << wire;
  }
  std::string many = "a CANCELUPDATE";
  for (int i = 0; i < 101; ++i) many += " \"t\"";
  EXPECT_FALSE(parse_command(many).ok());
}

}  // namespace
}  // namespace mailroom::imap::proto
