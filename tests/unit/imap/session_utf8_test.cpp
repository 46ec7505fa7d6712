// UTF8=ACCEPT (RFC 6855) through the session: ENABLE, mailbox names in UTF-8 both ways
// instead of modified UTF-7, the SEARCH/SORT CHARSET rule (erratum 4029), APPEND of UTF8
// (~{n}) only once enabled, 8-bit headers returned as they are, a UTF-8 password at LOGIN.
#include <gtest/gtest.h>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kLoginU[] = "a LOGIN alice wonderland\r\n";

using ImapUtf8 = ImapSession;

TEST_F(ImapUtf8, EnableAdvertisedAndNamesInUtf8BothWays) {
  std::string out = run({std::string(kLoginU) +
                         "b CAPABILITY\r\nc CREATE \"Caf&AOk-\"\r\nd ENABLE UTF8=ACCEPT\r\n"
                         "e LIST \"\" \"Caf*\"\r\nf CREATE \"Ma\xc3\xb1"
                         "ana\"\r\n"
                         "g LIST \"\" \"Ma*\"\r\nh SELECT \"Caf\xc3\xa9\"\r\n"
                         "i STATUS \"Ma\xc3\xb1"
                         "ana\" (MESSAGES)\r\nj CREATE \"A&B\"\r\n"
                         "k LIST \"\" \"A&*\"\r\nl CREATE \"bad\xff\"\r\nm LOGOUT\r\n"});
  EXPECT_NE(out.find(" UTF8=ACCEPT"), std::string::npos) << out;
  EXPECT_NE(out.find("* ENABLED UTF8=ACCEPT"), std::string::npos) << out;
  // Created as modified UTF-7 before ENABLE, listed in UTF-8 after (quoted, RFC 6855 3).
  EXPECT_NE(out.find("* LIST (\\HasNoChildren) \"/\" \"Caf\xc3\xa9\""), std::string::npos) << out;
  EXPECT_NE(out.find("* LIST (\\HasNoChildren) \"/\" \"Ma\xc3\xb1"
                     "ana\""),
            std::string::npos)
      << out;
  EXPECT_EQ(tagged(out, "h").rfind("h OK", 0), 0u) << out;
  EXPECT_NE(out.find("* STATUS \"Ma\xc3\xb1"
                     "ana\" (MESSAGES 0)"),
            std::string::npos)
      << out;
  // "&" is a character, not a modified UTF-7 shift, once names are UTF-8.
  EXPECT_EQ(tagged(out, "j").rfind("j OK", 0), 0u) << out;
  EXPECT_NE(out.find("* LIST (\\HasNoChildren) \"/\" \"A&B\""), std::string::npos) << out;
  // Not UTF-8: refused, the session goes on.
  EXPECT_EQ(tagged(out, "l").rfind("l NO [CANNOT]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "m").rfind("m OK", 0), 0u) << out;
  // A session without ENABLE still sees modified UTF-7.
  std::string plain = run({std::string(kLoginU) + "b LIST \"\" \"*\"\r\nc LOGOUT\r\n"});
  EXPECT_NE(plain.find("\"Ma&APE-ana\""), std::string::npos) << plain;
  EXPECT_NE(plain.find("\"A&-B\""), std::string::npos) << plain;
}

TEST_F(ImapUtf8, EnableOnlyOnceAndOnlyWhenAuthenticated) {
  std::string out = run({"a ENABLE UTF8=ACCEPT\r\n" + std::string(kLoginU).replace(0, 1, "b") +
                         "c ENABLE UTF8=ACCEPT\r\nd ENABLE UTF8=ACCEPT\r\ne LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "a").rfind("a BAD", 0), 0u) << out;
  EXPECT_NE(lines_of(out, "c")[0].find("* ENABLED UTF8=ACCEPT"), std::string::npos) << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* ENABLED") << out;  // already on: not listed again
}

TEST_F(ImapUtf8, SearchCharsetRuleAfterEnable) {
  std::string msg = "Subject: caf\xc3\xa9\r\n\r\nbody\r\n";
  // ENABLE is for the authenticated state (RFC 5161 3.1): before SELECT.
  std::string out =
      run({std::string(kLoginU) + "b APPEND INBOX {" + std::to_string(msg.size()) + "+}\r\n" + msg +
           "\r\nc SELECT INBOX\r\n"
           "d SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"\r\ne UNSELECT\r\n"
           "e2 ENABLE UTF8=ACCEPT\r\ne3 SELECT INBOX\r\n"
           "f SEARCH CHARSET UTF-8 SUBJECT x\r\n"
           "g SEARCH SUBJECT \"caf\xc3\xa9\"\r\nh SORT (SUBJECT) UTF-8 ALL\r\n"
           "i SORT (SUBJECT) US-ASCII ALL\r\nj THREAD REFERENCES ISO-8859-1 ALL\r\n"
           "k NOOP\r\nl LOGOUT\r\n"});
  EXPECT_NE(lines_of(out, "d")[0].find("* SEARCH 1"), std::string::npos) << out;
  EXPECT_NE(lines_of(out, "e2")[0].find("* ENABLED UTF8=ACCEPT"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "f").rfind("f BAD", 0), 0u) << out;
  EXPECT_NE(lines_of(out, "g")[0].find("* SEARCH 1"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "h").rfind("h OK", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "i").rfind("i BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "j").rfind("j BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "k").rfind("k OK", 0), 0u) << out;
}

TEST_F(ImapUtf8, AppendUtf8DataOnlyAfterEnableAndHeadersComeBackAsTheyAre) {
  std::string msg =
      "From: J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
      "cher.example>\r\nSubject: \xe2\x9c\x93 "
      "gr\xc3\xbc\xc3\x9f"
      "e\r\n\r\nhallo\r\n";
  std::string utf8_item = "UTF8 (~{" + std::to_string(msg.size()) + "+}\r\n" + msg + ")";
  std::string out = run({std::string(kLoginU) + "b APPEND INBOX " + utf8_item +
                         "\r\nc ENABLE UTF8=ACCEPT\r\nd APPEND INBOX (\\Seen) " + utf8_item +
                         "\r\ne APPEND INBOX UTF8 ({3+}\r\nabc)\r\nf APPEND INBOX UTF8 ~{3+}\r\n"
                         "abc\r\ng SELECT INBOX\r\nh FETCH 1 (BODY.PEEK[HEADER] ENVELOPE)\r\n"
                         "i LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d OK [APPENDUID", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "e").rfind("e BAD", 0), 0u) << out;  // not a literal8
  EXPECT_EQ(tagged(out, "f").rfind("f BAD", 0), 0u) << out;  // no parentheses
  EXPECT_NE(out.find("* 1 EXISTS"), std::string::npos) << out;
  EXPECT_EQ(out.find("* 2 EXISTS"), std::string::npos) << out;
  // The header octets as stored (RFC 6855 5: no downgrade for a UTF8=ACCEPT session).
  EXPECT_NE(out.find(msg.substr(0, msg.find("\r\n\r\n") + 4)), std::string::npos) << out;
  EXPECT_NE(out.find("\xe2\x9c\x93 gr\xc3\xbc\xc3\x9f"
                     "e"),
            std::string::npos)
      << out;
}

TEST_F(ImapUtf8, LoginWithAUtf8Password) {
  auto* fake = dynamic_cast<mailroom::testing::FakeAuthenticator*>(services_.authenticator.get());
  ASSERT_NE(fake, nullptr);
  fake->users["zoe"] = "p\xc3\xa4ss\xe2\x82\xac";
  // Quoted (8-bit in a quoted string, as RFC 6855 3 allows) and as a literal; a wrong one
  // is still refused.
  std::string out = run({"a LOGIN zoe \"p\xc3\xa4ss\xe2\x82\xac\"\r\nb LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "a").rfind("a OK", 0), 0u) << out;
  std::string again = run({"c LOGIN zoe {8+}\r\np\xc3\xa4ss\xe2\x82\xac\r\nd LOGOUT\r\n"});
  EXPECT_EQ(tagged(again, "c").rfind("c OK", 0), 0u) << again;
  std::string wrong = run({"e LOGIN zoe \"p\xc3\xa4ss\"\r\nf LOGOUT\r\n"});
  EXPECT_EQ(tagged(wrong, "e").rfind("e NO", 0), 0u) << wrong;
}

}  // namespace
}  // namespace mailroom::imap
