// The IMAP URL parser (RFC 5092) as CATENATE takes URLs (RFC 4469), and the CATENATE grammar
// of APPEND (RFC 4469 5): the accepted forms, and hostile or malformed input refused.
#include "src/imap/proto/imap_url.h"

#include <gtest/gtest.h>

#include "src/imap/proto/command.h"

namespace mailroom::imap::proto {
namespace {

TEST(ImapUrl, AbsolutePathWithValiditySectionAndPartial) {
  auto u = parse_imap_url("/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9/;PARTIAL=10.20");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->network);
  EXPECT_TRUE(u->has_mailbox);
  EXPECT_EQ(u->mailbox, "INBOX");
  EXPECT_EQ(u->uid_validity, 785799047u);
  EXPECT_EQ(u->uid, 113330u);
  EXPECT_EQ(u->section.parts, (std::vector<uint32_t>{1, 5, 9}));
  EXPECT_EQ(u->section.text, mime::SectionText::none);
  ASSERT_TRUE(u->partial);
  EXPECT_EQ(u->partial->first, 10u);
  EXPECT_EQ(u->partial->second, 20u);
}

TEST(ImapUrl, NetworkFormWithUserAuthHostAndPort) {
  auto u =
      parse_imap_url("imap://alice%40example.com;AUTH=*@Mail.Example.COM:993/Sent%20Items/;UID=7");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->network);
  EXPECT_EQ(u->user, "alice@example.com");
  EXPECT_TRUE(u->auth);
  EXPECT_EQ(u->host, "mail.example.com");
  EXPECT_EQ(u->mailbox, "Sent Items");
  EXPECT_EQ(u->uid, 7u);
  auto v6 = parse_imap_url("IMAP://bob@[::1]:143/a/b;UIDVALIDITY=3/;uid=2");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->mailbox, "a/b");
  EXPECT_EQ(v6->uid_validity, 3u);
}

TEST(ImapUrl, RelativeFormsAndRfc4469ExampleSpelling) {
  auto sel = parse_imap_url(";UID=20/;SECTION=HEADER");
  ASSERT_TRUE(sel);
  EXPECT_FALSE(sel->has_mailbox);
  EXPECT_EQ(sel->section.text, mime::SectionText::header);
  auto slash = parse_imap_url("/;UID=20");
  ASSERT_TRUE(slash);
  EXPECT_FALSE(slash->has_mailbox);
  // RFC 4469 appendix A writes ";section=" straight after the UID.
  auto ex = parse_imap_url("/INBOX;UIDVALIDITY=785799047/;UID=113330;section=1.5.9");
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->section.parts.size(), 3u);
  auto rel = parse_imap_url("Drafts/;UID=1/;PARTIAL=5");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->mailbox, "Drafts");
  EXPECT_FALSE(rel->partial->second);
}

TEST(ImapUrl, SectionTexts) {
  auto f = parse_imap_url("/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(Subject%20From)");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->section.text, mime::SectionText::header_fields);
  EXPECT_EQ(f->fields, (std::vector<std::string>{"Subject", "From"}));
  auto n = parse_imap_url("/INBOX/;UID=1/;SECTION=2.HEADER.FIELDS.NOT%20(X-A)");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->section.text, mime::SectionText::header_fields_not);
  EXPECT_EQ(n->section.parts, (std::vector<uint32_t>{2}));
  auto m = parse_imap_url("/INBOX/;UID=1/;SECTION=1.MIME");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->section.text, mime::SectionText::mime);
  auto t = parse_imap_url("/INBOX/;UID=1/;SECTION=text");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->section.text, mime::SectionText::text);
  // 8-bit mailbox names are percent-encoded UTF-8 (RFC 5092 3.3).
  auto u = parse_imap_url("/Entw%C3%BCrfe/;UID=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->mailbox, "Entw\xC3\xBCrfe");
}

TEST(ImapUrl, RefusesMalformedAndUnsupported) {
  const char* bad[] = {
      "",
      "http://example.com/INBOX/;UID=1",
      "mailto:alice@example.com",
      "imap://alice@host",                     // no path
      "imap://alice@host/;UID=1",              // no mailbox
      "imap://alice@:143/INBOX/;UID=1",        // empty host
      "imap://alice@host:99999/INBOX/;UID=1",  // port
      "imap://alice;AUTH=@host/INBOX/;UID=1",  // empty mechanism
      "imap://alice@[::1/INBOX/;UID=1",        // IPv6 bracket
      "//host/INBOX/;UID=1",
      "/INBOX",  // no UID
      "/INBOX/",
      "/INBOX;UIDVALIDITY=0/;UID=1",
      "/INBOX;UIDVALIDITY=x/;UID=1",
      "/INBOX;UIDVALIDITY=1;UID=1",
      "/INBOX/;UID=0",
      "/INBOX/;UID=4294967296",
      "/INBOX/;UID=01",
      "/INBOX/;UID=1/;SECTION=",
      "/INBOX/;UID=1/;SECTION=0",
      "/INBOX/;UID=1/;SECTION=1.",
      "/INBOX/;UID=1/;SECTION=MIME",  // MIME only after a part
      "/INBOX/;UID=1/;SECTION=HEADER.FIELDS",
      "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20()",
      "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(A:B)",
      "/INBOX/;UID=1/;SECTION=BOGUS",
      "/INBOX/;UID=1/;SECTION=1%2",  // truncated escape
      "/INBOX/;UID=1/;SECTION=1%zz",
      "/INBOX/;UID=1/;PARTIAL=",
      "/INBOX/;UID=1/;PARTIAL=1.0",
      "/INBOX/;UID=1/;PARTIAL=1.",
      "/INBOX/;UID=1/;PARTIAL=99999999999999999999999",
      "/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123",
      "/INBOX/;UID=1/;EXPIRE=2026-12-06T00:00:00Z;URLAUTH=anonymous",
      "/INBOX/;UID=1/junk",
      "/INBOX?SUBJECT%20x",  // a message list, not a message
      "/IN BOX/;UID=1",      // SP must be encoded
      "/IN%00BOX/;UID=1",    // NUL in the mailbox
      "/%FF%FE/;UID=1",      // not UTF-8
      "/INBOX/;UID=1\"",
  };
  for (const char* url : bad) {
    std::string why;
    EXPECT_FALSE(parse_imap_url(url, &why)) << url;
    EXPECT_FALSE(why.empty()) << url;
  }
  std::string huge = "/INBOX/;UID=1/;SECTION=" + std::string(kMaxImapUrl, '1');
  EXPECT_FALSE(parse_imap_url(huge));
}

TEST(ImapUrl, BadurlTextIsABareTextCharString) {
  EXPECT_EQ(badurl_text("/INBOX/;UID=1"), "/INBOX/;UID=1");
  EXPECT_EQ(badurl_text("/a]b c\r\n"), "/a%5Db%20c%0D%0A");
  EXPECT_EQ(badurl_text(""), "%20");
  EXPECT_EQ(badurl_text(std::string(5000, 'x')).size(), 1024u);
}

TEST(CatenateGrammar, TextUrlLiteral8AndUtf8Parts) {
  // The literal8 carries a NUL: the buffer is built explicitly.
  std::string wire =
      "a APPEND Drafts (\\Seen) CATENATE (TEXT {3+}\r\nabc URL \"/INBOX/;UID=1\" URL /INBOX/;UID=2 "
      "TEXT ~{2}\r\n";
  wire += std::string("\0z", 2);
  wire += " UTF8 (~{1}\r\nx))";
  auto r = parse_command(wire);
  ASSERT_TRUE(r.ok()) << r.error.message;
  ASSERT_EQ(r.command->appends.size(), 1u);
  const auto& m = r.command->appends[0];
  EXPECT_TRUE(m.catenate);
  EXPECT_TRUE(m.utf8);
  EXPECT_EQ(m.flags, 1u);
  ASSERT_EQ(m.parts.size(), 5u);
  EXPECT_FALSE(m.parts[0].url);
  EXPECT_EQ(m.parts[0].data, "abc");
  EXPECT_TRUE(m.parts[1].url);
  EXPECT_EQ(m.parts[1].data, "/INBOX/;UID=1");
  EXPECT_EQ(m.parts[2].data, "/INBOX/;UID=2");
  EXPECT_EQ(m.parts[3].data, std::string("\0z", 2));
  EXPECT_TRUE(m.parts[4].utf8);
}

TEST(CatenateGrammar, InsideMultiappendAndReplace) {
  auto r = parse_command(
      "a APPEND INBOX {2+}\r\nhi \"01-Jan-2020 00:00:00 +0000\" CATENATE (URL \"/INBOX/;UID=1\") "
      "CATENATE (TEXT {1+}\r\nx)");
  ASSERT_TRUE(r.ok()) << r.error.message;
  ASSERT_EQ(r.command->appends.size(), 3u);
  EXPECT_FALSE(r.command->appends[0].catenate);
  EXPECT_TRUE(r.command->appends[1].catenate);
  EXPECT_TRUE(r.command->appends[1].date_time.has_value());
  auto rep = parse_command("a UID REPLACE 4 INBOX CATENATE (URL \"/INBOX/;UID=4\" TEXT {1+}\r\nx)");
  ASSERT_TRUE(rep.ok()) << rep.error.message;
  EXPECT_EQ(rep.command->appends[0].parts.size(), 2u);
}

TEST(CatenateGrammar, MalformedIsBad) {
  const char* bad[] = {
      "a APPEND INBOX CATENATE",
      "a APPEND INBOX CATENATE ()",
      "a APPEND INBOX CATENATE (",
      "a APPEND INBOX CATENATE(URL x)",
      "a APPEND INBOX CATENATE (URL)",
      "a APPEND INBOX CATENATE (URL x",
      "a APPEND INBOX CATENATE (URL x  URL y)",
      "a APPEND INBOX CATENATE (TEXT \"quoted\")",
      "a APPEND INBOX CATENATE (TEXT x)",
      "a APPEND INBOX CATENATE (FOO x)",
      "a APPEND INBOX CATENATE (UTF8 ({1+}\r\nx))",
      "a APPEND INBOX CATENATE (URL x) extra",
      "a APPEND INBOX CATENATE (TEXT {1+}\r\nx) CATENATE",
  };
  for (const char* wire : bad) {
    auto r = parse_command(wire);
    EXPECT_FALSE(r.ok()) << wire;
    EXPECT_FALSE(r.error.message.empty()) << wire;
    EXPECT_EQ(r.error.tag, "a") << wire;
  }
  std::string many = "a APPEND INBOX CATENATE (";
  for (size_t i = 0; i <= kMaxCatenateParts; ++i) many += (i ? " " : "") + std::string("URL x");
  many += ")";
  auto r = parse_command(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "Too many CATENATE parts");
}

}  // namespace
}  // namespace mailroom::imap::proto
