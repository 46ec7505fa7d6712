// Table tests on raw wire strings for the POP3 parser and reply writer.
#include <gtest/gtest.h>

#include "src/core/base64.h"
#include "src/pop3/proto/command.h"
#include "src/pop3/proto/reply.h"

namespace mailroom::pop3::proto {
namespace {

struct ParseCase {
  const char* line;
  bool ok;
  const char* verb;
  std::vector<std::string> args;
};

TEST(Pop3Parse, Table) {
  const ParseCase cases[] = {
      {"STAT", true, "STAT", {}},
      {"stat", true, "STAT", {}},
      {"LiSt 1", true, "LIST", {"1"}},
      {"TOP 1 10", true, "TOP", {"1", "10"}},
      {"USER alice@example.com", true, "USER", {"alice@example.com"}},
      {"PASS pass word with spaces", true, "PASS", {"pass word with spaces"}},
      {"PASS  leading", true, "PASS", {" leading"}},
      {"AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", true, "AUTH", {"PLAIN", "AGFsaWNlAHdvbmRlcmxhbmQ="}},
      {"", false, "", {}},
      {" STAT", false, "", {}},
      {"ST4T", false, "", {}},
      {"TOOLONGVERB", false, "", {}},
      {"LIST  1", false, "", {}},
      {"LIST 1 ", false, "", {}},
      {"LIST\t1", false, "", {}},
      {"RETR 1\x01", false, "", {}},
      {"PASS ", false, "", {}},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_command(c.line);
    ASSERT_EQ(r.is_ok(), c.ok) << (r ? "" : r.status().to_string());
    if (!c.ok) {
      EXPECT_FALSE(r.status().client_message().empty());
      continue;
    }
    EXPECT_EQ(r->verb, c.verb);
    EXPECT_EQ(r->args, c.args);
  }
}

TEST(Pop3Parse, ArgumentLengthLimit) {
  EXPECT_TRUE(parse_command("USER " + std::string(kMaxArgument, 'a')).is_ok());
  EXPECT_FALSE(parse_command("USER " + std::string(kMaxArgument + 1, 'a')).is_ok());
}

TEST(Pop3Parse, Numbers) {
  EXPECT_EQ(parse_number("1"), 1u);
  EXPECT_EQ(parse_number("0"), 0u);
  EXPECT_EQ(parse_number("0004"), 4u);
  EXPECT_EQ(parse_number("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_number("4294967296"));
  EXPECT_FALSE(parse_number("99999999999"));
  EXPECT_FALSE(parse_number(""));
  EXPECT_FALSE(parse_number("-1"));
  EXPECT_FALSE(parse_number("+1"));
  EXPECT_FALSE(parse_number("1a"));
  EXPECT_FALSE(parse_number(" 1"));
}

TEST(Pop3Reply, StatusLines) {
  EXPECT_EQ(ok(""), "+OK\r\n");
  EXPECT_EQ(ok("2 320"), "+OK 2 320\r\n");
  EXPECT_EQ(err("No such message"), "-ERR No such message\r\n");
  EXPECT_EQ(err("locked", RespCode::in_use), "-ERR [IN-USE] locked\r\n");
  EXPECT_EQ(err("x", RespCode::auth), "-ERR [AUTH] x\r\n");
  EXPECT_EQ(err("x", RespCode::sys_temp), "-ERR [SYS/TEMP] x\r\n");
  EXPECT_EQ(err("x", RespCode::sys_perm), "-ERR [SYS/PERM] x\r\n");
}

struct BodyCase {
  const char* in;
  const char* wire;
};

TEST(Pop3Reply, MultilineBodyTable) {
  const BodyCase cases[] = {
      {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
      {"a\nb\n", "a\r\nb\r\n.\r\n"},  // bare LF
      {"a\rb\r", "a\r\nb\r\n.\r\n"},  // bare CR
      {"a\r\nb", "a\r\nb\r\n.\r\n"},  // no final line ending
      {".\r\n", "..\r\n.\r\n"},       // lone dot
      {"x\r\n.hidden\r\n..two\r\n", "x\r\n..hidden\r\n...two\r\n.\r\n"},
      {".first\nmid.dle\n.\n", "..first\r\nmid.dle\r\n..\r\n.\r\n"},
      {"a\r\n\r\nbody\r\n", "a\r\n\r\nbody\r\n.\r\n"},
      {"", ".\r\n"},
      // CRLF throughout (the store's form, the copy-by-runs path) and its edges.
      {"..\r\n.\r\n...\r\n", "...\r\n..\r\n....\r\n.\r\n"},
      {"a\r\n.", "a\r\n..\r\n.\r\n"},  // dot line without line ending
      {".", "..\r\n.\r\n"},
      {"a\r\n.b\rc\r\n", "a\r\n..b\r\nc\r\n.\r\n"},  // one bare CR: slow path
      {"a\r\n.b\nc\r\n", "a\r\n..b\r\nc\r\n.\r\n"},  // one bare LF: slow path
      {"\r\n\r\n.\r\n", "\r\n\r\n..\r\n.\r\n"},
  };
  for (const BodyCase& c : cases) {
    SCOPED_TRACE(c.in);
    std::string out;
    std::size_t octets = append_multiline_body(out, c.in);
    EXPECT_EQ(out, c.wire);
    EXPECT_EQ(octets, crlf_size(c.in));
    // The announced octet count is the unstuffed CRLF form.
    std::string expected_crlf = std::string(c.wire);
    expected_crlf.resize(expected_crlf.size() - 3);  // drop ".\r\n"
    std::size_t stuffed = 0;
    for (std::size_t i = 0; i < expected_crlf.size(); ++i) {
      if (expected_crlf[i] == '.' && (i == 0 || expected_crlf[i - 1] == '\n')) ++stuffed;
    }
    EXPECT_EQ(crlf_size(c.in), expected_crlf.size() - stuffed);
  }
}

TEST(Pop3Reply, TopOf) {
  const std::string m = "Subject: x\r\nFrom: y\r\n\r\nl1\r\nl2\r\nl3\r\n";
  bool whole = false;
  EXPECT_EQ(top_of(m, 0, &whole), "Subject: x\r\nFrom: y\r\n\r\n");
  EXPECT_FALSE(whole);
  EXPECT_EQ(top_of(m, 2, &whole), "Subject: x\r\nFrom: y\r\n\r\nl1\r\nl2\r\n");
  EXPECT_FALSE(whole);
  EXPECT_EQ(top_of(m, 3, &whole), m);
  EXPECT_TRUE(whole);
  EXPECT_EQ(top_of(m, 100, &whole), m);
  EXPECT_TRUE(whole);
  // Bare LF and a header-only message.
  EXPECT_EQ(top_of("A: b\n\nbody\n", 0, &whole), "A: b\n\n");
  EXPECT_FALSE(whole);
  EXPECT_EQ(top_of("A: b\r\n", 0, &whole), "A: b\r\n");
  EXPECT_TRUE(whole);
  // A header and blank line only: TOP 0 is the whole message.
  EXPECT_EQ(top_of("A: b\r\n\r\n", 0, &whole), "A: b\r\n\r\n");
  EXPECT_TRUE(whole);
}

// The shared codec (src/core/base64.h) as POP3 SASL uses it (RFC 5034 section 4).
using core::base64_decode;
using core::base64_encode;

TEST(Pop3Base64, RoundTripAndStrictness) {
  const std::string samples[] = {"",     "f",     "fo",     "foo",
                                 "foob", "fooba", "foobar", std::string("\0alice\0wonderland", 17)};
  for (const std::string& s : samples) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("Zm=v"));
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));
  EXPECT_FALSE(base64_decode("Zm9="));  // non-zero padding bits
  EXPECT_FALSE(base64_decode("*"));
}

}  // namespace
}  // namespace mailroom::pop3::proto
