// BINARY (RFC 3516) through the session: FETCH BINARY[section]<partial>, BINARY.PEEK,
// BINARY.SIZE and APPEND of literal8, with the hostile and edge cases (unknown encodings,
// parts that do not exist, ranges past the end, expunged messages, NUL octets, limits).
#include <gtest/gtest.h>

#include <regex>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kLoginBin[] = "a LOGIN alice wonderland\r\n";

// Part 1 base64 (with NUL), 2 quoted-printable, 3 an unknown encoding, 4 a message/rfc822
// whose single-part body is base64, 5 identity.
std::string multipart() {
  return "From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: application/octet-stream\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\nAGhlbGxvAHdvcmxk\r\n"  // "\0hello\0world"
         "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: Quoted-Printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n"
         "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
         "begin 644 x\r\n"
         "--b\r\nContent-Type: message/rfc822\r\n\r\n"
         "Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naW5uZXI=\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n"
         "--b--\r\n";
}

std::string single_base64() {
  return "From: a@example.com\r\nSubject: one\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         "SGVsbG8sIHdvcmxkIQ==\r\n";  // "Hello, world!"
}

class ImapBinary : public ImapSession {
 protected:
  static std::string lit(const std::string& m) {
    return "{" + std::to_string(m.size()) + "+}\r\n" + m;
  }
  // The session after appending `msgs` to INBOX and selecting it, running `commands`.
  std::string with(const std::vector<std::string>& msgs, const std::string& commands) {
    std::string script = kLoginBin;
    for (size_t i = 0; i < msgs.size(); ++i)
      script += "p" + std::to_string(i) + " APPEND INBOX " + lit(msgs[i]) + "\r\n";
    return run({script + "s SELECT INBOX\r\n" + commands + "z LOGOUT\r\n"});
  }
  // The data after "<label> " in `out`: a literal's octets (with "~" when literal8), NIL, or
  // a number.
  static std::string item(const std::string& out, const std::string& label) {
    size_t at = out.find(label + " ");
    if (at == std::string::npos) return "<absent>";
    at += label.size() + 1;
    std::string prefix;
    if (out[at] == '~') {
      prefix = "~";
      ++at;
    }
    if (out[at] != '{') {
      size_t end = out.find_first_of(" )", at);
      return out.substr(at, end - at);
    }
    size_t close = out.find('}', at);
    size_t n = std::stoul(out.substr(at + 1, close - at - 1));
    return prefix + out.substr(close + 3, n);
  }
};

TEST_F(ImapBinary, AdvertisedAfterLoginOnly) {
  std::string out =
      run({"a CAPABILITY\r\n" + std::string(kLoginBin) + "b CAPABILITY\r\nc LOGOUT\r\n"});
  std::string before = out.substr(0, out.find("a OK"));
  EXPECT_EQ(before.find(" BINARY"), std::string::npos) << out;
  EXPECT_NE(out.find(" BINARY", out.find("a OK")), std::string::npos) << out;
}

TEST_F(ImapBinary, DecodesLeafPartsAndSendsNulAsLiteral8) {
  std::string out = with({multipart()},
                         "b FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2] "
                         "BINARY.SIZE[2] BINARY.PEEK[4.1] BINARY.PEEK[5] BINARY.SIZE[5])\r\n");
  EXPECT_EQ(item(out, "BINARY[1]"), "~" + std::string("\0hello\0world", 12)) << out;
  EXPECT_EQ(item(out, "BINARY.SIZE[1]"), "12") << out;
  // The CRLF before the boundary belongs to the boundary (RFC 2046 5.1.1).
  EXPECT_EQ(item(out, "BINARY[2]"), "caf\xc3\xa9 au lait") << out;
  EXPECT_EQ(item(out, "BINARY.SIZE[2]"), "13") << out;
  EXPECT_EQ(item(out, "BINARY[4.1]"), "inner") << out;
  EXPECT_EQ(item(out, "BINARY[5]"), "plain text") << out;
  EXPECT_EQ(item(out, "BINARY.SIZE[5]"), "10") << out;
  EXPECT_EQ(tagged(out, "b").rfind("b OK", 0), 0u) << out;
}

TEST_F(ImapBinary, SinglePartMessageIsPartOneAndWholeMessageIsAsStored) {
  std::string m = single_base64();
  std::string out = with({m}, "b FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[] BINARY.SIZE[])\r\n");
  EXPECT_EQ(item(out, "BINARY[1]"), "Hello, world!") << out;
  EXPECT_EQ(item(out, "BINARY[]"), m) << out;
  EXPECT_EQ(item(out, "BINARY.SIZE[]"), std::to_string(m.size())) << out;
}

TEST_F(ImapBinary, PartialRangesCountDecodedOctets) {
  std::string out = with({single_base64()},
                         "b FETCH 1 (BINARY.PEEK[1]<7.5>)\r\nc FETCH 1 (BINARY.PEEK[1]<7>)\r\n"
                         "d FETCH 1 (BINARY.PEEK[1]<13.5>)\r\ne FETCH 1 (BINARY.PEEK[1]<99.5>)\r\n"
                         "f FETCH 1 (BINARY.PEEK[1]<0.5> BINARY.PEEK[1]<5.3> BINARY.SIZE[1])\r\n");
  EXPECT_EQ(item(out, "BINARY[1]<7>"), "world") << out;
  EXPECT_EQ(item(out.substr(out.find("b OK")), "BINARY[1]<7>"), "world!") << out;
  // At or past the end: an empty string.
  EXPECT_NE(out.find("BINARY[1]<13> {0}"), std::string::npos) << out;
  EXPECT_NE(out.find("BINARY[1]<99> {0}"), std::string::npos) << out;
  EXPECT_EQ(item(out, "BINARY[1]<0>"), "Hello") << out;
  EXPECT_EQ(item(out, "BINARY[1]<5>"), ", w") << out;
  EXPECT_NE(out.find("BINARY.SIZE[1] 13"), std::string::npos) << out;
}

TEST_F(ImapBinary, UnknownEncodingIsNoUnknownCteAndOtherMessagesAreSent) {
  std::string out = with({multipart(), single_base64()},
                         "b FETCH 1:2 (BINARY.PEEK[3])\r\nc FETCH 1 BINARY.SIZE[3]\r\n"
                         "d FETCH 2 BINARY.PEEK[1]\r\ne NOOP\r\n");
  EXPECT_EQ(tagged(out, "b").rfind("b NO [UNKNOWN-CTE]", 0), 0u) << out;
  EXPECT_EQ(out.find("* 1 FETCH (BINARY[3]"), std::string::npos) << out;
  EXPECT_NE(out.find("* 2 FETCH (BINARY[3] NIL)"), std::string::npos) << out;  // it has none
  EXPECT_EQ(tagged(out, "c").rfind("c NO [UNKNOWN-CTE]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d OK", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "e").rfind("e OK", 0), 0u) << out;
}

TEST_F(ImapBinary, MissingAndNonLeafPartsAndSectionTexts) {
  std::string out =
      with({multipart()},
           "b FETCH 1 (BINARY.PEEK[9] BINARY.SIZE[9] BINARY.PEEK[1.1])\r\n"
           "c FETCH 1 (BINARY.PEEK[4] BINARY.PEEK[4.HEADER] BINARY.PEEK[1.MIME])\r\n");
  EXPECT_NE(out.find("BINARY[9] NIL"), std::string::npos) << out;
  EXPECT_NE(out.find("BINARY.SIZE[9] 0"), std::string::npos) << out;
  EXPECT_NE(out.find("BINARY[1.1] NIL"), std::string::npos) << out;
  // message/rfc822 is not a leaf: its octets as they are (RFC 2045 6.4: identity only).
  EXPECT_EQ(item(out, "BINARY[4]"),
            "Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\naW5uZXI=")
      << out;
  EXPECT_EQ(item(out, "BINARY[4.HEADER]"),
            "Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n")
      << out;
  EXPECT_EQ(item(out, "BINARY[1.MIME]"),
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
      << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK", 0), 0u) << out;
}

TEST_F(ImapBinary, BinarySetsSeenPeekAndSizeDoNot) {
  std::string out = with({single_base64()},
                         "b FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])\r\nc FETCH 1 FLAGS\r\n"
                         "d FETCH 1 BINARY[1]\r\ne FETCH 1 FLAGS\r\n");
  EXPECT_NE(lines_of(out, "c")[0].find("FLAGS (\\Recent)"), std::string::npos) << out;
  EXPECT_NE(out.find("FLAGS (\\Seen \\Recent)"), std::string::npos) << out;
}

TEST_F(ImapBinary, UidFetchAndExpungedMessages) {
  std::string out = with({single_base64(), single_base64()},
                         "b STORE 1 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\n"
                         "d UID FETCH 1:* (BINARY.SIZE[1])\r\ne UID FETCH 1 BINARY.PEEK[1]\r\n");
  EXPECT_NE(out.find("* 1 FETCH (UID 2 BINARY.SIZE[1] 13)"), std::string::npos) << out;
  EXPECT_EQ(lines_of(out, "e").size(), 1u) << out;  // UID 1 is gone: no response, OK
  EXPECT_EQ(tagged(out, "e").rfind("e OK", 0), 0u) << out;
}

TEST_F(ImapBinary, BadSyntaxIsBadAndTheSessionGoesOn) {
  std::string out = with({single_base64()},
                         "b FETCH 1 BINARY.SIZE[1]<0.4>\r\nc FETCH 1 BINARY[1.]\r\n"
                         "d FETCH 1 BINARY[1]<0.0>\r\ne FETCH 1 BINARY\r\nf NOOP\r\n");
  for (const char* tag : {"b", "c", "d", "e"})
    EXPECT_EQ(tagged(out, tag).rfind(std::string(tag) + " BAD ", 0), 0u) << tag << "\n" << out;
  EXPECT_EQ(tagged(out, "f").rfind("f OK", 0), 0u) << out;
}

TEST_F(ImapBinary, AppendLiteral8WithNulRoundTrips) {
  std::string m = std::string("Subject: bin\r\n\r\n\0\x01\x02\xff", 20);
  ScriptedTransport t(
      {std::string(kLoginBin) + "b APPEND INBOX ~{" + std::to_string(m.size()) + "}\r\n",
       m + "\r\nc APPEND INBOX ~{" + std::to_string(m.size()) + "+}\r\n" + m +
           "\r\nd SELECT INBOX\r\ne FETCH 1:2 (BINARY.PEEK[1] RFC822.SIZE)\r\n"
           "f LOGOUT\r\n"},
      /*tls=*/true);
  std::string out = run(t);
  EXPECT_NE(out.find("\r\n+ "), std::string::npos) << out;  // the synchronizing one waited
  EXPECT_EQ(tagged(out, "b").rfind("b OK [APPENDUID", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK [APPENDUID", 0), 0u) << out;
  EXPECT_NE(out.find("* 2 EXISTS"), std::string::npos) << out;
  EXPECT_EQ(item(out, "BINARY[1]"), "~" + std::string("\0\x01\x02\xff", 4)) << out;
  EXPECT_NE(out.find("RFC822.SIZE 20"), std::string::npos) << out;
}

TEST_F(ImapBinary, Literal8HasTheLimitsOfALiteral) {
  // Too large and synchronizing: BAD [TOOBIG], no "+", the session goes on; too large and
  // non-synchronizing: BYE (RFC 7888 4), as for "{n}".
  options_.max_literal = 1000;
  std::string out = run({std::string(kLoginBin) +
                         "b APPEND INBOX ~{5000}\r\nc NOOP\r\n"
                         "d APPEND INBOX ~{5000+}\r\n" +
                         std::string(5000, 'x') + "\r\ne NOOP\r\n"});
  EXPECT_EQ(out.find("\r\n+ "), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "b").rfind("b BAD [TOOBIG]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK", 0), 0u) << out;
  EXPECT_NE(out.find("* BYE [TOOBIG]"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "e"), "") << out;
}

TEST_F(ImapBinary, Literal8BeforeLoginHasTheLoginLimit) {
  options_.login_max_literal = 100;
  std::string out = run({"a LOGIN ~{200}\r\nb NOOP\r\nc LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "a").rfind("a BAD [TOOBIG]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "b").rfind("b OK", 0), 0u) << out;
}

}  // namespace
}  // namespace mailroom::imap
