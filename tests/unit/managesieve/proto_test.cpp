// The ManageSieve command grammar (RFC 5804 section 4) on raw wire lines: quoted strings,
// literals of both kinds, numbers, and hostile input.
#include <gtest/gtest.h>

#include "src/managesieve/proto/command.h"

namespace mailroom::managesieve::proto {
namespace {

using Need = Assembler::Need;

TEST(ManageSieveProto, QuotedStringsNumbersAndCase) {
  Assembler a(1000);
  ASSERT_EQ(a.feed_line(R"(havespace "my \"script\" \\ x" 1234)"), Need::done);
  EXPECT_EQ(a.command().name, "HAVESPACE");
  ASSERT_EQ(a.command().args.size(), 2u);
  EXPECT_EQ(a.command().args[0].text, "my \"script\" \\ x");
  EXPECT_EQ(a.command().args[1].kind, Argument::Kind::number);
  EXPECT_EQ(a.command().args[1].text, "1234");
  a.reset();
  ASSERT_EQ(a.feed_line("LOGOUT"), Need::done);
  EXPECT_TRUE(a.command().args.empty());
}

TEST(ManageSieveProto, LiteralsBothKinds) {
  Assembler a(1000);
  ASSERT_EQ(a.feed_line("PUTSCRIPT \"s\" {6+}"), Need::literal);
  EXPECT_EQ(a.literal_size(), 6u);
  ASSERT_EQ(a.feed_literal("keep;\n"), Need::line);
  ASSERT_EQ(a.feed_line(""), Need::done);
  ASSERT_EQ(a.command().args.size(), 2u);
  EXPECT_EQ(a.command().args[1].text, "keep;\n");
  EXPECT_TRUE(a.command().args[1].literal);
  a.reset();
  ASSERT_EQ(a.feed_line("RENAMESCRIPT {1}"), Need::literal);
  a.feed_literal("a");
  ASSERT_EQ(a.feed_line(" \"b\""), Need::done);
  EXPECT_EQ(a.command().args[0].text, "a");
  EXPECT_EQ(a.command().args[1].text, "b");
}

TEST(ManageSieveProto, HostileInput) {
  struct Case {
    const char* line;
    const char* error;
  };
  const Case kCases[] = {
      {"", "Expected a command name"},
      {"123", "Expected a command name"},
      {"NOOP\x01", "Bad character after the command name"},
      {"PUTSCRIPT \"x\" {abc}", "Bad literal size"},
      {"PUTSCRIPT \"x\" {}", "Bad literal size"},
      {"PUTSCRIPT \"x\" {5+} trailing", "Bad literal"},
      {"PUTSCRIPT \"x\" {99999999999}", "Bad literal size"},
      {"PUTSCRIPT \"unterminated", "Unterminated quoted string"},
      {"PUTSCRIPT \"bad \\n escape\"", "Bad escape in a quoted string"},
      {"NOOP \"a\"\"b\"", "Expected a space after a string"},
      {"NOOP 12x", "Bad number"},
      {"NOOP 12345678901", "Number too large"},
      {"NOOP x", "Bad argument"},
      {"NOOP 1 2 3 4 5 6 7 8 9", "Too many arguments"},
  };
  for (const auto& c : kCases) {
    Assembler a(1000);
    EXPECT_EQ(a.feed_line(c.line), Need::error) << c.line;
    EXPECT_EQ(a.error(), c.error) << c.line;
  }
  // A literal over the limit: refused; read and dropped up to 16 MiB, beyond that not.
  Assembler a(1000);
  EXPECT_EQ(a.feed_line("PUTSCRIPT \"x\" {2000+}"), Need::error);
  EXPECT_EQ(a.error(), "Literal too large");
  EXPECT_TRUE(a.discard_literal());
  EXPECT_EQ(a.literal_size(), 2000u);
  a.reset();
  EXPECT_EQ(a.feed_line("PUTSCRIPT \"x\" {999999999+}"), Need::error);
  EXPECT_FALSE(a.discard_literal());
  // Many literals cannot make a command grow without bound.
  Assembler b(100);
  Need n = b.feed_line("NOOP {100+}");
  int rounds = 0;
  while (n == Need::literal && rounds < 100) {
    b.feed_literal(std::string(100, 'x'));
    n = b.feed_line("{100+}");
    ++rounds;
  }
  EXPECT_EQ(n, Need::error);
}

TEST(ManageSieveProto, QuoteForResponses) {
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote("two\r\nlines"), "{10}\r\ntwo\r\nlines");
}

}  // namespace
}  // namespace mailroom::managesieve::proto
