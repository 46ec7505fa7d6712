// The RFC 5267 4 grammar: RETURN (UPDATE CONTEXT PARTIAL lo:hi) on SEARCH and SORT, and
// CANCELUPDATE with quoted tags; malformed input refused with a reason. SEARCHRES (RFC 5182,
// part of RFC 9051): RETURN (SAVE) and "$" where a command takes a sequence set.
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

TEST(SearchResGrammar, SaveAndDollar) {
  auto r = parse_command("a SEARCH RETURN (save min) UID $ OR $ 2:*");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& ret = r.command->search_return;
  EXPECT_TRUE(ret.present && ret.save && ret.min);
  EXPECT_FALSE(ret.all);
  const auto& keys = r.command->search.children;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys[0].set.saved);
  EXPECT_TRUE(keys[0].set.ranges.empty());
  EXPECT_TRUE(keys[1].children[0].set.saved);
  EXPECT_FALSE(keys[1].children[1].set.saved);
  for (const char* ok : {"a FETCH $ (FLAGS)", "a UID FETCH $ FLAGS", "a STORE $ +FLAGS (\\Seen)",
                         "a UID STORE $ -FLAGS.SILENT (\\Seen)", "a COPY $ Trash",
                         "a UID MOVE $ Trash", "a UID EXPUNGE $", "a SEARCH $"}) {
    auto c = parse_command(ok);
    ASSERT_TRUE(c.ok()) << ok << ": " << c.error.message;
    if (c.command->name != "SEARCH") EXPECT_TRUE(c.command->set.saved) << ok;
  }
  // "$" only alone (RFC 5182 2.1 ABNF), and not where no saved result makes sense.
  for (const char* bad :
       {"a FETCH 1,$ (FLAGS)", "a FETCH $:3 FLAGS", "a FETCH $$ FLAGS", "a SEARCH 1,$",
        "a REPLACE $ INBOX {1+}\r\nx", "a SELECT INBOX (QRESYNC (1 1 $))",
        "a SEARCH RETURN (SAVE NOPE) ALL", "a COPY $"}) {
    auto c = parse_command(bad);
    EXPECT_FALSE(c.ok()) << bad;
    EXPECT_FALSE(c.error.message.empty()) << bad;
  }
  // A broken SAVE search says so, for the session to empty "$".
  EXPECT_TRUE(parse_command("a SEARCH RETURN (NOPE SAVE) ALL").error.failed_save);
  EXPECT_TRUE(parse_command("a SEARCH RETURN (SAVE) NOTAKEY").error.failed_save);
  EXPECT_FALSE(parse_command("a SEARCH NOTAKEY").error.failed_save);
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
