#include "src/outbound/reply_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailroom::outbound {
namespace {

// Every reply `wire` holds, fed in pieces of `step` bytes (0: all at once); `error` gets the
// parser's error ("" when none).
std::vector<SmtpReply> parse_all(const std::string& wire, size_t step, std::string* error) {
  ReplyParser parser;
  std::vector<SmtpReply> out;
  size_t at = 0;
  do {
    size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
    parser.feed(std::string_view(wire).substr(at, n));
    at += n;
    while (auto r = parser.next()) out.push_back(std::move(*r));
  } while (at < wire.size() && !parser.failed());
  *error = parser.error();
  return out;
}

std::vector<SmtpReply> parse_all(const std::string& wire) {
  std::string error;
  auto out = parse_all(wire, 0, &error);
  EXPECT_EQ(error, "");
  return out;
}

std::string parse_error(const std::string& wire) {
  std::string error;
  parse_all(wire, 0, &error);
  return error;
}

const std::string kEhlo =
    "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
    "250 auth plain LOGIN\r\n";

TEST(ReplyParser, SingleLine) {
  auto replies = parse_all("220 mx.example.org ESMTP ready\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 220);
  EXPECT_EQ(replies[0].text, "mx.example.org ESMTP ready");
  EXPECT_EQ(replies[0].status, "");
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{"mx.example.org ESMTP ready"});
}

TEST(ReplyParser, MultiLineJoinsText) {
  auto replies = parse_all(kEhlo);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].lines.size(), 5u);
  EXPECT_EQ(replies[0].text, "mx.example.org Hello PIPELINING SIZE 1000 8BITMIME auth plain LOGIN");
}

TEST(ReplyParser, SplitAtEveryByteBoundaryGivesTheSameReplies) {
  const std::string wire =
      kEhlo + "250 2.1.0 Ok\r\n354 go ahead\n550-5.7.1 no\r\n550 5.7.1 way\r\n";
  std::string error;
  auto whole = parse_all(wire, 0, &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(whole.size(), 4u);
  for (size_t step = 1; step <= 7; ++step) {
    auto pieces = parse_all(wire, step, &error);
    EXPECT_EQ(error, "") << step;
    ASSERT_EQ(pieces.size(), whole.size()) << step;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(pieces[i].code, whole[i].code);
      EXPECT_EQ(pieces[i].status, whole[i].status);
      EXPECT_EQ(pieces[i].text, whole[i].text);
      EXPECT_EQ(pieces[i].lines, whole[i].lines);
    }
  }
  // One cut anywhere: what arrives in the second read completes the reply.
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    ReplyParser parser;
    std::vector<SmtpReply> got;
    parser.feed(wire.substr(0, cut));
    while (auto r = parser.next()) got.push_back(std::move(*r));
    parser.feed(wire.substr(cut));
    while (auto r = parser.next()) got.push_back(std::move(*r));
    ASSERT_FALSE(parser.failed()) << cut;
    ASSERT_EQ(got.size(), whole.size()) << cut;
    EXPECT_EQ(got[0].text, whole[0].text) << cut;
    EXPECT_EQ(got[3].text, whole[3].text) << cut;
  }
}

TEST(ReplyParser, IncompleteReplyWaitsForMore) {
  ReplyParser parser;
  parser.feed("250-first\r\n250 sec");
  EXPECT_FALSE(parser.next());
  EXPECT_FALSE(parser.failed());
  parser.feed("ond\r");
  EXPECT_FALSE(parser.next());
  parser.feed("\n");
  auto r = parser.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "first second");
}

TEST(ReplyParser, BareLfEndsALine) {
  auto replies = parse_all("250-one\n250-two\r\n250 three\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"one", "two", "three"}));
}

TEST(ReplyParser, CrInsideALineIsText) {
  // Only the CR before the LF belongs to the line end; a lone CR is a control character.
  auto replies = parse_all("250-a\rb\n250 c\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"a b", "c"}));
}

TEST(ReplyParser, EmptyLinesAddNoSpaces) {
  // Found by fuzz_smtp_reply: an empty first line added no space but an empty later line
  // added two.
  auto r = parse_all("451-\r\n451-4.7.1 try\r\n451-\r\n451 later\r\n")[0];
  EXPECT_EQ(r.text, "4.7.1 try later");
  EXPECT_EQ(r.lines, (std::vector<std::string>{"", "4.7.1 try", "", "later"}));
  EXPECT_EQ(r.status, "4.7.1");
}

TEST(ReplyParser, CodeWithoutText) {
  auto replies = parse_all("250\r\n221 \r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].text, "");
  EXPECT_EQ(replies[1].code, 221);
}

TEST(ReplyParser, EnhancedStatusWhenItsClassMatchesTheCode) {
  EXPECT_EQ(parse_all("250 2.1.5 Ok\r\n")[0].status, "2.1.5");
  EXPECT_EQ(parse_all("550 5.7.1 Relaying denied\r\n")[0].status, "5.7.1");
  EXPECT_EQ(parse_all("451 4.123.999 later\r\n")[0].status, "4.123.999");
  EXPECT_EQ(parse_all("550 2.1.5 odd\r\n")[0].status, "");  // class 2 in a 5yz reply
  EXPECT_EQ(parse_all("250 5.0.0 odd\r\n")[0].status, "");
  EXPECT_EQ(parse_all("354 3.0.0 go\r\n")[0].status, "");  // there is no class 3
  // The text only mentions something like it.
  EXPECT_EQ(parse_all("550 see 5.7.1\r\n")[0].status, "");
  EXPECT_EQ(parse_all("550 5.7.1x no\r\n")[0].status, "");
  EXPECT_EQ(parse_all("550 5..11 no\r\n")[0].status, "");
  EXPECT_EQ(parse_all("550 5.1234.1 no\r\n")[0].status, "");
  EXPECT_EQ(parse_all("550 5.1. no\r\n")[0].status, "");
  EXPECT_EQ(parse_all("550 5.1.1.1 no\r\n")[0].status, "");
}

TEST(ReplyParser, EnhancedStatusFromALaterLine) {
  auto r = parse_all("550-mx.example.org says\r\n550 5.1.1 unknown user\r\n")[0];
  EXPECT_EQ(r.status, "5.1.1");
  EXPECT_EQ(r.text, "mx.example.org says 5.1.1 unknown user");
}

TEST(ReplyParser, ControlCharactersReplaced) {
  auto r = parse_all(std::string("550 5.7.1 a\tb\0c\x1b[31md\x7f\r\n", 25))[0];
  EXPECT_EQ(r.text, "5.7.1 a b c [31md ");
  EXPECT_EQ(r.status, "5.7.1");
}

TEST(ReplyParser, MalformedLines) {
  for (const char* wire : {"25\r\n", "abc\r\n", "250x\r\n", "2500 hi\r\n", "25a ok\r\n", "\r\n",
                           " 250 ok\r\n", "099 hi\r\n", "000 hi\r\n", "650 hi\r\n", "150 hi\r\n"}) {
    EXPECT_EQ(parse_error(wire).rfind("malformed reply: ", 0), 0u) << wire;
  }
  EXPECT_EQ(parse_error("25\x01\r\n"), "malformed reply: \"25?\"");
}

TEST(ReplyParser, MixedCodesInOneReplyAreMalformed) {
  std::string error;
  auto replies = parse_all("250-one\r\n550 two\r\n", 0, &error);
  EXPECT_TRUE(replies.empty());
  EXPECT_EQ(error, "malformed reply: code 550 inside a 250 reply: \"550 two\"");
  // Different codes in consecutive replies are fine.
  EXPECT_EQ(parse_all("250 one\r\n550 two\r\n").size(), 2u);
}

TEST(ReplyParser, ErrorIsFinal) {
  ReplyParser parser;
  parser.feed("bad\r\n250 ok\r\n");
  EXPECT_FALSE(parser.next());
  EXPECT_TRUE(parser.failed());
  parser.feed("250 ok\r\n");
  EXPECT_FALSE(parser.next());
  EXPECT_TRUE(parser.failed());
}

TEST(ReplyParser, LineLengthLimit) {
  const std::string longest = "250 " + std::string(kMaxReplyLine - 4, 'x');
  EXPECT_EQ(parse_all(longest + "\r\n")[0].text.size(), kMaxReplyLine - 4);
  EXPECT_EQ(parse_all(longest + "\n")[0].text.size(), kMaxReplyLine - 4);
  const std::string limit = "reply line longer than 4096 bytes";
  EXPECT_EQ(parse_error(longest + "y\r\n"), limit);
  // Without its line end, too: the parser does not wait for the rest of a huge line.
  std::string error;
  for (size_t step : {0, 1, 100, 4096}) {
    parse_all(longest + "yy", step, &error);
    EXPECT_EQ(error, limit) << step;
    parse_all(longest + "\r", step, &error);  // the LF may still come
    EXPECT_EQ(error, "") << step;
  }
}

TEST(ReplyParser, LineCountLimit) {
  std::string wire;
  for (size_t i = 1; i < kMaxReplyLines; ++i) wire += "250-line\r\n";
  EXPECT_EQ(parse_all(wire + "250 last\r\n")[0].lines.size(), kMaxReplyLines);
  EXPECT_EQ(parse_error(wire + "250-one more\r\n"), "reply with more than 200 lines");
}

TEST(ReplyParser, ClearDropsBufferedBytes) {
  ReplyParser parser;
  parser.feed("220 ready\r\n250-injected\r\n");  // RFC 3207 5: a STARTTLS injection
  ASSERT_TRUE(parser.next());
  parser.clear();
  parser.feed("250 after tls\r\n");
  auto r = parser.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, std::vector<std::string>{"after tls"});
}

TEST(EhloExtensions, KeywordsSizeAndAuth) {
  auto ext = parse_ehlo_extensions(parse_all(kEhlo)[0].lines);
  EXPECT_EQ(ext.keywords, (std::set<std::string>{"PIPELINING", "SIZE", "8BITMIME", "AUTH"}));
  EXPECT_TRUE(ext.has("PIPELINING"));
  EXPECT_FALSE(ext.has("STARTTLS"));
  EXPECT_EQ(ext.size_limit, 1000u);
  EXPECT_EQ(ext.auth_mechanisms, (std::set<std::string>{"PLAIN", "LOGIN"}));
}

TEST(EhloExtensions, GreetingLineIsNoKeyword) {
  auto ext = parse_ehlo_extensions({"SIZE 10"});
  EXPECT_TRUE(ext.keywords.empty());
  EXPECT_EQ(ext.size_limit, 0u);
}

TEST(EhloExtensions, SizeValues) {
  auto size = [](const std::string& line) {
    return parse_ehlo_extensions({"mx", line}).size_limit;
  };
  EXPECT_EQ(size("SIZE"), 0u);
  EXPECT_EQ(size("size 52428800"), 52428800u);
  EXPECT_EQ(size("SIZE  7"), 7u);
  EXPECT_EQ(size("SIZE 0"), 0u);
  EXPECT_EQ(size("SIZE -1"), 0u);
  EXPECT_EQ(size("SIZE 12abc"), 0u);
  EXPECT_EQ(size("SIZE 99999999999999999999999"), 0u);  // overflow: no usable limit
  EXPECT_EQ(size("SIZE 18446744073709551615"), 18446744073709551615u);
}

TEST(EhloExtensions, AuthWithoutMechanismsAndEmptyLines) {
  auto ext = parse_ehlo_extensions({"mx", "AUTH", "", "AUTH  xoauth2 ", "auth=plain"});
  EXPECT_TRUE(ext.has("AUTH"));
  EXPECT_TRUE(ext.has("AUTH=PLAIN"));  // the pre-RFC 4954 form is only a keyword
  EXPECT_EQ(ext.auth_mechanisms, std::set<std::string>{"XOAUTH2"});
  EXPECT_EQ(ext.keywords.size(), 2u);
}

}  // namespace
}  // namespace mailroom::outbound
