// The METADATA grammar (RFC 5464 5) and LIST RETURN (METADATA) (RFC 9590): options, entry
// lists, values as strings, literals and literal8 with NUL, and the entry-name rules of RFC 5464
// 3.2 (every bad name refused with a reason, so the session answers BAD).
#include <gtest/gtest.h>

#include "src/imap/proto/command.h"
#include "src/imap/proto/metadata.h"

namespace mailroom::imap::proto {
namespace {

TEST(MetadataGrammar, GetWithOptionsAndEntryList) {
  auto r = parse_command(
      "a GETMETADATA (MAXSIZE 1024 DEPTH infinity) \"INBOX\" "
      "(/Shared/Comment /private/vendor/Acme/x)");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& m = r.command->metadata;
  EXPECT_EQ(r.command->args, (std::vector<std::string>{"INBOX"}));
  ASSERT_TRUE(m.maxsize);
  EXPECT_EQ(*m.maxsize, 1024u);
  EXPECT_EQ(m.depth, -1);
  // Case-insensitive names (3.2), kept in lower case.
  EXPECT_EQ(m.entries, (std::vector<std::string>{"/shared/comment", "/private/vendor/acme/x"}));

  auto one = parse_command("a GETMETADATA \"\" /shared/admin");
  ASSERT_TRUE(one.ok()) << one.error.message;
  EXPECT_EQ(one.command->args, (std::vector<std::string>{""}));
  EXPECT_EQ(one.command->metadata.depth, 0);
  EXPECT_FALSE(one.command->metadata.maxsize);
  auto d1 = parse_command("a GETMETADATA (DEPTH 1) INBOX /shared");
  EXPECT_FALSE(d1.ok());  // "/shared" alone names no entry
  auto d = parse_command("a GETMETADATA (depth 1) INBOX (/shared/vendor/a)");
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.command->metadata.depth, 1);
}

TEST(MetadataGrammar, SetValuesNilLiteralAndLiteral8) {
  std::string bin("a\0b\r\nc", 6);
  std::string cmd =
      "a SETMETADATA Work (/shared/comment \"hi \\\"there\\\"\" /private/comment NIL "
      "/shared/vendor/x/bin ~{6}\r\n" +
      bin + " /shared/vendor/x/lit {3+}\r\nabc /shared/vendor/x/q \"NIL\")";
  auto r = parse_command(cmd);
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& v = r.command->metadata.values;
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0].first, "/shared/comment");
  EXPECT_EQ(*v[0].second, "hi \"there\"");
  EXPECT_FALSE(v[1].second);  // NIL removes
  EXPECT_EQ(*v[2].second, bin);
  EXPECT_EQ(*v[3].second, "abc");
  EXPECT_EQ(*v[4].second, "NIL");  // a quoted "NIL" is a value
  // The same entry twice: the later value counts.
  auto twice = parse_command("a SETMETADATA x (/shared/comment \"1\" /SHARED/comment \"2\")");
  ASSERT_TRUE(twice.ok());
  ASSERT_EQ(twice.command->metadata.values.size(), 1u);
  EXPECT_EQ(*twice.command->metadata.values[0].second, "2");
}

TEST(MetadataGrammar, BadEntryNames) {
  const char* bad[] = {
      "/shared//comment",
      "/shared/comment/",
      "comment",
      "/foo/bar",
      "/shared",
      "/private",
      "/shared/vendor",
      "\"/shared/comm%nt\"",
      "\"/shared/c*\"",
      "\"/shared/c\tx\"",
      "\"/shared/c\xc3\xb6mment\"",
      "\"\"",
  };
  for (const char* name : bad) {
    auto g = parse_command(std::string("a GETMETADATA INBOX ") + name);
    EXPECT_FALSE(g.ok()) << name;
    EXPECT_EQ(g.error.tag, "a");
    auto s = parse_command(std::string("a SETMETADATA INBOX (") + name + " \"v\")");
    EXPECT_FALSE(s.ok()) << name;
  }
  std::string why;
  EXPECT_FALSE(
      metadata_entry_name(std::string("/shared/") + std::string(kMaxEntryName, 'a'), &why));
  EXPECT_EQ(why, "Entry name too long");
  EXPECT_EQ(*metadata_entry_name("/Private/Vendor/ACME", &why), "/private/vendor/acme");
}

TEST(MetadataGrammar, MalformedCommands) {
  const char* bad[] = {
      "a GETMETADATA",
      "a GETMETADATA INBOX",
      "a GETMETADATA (DEPTH 2) INBOX /shared/comment",
      "a GETMETADATA (DEPTH) INBOX /shared/comment",
      "a GETMETADATA (MAXSIZE) INBOX /shared/comment",
      "a GETMETADATA (MAXSIZE 1 MAXSIZE 2) INBOX /shared/comment",
      "a GETMETADATA (DEPTH 0 DEPTH 1) INBOX /shared/comment",
      "a GETMETADATA (FOO 1) INBOX /shared/comment",
      "a GETMETADATA () INBOX /shared/comment",
      "a GETMETADATA INBOX ()",
      "a GETMETADATA INBOX (/shared/comment",
      "a SETMETADATA INBOX",
      "a SETMETADATA INBOX ()",
      "a SETMETADATA INBOX (/shared/comment)",
      "a SETMETADATA INBOX /shared/comment \"x\"",
      "a SETMETADATA INBOX (/shared/comment ~\"x\")",
      "a SETMETADATA INBOX (/shared/comment {5}\r\nab)",
      "a SETMETADATA INBOX (/shared/comment \"x\"",
  };
  for (const char* c : bad) EXPECT_FALSE(parse_command(c).ok()) << c;
  // At most kMaxMetadataEntries entries in one command.
  std::string many = "a GETMETADATA INBOX (";
  for (size_t i = 0; i <= kMaxMetadataEntries; ++i)
    many += (i ? " " : "") + std::string("/shared/vendor/x/e") + std::to_string(i);
  EXPECT_FALSE(parse_command(many + ")").ok());
}

TEST(MetadataGrammar, ListReturnMetadata) {
  auto r = parse_command(
      "a LIST \"\" * RETURN (CHILDREN METADATA (/shared/comment "
      "(/private/comment) MAXSIZE 10) STATUS (MESSAGES))");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& c = *r.command;
  EXPECT_EQ(c.list_return, (std::vector<std::string>{"CHILDREN", "METADATA", "STATUS"}));
  EXPECT_EQ(c.metadata.entries, (std::vector<std::string>{"/shared/comment", "/private/comment"}));
  EXPECT_EQ(*c.metadata.maxsize, 10u);
  EXPECT_EQ(c.status_items, (std::vector<std::string>{"MESSAGES"}));
  auto after = parse_command("a LIST \"\" % RETURN (METADATA (/shared/comment) MAXSIZE 5)");
  ASSERT_TRUE(after.ok()) << after.error.message;
  EXPECT_EQ(*after.command->metadata.maxsize, 5u);
  EXPECT_FALSE(parse_command("a LIST \"\" % RETURN (METADATA ())").ok());
  EXPECT_FALSE(parse_command("a LIST \"\" % RETURN (METADATA)").ok());
  EXPECT_FALSE(parse_command("a LIST \"\" % RETURN (METADATA (/shared/comment*))").ok());
  EXPECT_FALSE(
      parse_command("a LIST \"\" % RETURN (METADATA (MAXSIZE 1 MAXSIZE 2 /shared/x))").ok());
}

}  // namespace
}  // namespace mailroom::imap::proto
