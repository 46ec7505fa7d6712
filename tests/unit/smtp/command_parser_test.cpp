// Table tests of the SMTP command parser on raw wire strings (CRLF already removed).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "src/smtp/proto/command.h"

namespace mailroom::smtp::proto {
namespace {

struct ErrorCase {
  const char* line;
  int code;
  const char* enhanced;
};

class ParserErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParserErrors, RejectsWithReply) {
  const auto& c = GetParam();
  auto r = parse_command(c.line);
  ASSERT_TRUE(std::holds_alternative<Reply>(r)) << c.line;
  const auto& reply = std::get<Reply>(r);
  EXPECT_EQ(reply.code, c.code) << c.line << " -> " << reply.wire();
  EXPECT_EQ(reply.enhanced, c.enhanced) << c.line;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParserErrors,
    ::testing::Values(
        ErrorCase{"", 500, "5.5.2"}, ErrorCase{"FOO bar", 500, "5.5.2"},
        ErrorCase{"MAILFROM:<a@b.c>", 500, "5.5.2"}, ErrorCase{"EHLO", 501, "5.5.4"},
        ErrorCase{"HELO   ", 501, "5.5.4"}, ErrorCase{"MAIL", 501, "5.5.4"},
        ErrorCase{"MAIL TO:<a@b.c>", 501, "5.5.4"}, ErrorCase{"MAIL FROM:a@b.c", 501, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c", 501, "5.5.4"}, ErrorCase{"MAIL FROM:<a@b.c>x", 501, "5.5.4"},
        ErrorCase{"MAIL FROM:<a>", 501, "5.1.7"}, ErrorCase{"MAIL FROM:<a@>", 501, "5.1.7"},
        ErrorCase{"MAIL FROM:<@b.c>", 501, "5.1.7"},
        ErrorCase{"MAIL FROM:<a..b@c.d>", 501, "5.1.7"},
        ErrorCase{"MAIL FROM:<a@b..c>", 501, "5.1.7"}, ErrorCase{"MAIL FROM:<@x.y:>", 501, "5.1.7"},
        ErrorCase{"MAIL FROM:<\"unterminated@b.c>", 501, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> SIZE=abc", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> SIZE", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> BODY=9BIT", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> SMTPUTF8=yes", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> RET=ALL", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> ENVID=a+zz", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> XFOO=1", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> =1", 555, "5.5.4"},
        ErrorCase{"MAIL FROM:<a@b.c> NOTIFY=NEVER", 555, "5.5.4"},
        ErrorCase{"RCPT TO:<>", 501, "5.1.3"}, ErrorCase{"RCPT TO:<bob>", 501, "5.1.3"},
        ErrorCase{"RCPT TO:bob@example.com", 501, "5.5.4"},
        ErrorCase{"RCPT TO:<b@c.d> NOTIFY=SOMETIMES", 555, "5.5.4"},
        ErrorCase{"RCPT TO:<b@c.d> NOTIFY=SUCCESS,BOGUS", 555, "5.5.4"},
        ErrorCase{"RCPT TO:<b@c.d> ORCPT=b@c.d", 555, "5.5.4"},
        ErrorCase{"RCPT TO:<b@c.d> SIZE=10", 555, "5.5.4"}, ErrorCase{"DATA now", 501, "5.5.4"},
        ErrorCase{"RSET x", 501, "5.5.4"}, ErrorCase{"QUIT please", 501, "5.5.4"},
        ErrorCase{"STARTTLS x", 501, "5.5.4"}, ErrorCase{"VRFY", 501, "5.5.4"},
        ErrorCase{"BDAT", 501, "5.5.4"}, ErrorCase{"BDAT x", 501, "5.5.4"},
        ErrorCase{"BDAT -1", 501, "5.5.4"}, ErrorCase{"BDAT 10 FIRST", 501, "5.5.4"},
        ErrorCase{"BDAT 99999999999999999999", 501, "5.5.4"}, ErrorCase{"AUTH", 501, "5.5.4"},
        ErrorCase{"AUTH PL@IN", 501, "5.5.4"}, ErrorCase{"AUTH PLAIN a b", 501, "5.5.4"},
        ErrorCase{"NOOP\x01", 500, "5.5.2"}, ErrorCase{"MAIL FROM:<a@b.c>\x7f", 500, "5.5.2"}));

TEST(Parser, NulByteIsRejected) {
  auto r = parse_command(std::string("HELO a\0b", 8));
  ASSERT_TRUE(std::holds_alternative<Reply>(r));
  EXPECT_EQ(std::get<Reply>(r).code, 500);
}

Command ok(std::string_view line) {
  auto r = parse_command(line);
  if (auto* reply = std::get_if<Reply>(&r)) {
    ADD_FAILURE() << line << " -> " << reply->wire();
    return {};
  }
  return std::get<Command>(r);
}

TEST(Parser, VerbsAreCaseInsensitive) {
  EXPECT_EQ(ok("ehlo client.example").verb, Verb::ehlo);
  EXPECT_EQ(ok("ehlo client.example").argument, "client.example");
  EXPECT_EQ(ok("Helo x").verb, Verb::helo);
  EXPECT_EQ(ok("LHLO x").verb, Verb::lhlo);
  EXPECT_EQ(ok("data").verb, Verb::data);
  EXPECT_EQ(ok("rset").verb, Verb::rset);
  EXPECT_EQ(ok("noop").verb, Verb::noop);
  EXPECT_EQ(ok("NOOP anything").verb, Verb::noop);
  EXPECT_EQ(ok("quit").verb, Verb::quit);
  EXPECT_EQ(ok("help").verb, Verb::help);
  EXPECT_EQ(ok("starttls").verb, Verb::starttls);
  EXPECT_EQ(ok("VRFY bob").argument, "bob");
  EXPECT_EQ(ok("EXPN staff").verb, Verb::expn);
}

TEST(Parser, MailFromPlain) {
  auto c = ok("MAIL FROM:<Alice@Example.COM>");
  EXPECT_EQ(c.verb, Verb::mail);
  EXPECT_FALSE(c.null_path);
  EXPECT_EQ(c.address.local, "Alice");
  EXPECT_EQ(c.address.domain, "Example.COM");
  EXPECT_EQ(c.address.key(), "alice@example.com");
}

TEST(Parser, MailFromLowercaseAndSpaceTolerated) {
  auto c = ok("mail from: <a@b.c>");
  EXPECT_EQ(c.address.key(), "a@b.c");
}

TEST(Parser, NullReversePath) {
  auto c = ok("MAIL FROM:<>");
  EXPECT_TRUE(c.null_path);
  auto d = ok("MAIL FROM:<> SIZE=100");
  EXPECT_TRUE(d.null_path);
  EXPECT_EQ(*d.size, 100u);
}

TEST(Parser, MailParameters) {
  auto c =
      ok("MAIL FROM:<a@b.c> SIZE=12345 BODY=8bitmime SMTPUTF8 RET=hdrs "
         "ENVID=QQ314159+2Bx AUTH=<>");
  ASSERT_TRUE(c.size.has_value());
  EXPECT_EQ(*c.size, 12345u);
  EXPECT_EQ(c.body, Body::eight_bit_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_EQ(c.ret, "HDRS");
  EXPECT_EQ(c.envid, "QQ314159+2Bx");
  EXPECT_EQ(c.auth, "<>");
  EXPECT_EQ(ok("MAIL FROM:<a@b.c> BODY=BINARYMIME").body, Body::binary_mime);
  EXPECT_EQ(ok("MAIL FROM:<a@b.c> BODY=7BIT").body, Body::seven_bit);
  EXPECT_EQ(ok("MAIL FROM:<a@b.c> AUTH=bob+40example.com").auth, "bob+40example.com");
}

TEST(Parser, RcptParameters) {
  auto c = ok("RCPT TO:<b@c.d> NOTIFY=success,failure ORCPT=rfc822;b+40c.d");
  EXPECT_EQ(c.notify, "SUCCESS,FAILURE");
  EXPECT_EQ(c.orcpt, "rfc822;b+40c.d");
  EXPECT_EQ(ok("RCPT TO:<b@c.d> NOTIFY=NEVER").notify, "NEVER");
}

TEST(Parser, SourceRouteAcceptedAndIgnored) {
  // RFC 5321 section 4.1.2 / 3.6.1: the route is syntax only; the mailbox is what counts.
  auto c = ok("RCPT TO:<@relay.one,@relay.two:victim@elsewhere.org>");
  EXPECT_TRUE(c.had_source_route);
  EXPECT_EQ(c.address.key(), "victim@elsewhere.org");
}

TEST(Parser, PercentHackIsOneLocalPart) {
  // "user%remote@ours" is a local part containing '%', never a relay instruction.
  auto c = ok("RCPT TO:<victim%elsewhere.org@example.com>");
  EXPECT_EQ(c.address.local, "victim%elsewhere.org");
  EXPECT_EQ(c.address.domain, "example.com");
}

TEST(Parser, QuotedLocalPart) {
  auto c = ok("RCPT TO:<\"victim@elsewhere.org\"@example.com>");
  EXPECT_EQ(c.address.local, "victim@elsewhere.org");
  EXPECT_EQ(c.address.domain, "example.com");
  auto d = ok("RCPT TO:<\"a>b\"@example.com> NOTIFY=NEVER");
  EXPECT_EQ(d.address.local, "a>b");
  EXPECT_EQ(d.notify, "NEVER");
  auto e = ok("RCPT TO:<\"a\\\"b\"@example.com>");
  EXPECT_EQ(e.address.local, "a\"b");
}

TEST(Parser, PostmasterWithoutDomain) {
  auto c = ok("RCPT TO:<Postmaster>");
  EXPECT_TRUE(c.postmaster_only);
}

TEST(Parser, Utf8Addresses) {
  auto c =
      ok("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
         "cher.example> SMTPUTF8");
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.address.has_utf8());
}

TEST(Parser, AddressLiteral) {
  auto c = ok("RCPT TO:<root@[127.0.0.1]>");
  EXPECT_EQ(c.address.domain, "[127.0.0.1]");
}

TEST(Parser, Bdat) {
  auto c = ok("BDAT 1000");
  EXPECT_EQ(c.chunk_size, 1000u);
  EXPECT_FALSE(c.last);
  auto d = ok("bdat 0 last");
  EXPECT_EQ(d.chunk_size, 0u);
  EXPECT_TRUE(d.last);
}

TEST(Parser, Auth) {
  auto c = ok("AUTH plain AGFsaWNlAHdvbmRlcmxhbmQ=");
  EXPECT_EQ(c.mechanism, "PLAIN");
  ASSERT_TRUE(c.initial_response.has_value());
  EXPECT_EQ(*c.initial_response, "AGFsaWNlAHdvbmRlcmxhbmQ=");
  auto d = ok("AUTH LOGIN");
  EXPECT_EQ(d.mechanism, "LOGIN");
  EXPECT_FALSE(d.initial_response.has_value());
  EXPECT_EQ(*ok("AUTH PLAIN =").initial_response, "=");
}

TEST(Xtext, Decodes) {
  EXPECT_EQ(*decode_xtext("a+2Bb"), "a+b");
  EXPECT_EQ(*decode_xtext("plain"), "plain");
  EXPECT_FALSE(decode_xtext("a+2").has_value());
  EXPECT_FALSE(decode_xtext("a+").has_value());
  EXPECT_FALSE(decode_xtext("a+2b").has_value());  // lower-case hex is not xtext
  EXPECT_FALSE(decode_xtext("a=b").has_value());
}

// A syntax error reply: 500, 501 or 555 with a 5.x.y enhanced code, and a wire form of CRLF
// lines with no bare CR or LF.
void expect_syntax_reply(const Reply& r, const std::string& line) {
  EXPECT_TRUE(r.code == 500 || r.code == 501 || r.code == 555) << line << " -> " << r.wire();
  EXPECT_TRUE(std::regex_match(r.enhanced, std::regex(R"(5\.\d\.\d{1,3})")))
      << line << " -> " << r.enhanced;
  const std::string w = r.wire();
  ASSERT_GE(w.size(), 2u) << line;
  EXPECT_EQ(w.substr(w.size() - 2), "\r\n") << line;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\r') {
      EXPECT_TRUE(i + 1 < w.size() && w[i + 1] == '\n') << line << ": bare CR";
    }
    if (w[i] == '\n') {
      EXPECT_TRUE(i > 0 && w[i - 1] == '\r') << line << ": bare LF";
    }
  }
  EXPECT_EQ(w.rfind(std::to_string(r.code) + " " + r.enhanced + " ", 0), 0u) << w;
}

// Every prefix of a valid line is either a complete command of the same verb (exactly the
// prefixes listed) or a syntax error reply. Not crashing on arbitrary input is the fuzzer's
// job (tests/fuzz); this pins what each cut-off line means.
TEST(Parser, EveryPrefixIsACommandOrASyntaxError) {
  struct Case {
    std::string line;
    Verb verb;
    std::vector<std::string> commands;  // the prefixes that parse as commands, shortest first
  };
  // A trailing space after a complete command is tolerated; an empty ORCPT xtext is valid
  // (RFC 3461 4.2: xtext = *( xchar / hexchar )), a cut "+4" hex escape is not; any word is
  // a syntactically valid SASL mechanism name.
  const std::string mail = "MAIL FROM:<\"q\\\"x\"@[IPv6:::1]>";
  const std::string rcpt = "RCPT TO:<@a,@b:c@d.e> NOTIFY=SUCCESS";
  const std::vector<Case> cases = {
      {mail + " SIZE=1 BODY=8BITMIME",
       Verb::mail,
       {mail, mail + " ", mail + " SIZE=1", mail + " SIZE=1 ", mail + " SIZE=1 BODY=8BITMIME"}},
      {rcpt + " ORCPT=rfc822;c+40d.e",
       Verb::rcpt,
       {"RCPT TO:<@a,@b:c@d.e>", "RCPT TO:<@a,@b:c@d.e> ", rcpt, rcpt + " ",
        rcpt + " ORCPT=rfc822;", rcpt + " ORCPT=rfc822;c", rcpt + " ORCPT=rfc822;c+40",
        rcpt + " ORCPT=rfc822;c+40d", rcpt + " ORCPT=rfc822;c+40d.",
        rcpt + " ORCPT=rfc822;c+40d.e"}},
      {"BDAT 12 LAST", Verb::bdat, {"BDAT 1", "BDAT 12", "BDAT 12 ", "BDAT 12 LAST"}},
      {"AUTH PLAIN AAAA",
       Verb::auth,
       {"AUTH P", "AUTH PL", "AUTH PLA", "AUTH PLAI", "AUTH PLAIN", "AUTH PLAIN ", "AUTH PLAIN A",
        "AUTH PLAIN AA", "AUTH PLAIN AAA", "AUTH PLAIN AAAA"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> got;
    for (size_t n = 0; n <= c.line.size(); ++n) {
      std::string prefix = c.line.substr(0, n);
      auto r = parse_command(prefix);
      if (const auto* cmd = std::get_if<Command>(&r)) {
        EXPECT_EQ(cmd->verb, c.verb) << prefix;
        got.push_back(prefix);
      } else {
        expect_syntax_reply(std::get<Reply>(r), prefix);
      }
    }
    ASSERT_FALSE(got.empty()) << c.line;
    EXPECT_EQ(got.back(), c.line) << "the whole line must be a command";
    EXPECT_EQ(got, c.commands) << c.line;
  }
}

}  // namespace
}  // namespace mailroom::smtp::proto
