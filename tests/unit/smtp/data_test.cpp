// DataReader on raw wire strings: where DATA ends (SMTP smuggling), dot-stuffing, bare LF,
// size, NUL and over-long lines.
#include "src/smtp/proto/data.h"

#include <gtest/gtest.h>

#include "tests/fakes/line_splitter.h"

namespace mailroom::smtp::proto {
namespace {

struct Outcome {
  bool ended = false;
  std::string body;
  std::string rest;  // wire bytes after the end (the next commands)
  std::optional<Refusal> refusal;
};

// Feeds `wire` (what follows "DATA\r\n") until the end of data.
Outcome run(std::string_view wire, bool reject_bare_lf = true, uint64_t max_size = 1 << 20,
            std::size_t max_line = 998) {
  DataLimits limits;
  limits.reject_bare_lf = reject_bare_lf;
  limits.max_size = max_size;
  DataReader r(limits);
  Outcome o;
  std::size_t consumed = 0;
  for (const auto& l : testing::split_wire_lines(wire, max_line)) {
    // Recompute the consumed length of this line in the original bytes.
    consumed = wire.find('\n', consumed) + 1;
    if (r.add_line(l.text, l.bare_lf, l.too_long)) {
      o.ended = true;
      o.rest = std::string(wire.substr(consumed));
      o.refusal = r.refusal();
      o.body = r.take_body();
      return o;
    }
  }
  return o;
}

TEST(DataReader, EndsOnlyAtCrlfDotCrlf) {
  auto o = run("Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.body, "Subject: a\r\n\r\nbody\r\n");
  EXPECT_EQ(o.rest, "QUIT\r\n");
  EXPECT_FALSE(o.refusal);
  EXPECT_TRUE(run(".\r\n").ended);  // an empty message
}

TEST(DataReader, FakeEndsAreContent) {
  const std::string smuggled = "MAIL FROM:<x@y>\r\nRCPT TO:<v@example.com>\r\nDATA\r\nevil\r\n";
  for (const char* fake : {"\n.\r\n", "\n.\n", "\r\n.\n", "\r.\r\n", "\n.\r\r\n", ".\n"}) {
    for (bool reject : {true, false}) {
      auto o = run(std::string("hello") + fake + smuggled + ".\r\nNOOP\r\n", reject);
      ASSERT_TRUE(o.ended) << fake;
      EXPECT_EQ(o.rest, "NOOP\r\n") << fake;  // the forgery never became commands
      bool bare = std::string_view(fake).find("\n") != std::string_view::npos &&
                  std::string_view(fake) != "\r.\r\n" && std::string_view(fake) != "\r\n.\r\r\n";
      if (reject && bare) {
        ASSERT_TRUE(o.refusal) << fake;
        EXPECT_EQ(o.refusal->code, 554);
      } else {
        EXPECT_FALSE(o.refusal) << fake;
        EXPECT_NE(o.body.find("MAIL FROM:<x@y>\r\n"), std::string::npos) << fake;
      }
    }
  }
}

TEST(DataReader, AcceptModeStoresCrlf) {
  auto o = run("a\nb\r\n.\r\n", /*reject_bare_lf=*/false);
  ASSERT_TRUE(o.ended);
  EXPECT_FALSE(o.refusal);
  EXPECT_EQ(o.body, "a\r\nb\r\n");
}

TEST(DataReader, DotStuffing) {
  auto o = run("..leading\r\n..\r\n.\r\n");
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.body, ".leading\r\n.\r\n");
}

TEST(DataReader, OverLongLineAndItsEnding) {
  std::string longline(2000, 'x');
  auto o = run(longline + "\r\n.\r\nNOOP\r\n");
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.rest, "NOOP\r\n");
  ASSERT_TRUE(o.refusal);
  EXPECT_EQ(o.refusal->code, 554);
  // An over-long line ending in a bare LF cannot make the next "." an end.
  o = run(longline + "\n.\r\nRSET\r\n.\r\nNOOP\r\n");
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.rest, "NOOP\r\n");
}

TEST(DataReader, SizeAndNul) {
  auto o = run("0123456789\r\n0123456789\r\n.\r\n", true, 15);
  ASSERT_TRUE(o.refusal);
  EXPECT_EQ(o.refusal->code, 552);
  o = run(std::string("a\0b\r\n.\r\n", 8));
  ASSERT_TRUE(o.refusal);
  EXPECT_EQ(std::string(o.refusal->text), "Message contains NUL characters");
}

TEST(DataReader, BdatBareLfHelpers) {
  EXPECT_FALSE(has_bare_lf("a\r\nb\r\n"));
  EXPECT_TRUE(has_bare_lf("a\nb"));
  EXPECT_TRUE(has_bare_lf("\n"));
  EXPECT_EQ(crlf_line_ends("a\nb\r\n\nc"), "a\r\nb\r\n\r\nc");
}

}  // namespace
}  // namespace mailroom::smtp::proto
