// Command assembly from lines and literals, fed whole and one byte at a time.
#include <gtest/gtest.h>

#include "src/imap/proto/command_reader.h"

namespace mailroom::imap::proto {
namespace {

std::vector<WireDecoder::Event> feed_bytewise(std::string_view wire, ReaderLimits limits = {},
                                              size_t max_line = 65536) {
  WireDecoder d(limits, max_line);
  std::vector<WireDecoder::Event> all;
  for (char c : wire) {
    for (auto& e : d.feed(std::string_view(&c, 1))) all.push_back(std::move(e));
  }
  return all;
}

TEST(Reader, LiteralsWholeAndBytewise) {
  std::string wire = "a LOGIN {5}\r\nalice {10+}\r\nwonderland\r\nb NOOP\r\n";
  for (int mode = 0; mode < 2; ++mode) {
    std::vector<WireDecoder::Event> ev;
    if (mode == 0) {
      WireDecoder d;
      ev = d.feed(wire);
    } else {
      ev = feed_bytewise(wire);
    }
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_TRUE(ev[0].continuation);  // only the synchronizing literal asks for "+"
    EXPECT_EQ(ev[1].command_or_error, "a LOGIN {5}\r\nalice {10+}\r\nwonderland");
    EXPECT_EQ(ev[2].command_or_error, "b NOOP");
  }
}

TEST(Reader, LimitsAreCheckedBeforeBuffering) {
  ReaderLimits limits;
  limits.max_literal = 100;
  auto ev = feed_bytewise("a APPEND INBOX {999999999999}\r\nb NOOP\r\n", limits);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].error);
  EXPECT_EQ(ev[0].command_or_error, "Literal too large");
  EXPECT_EQ(ev[1].command_or_error, "b NOOP");
  auto ev2 = feed_bytewise("a NOOP " + std::string(200, 'x') + "\r\nb NOOP\r\n", {}, 100);
  ASSERT_EQ(ev2.size(), 2u);
  EXPECT_TRUE(ev2[0].error);
  EXPECT_EQ(ev2[1].command_or_error, "b NOOP");
  auto ev3 = feed_bytewise("a X {99999999999999999999}\r\n");
  ASSERT_EQ(ev3.size(), 1u);
  EXPECT_TRUE(ev3[0].error);
}

TEST(Reader, MultiappendLiteralsBytewiseAndARefusedOneInTheMiddle) {
  // RFC 3502: one continuation per synchronizing literal, one command at the end.
  auto ev = feed_bytewise("a APPEND INBOX {3}\r\nabc (\\Seen) {2+}\r\nxy {1}\r\nz\r\nb NOOP\r\n");
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_TRUE(ev[0].continuation);
  EXPECT_TRUE(ev[1].continuation);
  EXPECT_EQ(ev[2].command_or_error, "a APPEND INBOX {3}\r\nabc (\\Seen) {2+}\r\nxy {1}\r\nz");
  EXPECT_EQ(ev[3].command_or_error, "b NOOP");
  // The second literal is too large: an error instead of its continuation, and the client's
  // next line (no octets were sent for it) is the next command.
  ReaderLimits limits;
  limits.max_literal = 10;
  auto ev2 = feed_bytewise("a APPEND INBOX {3}\r\nabc {11}\r\nb NOOP\r\n", limits);
  ASSERT_EQ(ev2.size(), 3u);
  EXPECT_TRUE(ev2[0].continuation);
  EXPECT_TRUE(ev2[1].error);
  EXPECT_EQ(ev2[1].command_or_error, "Literal too large");
  EXPECT_EQ(ev2[2].command_or_error, "b NOOP");
}

TEST(Reader, BareLfAndBraceAtoms) {
  auto ev = feed_bytewise("a NOOP\nb SEARCH SUBJECT {x}\r\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].command_or_error, "a NOOP");
  EXPECT_EQ(ev[1].command_or_error, "b SEARCH SUBJECT {x}");
}

}  // namespace
}  // namespace mailroom::imap::proto
