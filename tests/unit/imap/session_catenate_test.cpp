// CATENATE (RFC 4469) through the session (no sockets): messages built from TEXT literals and
// IMAP URLs (RFC 5092) of this user's messages and parts; every failing URL is NO [BADURL]
// with nothing stored, a result over the APPEND limit NO [TOOBIG], quota as for APPEND, all or
// none inside MULTIAPPEND (RFC 3502) and REPLACE (RFC 8508); bad syntax BAD, the session on.
#include <gtest/gtest.h>

#include <regex>

#include "tests/fakes/fake_directory.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kCatenateLogin[] = "a LOGIN alice wonderland\r\n";

const char kMultipart[] =
    "From: Carol <carol@remote.example>\r\n"
    "Subject: parts\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "first part\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; name=a.txt\r\n"
    "\r\n"
    "second part\r\n"
    "--b1--\r\n";

class ImapCatenate : public ImapSession {
 protected:
  static std::string literal(const std::string& m) {
    return "{" + std::to_string(m.size()) + "+}\r\n" + m;
  }
  static bool starts(const std::string& line, const std::string& prefix) {
    return line.rfind(prefix, 0) == 0;
  }
  // Alice's INBOX holds kMultipart (UID 1) and message("two") (UID 2); returns UIDVALIDITY.
  std::string seed() {
    std::string out =
        run({std::string(kCatenateLogin) + append("b", kMultipart) + append("c", message("two")) +
             "d STATUS INBOX (UIDVALIDITY)\r\n" + "e LOGOUT\r\n"});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(out, m, std::regex("UIDVALIDITY (\\d+)"))) << out;
    return m[1];
  }
  std::string stored(const std::string& mailbox, uint32_t uid) {
    auto m = services_.store->read_message("acct-alice", mailbox, uid);
    return m ? *m : "<missing: " + m.status().to_string() + ">";
  }
  uint32_t count(const std::string& mailbox) {
    auto st = services_.store->mailbox_status("acct-alice", mailbox);
    return st ? st->messages : 9999;
  }
};

TEST_F(ImapCatenate, AdvertisedAfterLogin) {
  std::string out = run({std::string(kCatenateLogin) + "b CAPABILITY\r\nc LOGOUT\r\n"});
  auto l = lines_of(out, "b");
  ASSERT_FALSE(l.empty());
  EXPECT_NE(l.front().find(" CATENATE"), std::string::npos) << out;
  std::string before = run({"a CAPABILITY\r\nb LOGOUT\r\n"});
  EXPECT_EQ(before.find("CATENATE"), std::string::npos) << before;
}

TEST_F(ImapCatenate, TextAndUrlsOfWholeMessagesSectionsAndPartials) {
  std::string v = seed();
  std::string hdr = "Subject: forwarded\r\nContent-Type: text/plain\r\n\r\n";
  std::string out =
      run({std::string(kCatenateLogin) + "b APPEND Drafts (\\Draft) CATENATE (TEXT " +
           literal(hdr) + " URL \"/INBOX;UIDVALIDITY=" + v +
           "/;UID=1/;SECTION=2\" URL /INBOX/;UID=2/;SECTION=TEXT TEXT " + literal("--\r\n") +
           " URL \"/inbox/;UID=1/;SECTION=1/;PARTIAL=0.5\")\r\n" + "c LOGOUT\r\n"});
  EXPECT_TRUE(std::regex_match(tagged(out, "b"), std::regex("b OK \\[APPENDUID \\d+ 1\\] .*")))
      << out;
  EXPECT_EQ(stored("Drafts", 1), hdr + "second part" + "hello\r\n" + "--\r\n" + "first");
}

TEST_F(ImapCatenate, HeaderFieldsMimeAndWholeMessageByAbsoluteUrl) {
  seed();
  std::string out = run(
      {std::string(kCatenateLogin) +
       "b APPEND Drafts CATENATE (URL \"/INBOX/;UID=2/;SECTION=HEADER.FIELDS%20(Subject%20To)\" "
       "URL \"/INBOX/;UID=1/;SECTION=2.MIME\" TEXT {2+}\r\nxy)\r\n"
       "c APPEND Drafts CATENATE (URL \"imap://alice@mail.example.com/INBOX/;UID=2\")\r\n"
       "d APPEND Drafts CATENATE (URL \"IMAP://alice%40example.com;AUTH=*@MAIL.example.com:993/"
       "INBOX/;UID=2\")\r\ne LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "b"), "b OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 1),
            "To: alice@example.com\r\nSubject: two\r\n\r\n"
            "Content-Type: text/plain; name=a.txt\r\n\r\nxy");
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 2), message("two"));
  EXPECT_TRUE(starts(tagged(out, "d"), "d OK [APPENDUID")) << out;
}

TEST_F(ImapCatenate, RelativeUrlIsBasedOnTheSelectedMailbox) {
  seed();
  std::string out =
      run({std::string(kCatenateLogin) +
           "b APPEND Drafts CATENATE (URL \";UID=2\")\r\nc SELECT INBOX\r\n"
           "d APPEND Drafts CATENATE (URL \";UID=2\" URL \"/;UID=2\")\r\ne LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b"), "b NO [BADURL ;UID=2] No mailbox is selected") << out;
  EXPECT_TRUE(starts(tagged(out, "d"), "d OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 1), message("two") + message("two"));
}

TEST_F(ImapCatenate, EveryBadUrlIsBadurlAndNothingIsStored) {
  std::string v = seed();
  std::string other = std::to_string(std::stoul(v) + 1);
  ASSERT_TRUE(services_.store->expunge("acct-alice", "INBOX", {2}).is_ok());
  struct Case {
    std::string url, why;
  };
  const Case cases[] = {
      {"/INBOX;UIDVALIDITY=" + other + "/;UID=1", "UIDVALIDITY has changed"},
      {"/INBOX/;UID=2", "No such message (expunged?)"},
      {"/INBOX/;UID=99", "No such message (expunged?)"},
      {"/INBOX/;UID=1/;SECTION=3", "No such section"},
      {"/INBOX/;UID=1/;SECTION=1.1.1", "No such section"},
      {"/Nowhere/;UID=1", "No such mailbox"},
      {"imap://bob@mail.example.com/INBOX/;UID=1", "The URL names another user"},
      {"imap://mail.example.com/INBOX/;UID=1", "Anonymous access is not offered"},
      {"imap://alice@other.example/INBOX/;UID=1", "The URL names another server"},
      {"/INBOX/;UID=1/;URLAUTH=anonymous:internal:00", "URLAUTH is not supported"},
      {"http://mail.example.com/INBOX", "Not an IMAP URL"},
      {"/../x/;UID=1", "Mailbox name contains \".\" or \"..\""},
  };
  for (const auto& c : cases) {
    std::string out =
        run({std::string(kCatenateLogin) + "b APPEND Drafts CATENATE (TEXT {2+}\r\nhi URL \"" +
             c.url + "\")\r\nc NOOP\r\nd LOGOUT\r\n"});
    EXPECT_EQ(tagged(out, "b"), "b NO [BADURL " + c.url + "] " + c.why) << out;
    EXPECT_TRUE(starts(tagged(out, "c"), "c OK")) << out;
  }
  EXPECT_EQ(count("Drafts"), 0u);
  EXPECT_EQ(count("INBOX"), 1u);
}

TEST_F(ImapCatenate, UrlExpungedByAnotherSessionMeanwhileIsBadurl) {
  seed();
  HookedTransport t({std::string(kCatenateLogin) + "b SELECT INBOX\r\n",
                     "c APPEND INBOX CATENATE (URL \";UID=1\" URL \";UID=2\")\r\nd LOGOUT\r\n"},
                    "c APPEND", [this] {
                      ASSERT_TRUE(services_.store->expunge("acct-alice", "INBOX", {2}).is_ok());
                    });
  std::string out = run(t);
  EXPECT_EQ(tagged(out, "c"), "c NO [BADURL ;UID=2] No such message (expunged?)") << out;
  EXPECT_EQ(count("INBOX"), 1u);
}

TEST_F(ImapCatenate, ResultOverTheLiteralLimitIsTooBig) {
  seed();
  options_.max_literal = message("two").size() * 2 + 5;
  std::string out =
      run({std::string(kCatenateLogin) +
           "b APPEND Drafts CATENATE (URL /INBOX/;UID=2 URL /INBOX/;UID=2 TEXT {6+}\r\nsix!!!)\r\n"
           "c APPEND Drafts CATENATE (URL /INBOX/;UID=2 URL /INBOX/;UID=2 TEXT {5+}\r\nfive!)\r\n"
           "d LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "b"), "b NO [TOOBIG]")) << out;
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK [APPENDUID")) << out;
  EXPECT_EQ(count("Drafts"), 1u);
}

TEST_F(ImapCatenate, EachMessageIsReadOnceAndReadingIsBounded) {
  // Budget: max_literal + 16 x max_line = 65,736 octets of messages read per command: one
  // 40 KB message named 100 times is read once, two of them are too much.
  std::string big = std::string(40000, 'x') + "\r\n";
  run({std::string(kCatenateLogin) + append("b", message("one", big)) +
       append("c", message("two", big)) + "d LOGOUT\r\n"});
  options_.max_literal = 200;
  options_.max_line = 4096;
  std::string same = "e APPEND Drafts CATENATE (";
  for (int i = 0; i < 100; ++i)
    same += (i ? " " : "") + std::string("URL /INBOX/;UID=1/;PARTIAL=0.1");
  same += ")\r\n";
  std::string out = run({std::string(kCatenateLogin) + same +
                         "f APPEND Drafts CATENATE (URL /INBOX/;UID=1/;PARTIAL=0.1 "
                         "URL /INBOX/;UID=2/;PARTIAL=0.1)\r\ng LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "e"), "e OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 1), std::string(100, 'F'));
  EXPECT_TRUE(starts(tagged(out, "f"), "f NO [TOOBIG]")) << out;
  EXPECT_EQ(count("Drafts"), 1u);
}

TEST_F(ImapCatenate, QuotaCountsTheCatenatedMessage) {
  seed();
  auto dir = std::make_shared<mailroom::testing::FakeDirectory>();
  dir->add_domain("example.com");
  services_.directory = dir;
  auto& acct = dir->add_account("alice@example.com", "wonderland", "acct-alice");
  auto used = services_.store->quota_usage("acct-alice");
  ASSERT_TRUE(used.is_ok());
  acct.quota_bytes = used->bytes + message("two").size() + 10;
  std::string out = run({std::string(kCatenateLogin) +
                         "b APPEND Drafts CATENATE (URL /INBOX/;UID=2 URL /INBOX/;UID=2)\r\n"
                         "c APPEND Drafts CATENATE (URL /INBOX/;UID=2)\r\nd LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "b"), "b NO [OVERQUOTA]")) << out;
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK [APPENDUID")) << out;
}

TEST_F(ImapCatenate, MultiappendIsAllOrNothing) {
  seed();
  std::string out =
      run({std::string(kCatenateLogin) + "b APPEND Drafts " + literal(message("plain")) +
           " CATENATE (URL /INBOX/;UID=2) CATENATE (URL /INBOX/;UID=7)\r\n" + "c APPEND Drafts " +
           literal(message("plain")) + " (\\Seen) CATENATE (URL /INBOX/;UID=2) CATENATE (TEXT " +
           literal(message("t")) + ")\r\nd LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b"), "b NO [BADURL /INBOX/;UID=7] No such message (expunged?)") << out;
  EXPECT_TRUE(std::regex_match(tagged(out, "c"), std::regex("c OK \\[APPENDUID \\d+ 1:3\\] .*")))
      << out;
  EXPECT_EQ(count("Drafts"), 3u);
  EXPECT_EQ(stored("Drafts", 1), message("plain"));
  EXPECT_EQ(stored("Drafts", 2), message("two"));
  EXPECT_EQ(stored("Drafts", 3), message("t"));
}

TEST_F(ImapCatenate, SynchronizingTextLiteralsAndLiteral8) {
  seed();
  std::string a = "Subject: x\r\n\r\n", b = std::string("bin\0ary\r\n", 9);
  ScriptedTransport t(
      {std::string(kCatenateLogin) + "b APPEND Drafts CATENATE (TEXT {" + std::to_string(a.size()) +
           "}\r\n",
       a + " URL /INBOX/;UID=2/;SECTION=TEXT TEXT ~{" + std::to_string(b.size()) + "}\r\n",
       b + ")\r\nc LOGOUT\r\n"},
      /*tls=*/true);
  std::string out = run(t);
  size_t plus = 0;
  for (size_t p = out.find("\r\n+ "); p != std::string::npos; p = out.find("\r\n+ ", p + 1)) ++plus;
  EXPECT_EQ(plus, 2u) << out;
  EXPECT_TRUE(starts(tagged(out, "b"), "b OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 1), a + "hello\r\n" + b);
}

TEST_F(ImapCatenate, EmptyResultUtf8AndBadSyntax) {
  seed();
  std::string out = run(
      {std::string(kCatenateLogin) + "b APPEND Drafts CATENATE (TEXT {0+}\r\n)\r\n" +
       "c APPEND Drafts CATENATE (URL /INBOX/;UID=1/;PARTIAL=99999)\r\n" +
       "d APPEND Drafts CATENATE (UTF8 (~{3+}\r\nabc))\r\n" + "e APPEND Drafts CATENATE ()\r\n" +
       "f APPEND Drafts CATENATE (FOO bar)\r\n" + "g APPEND Drafts CATENATE (URL)\r\n" +
       "h APPEND Drafts CATENATE (TEXT \"q\")\r\n" + "i NOOP\r\nj LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "b"), "b NO [CANNOT]")) << out;
  EXPECT_TRUE(starts(tagged(out, "c"), "c NO [CANNOT]")) << out;
  EXPECT_TRUE(starts(tagged(out, "d"), "d BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "e"), "e BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "f"), "f BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "g"), "g BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "h"), "h BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "i"), "i OK")) << out;
  EXPECT_EQ(count("Drafts"), 0u);
}

TEST_F(ImapCatenate, Utf8PartAfterEnable) {
  seed();
  std::string subj = "Subject: \xC3\xA9t\xC3\xA9\r\n\r\n";
  std::string out = run({std::string(kCatenateLogin) + "b ENABLE UTF8=ACCEPT\r\n" +
                         "c APPEND Drafts CATENATE (UTF8 (~{" + std::to_string(subj.size()) +
                         "+}\r\n" + subj + ") URL /INBOX/;UID=2/;SECTION=TEXT)\r\nd LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK [APPENDUID")) << out;
  EXPECT_EQ(stored("Drafts", 1), subj + "hello\r\n");
}

TEST_F(ImapCatenate, ReplaceWithCatenateKeepsTheOldMessageOnBadurl) {
  seed();
  std::string out = run({std::string(kCatenateLogin) + "b SELECT INBOX\r\n" +
                         "c UID REPLACE 2 INBOX CATENATE (URL \";UID=2\" URL \";UID=5\")\r\n" +
                         "d UID REPLACE 2 INBOX CATENATE (TEXT {14+}\r\nSubject: new\r\n URL "
                         "\";UID=2/;SECTION=TEXT\")\r\n" +
                         "e LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "c"), "c NO [BADURL ;UID=5]")) << out;
  EXPECT_TRUE(starts(tagged(out, "d"), "d OK")) << out;
  EXPECT_NE(out.find("* OK [APPENDUID"), std::string::npos) << out;
  EXPECT_EQ(count("INBOX"), 2u);
  EXPECT_EQ(stored("INBOX", 3), "Subject: new\r\nhello\r\n");
}

}  // namespace
}  // namespace mailroom::imap
