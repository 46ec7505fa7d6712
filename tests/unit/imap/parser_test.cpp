// Table tests of the command grammar on raw wire strings (RFC 3501 section 9).
#include <gtest/gtest.h>

#include "src/imap/proto/command.h"
#include "src/store/mail_store.h"

namespace mailroom::imap::proto {
namespace {

struct Bad {
  const char* wire;
  const char* tag;
  const char* message;
};

TEST(Parser, RejectsWithPreciseMessages) {
  const Bad cases[] = {
      {"", "", "Empty command line"},
      {"+ NOOP", "", "Invalid tag"},
      {"a", "", "Invalid tag"},
      {"a FROB", "a", "Unknown command FROB"},
      {"a NOOP extra", "a", "Unexpected extra arguments"},
      {"a UNAUTHENTICATE now", "a", "Unexpected extra arguments"},  // RFC 8437 4
      {"a LOGIN alice", "a", "Missing argument"},
      {"a LOGIN \"al\\ice\" x", "a", "Invalid escape in quoted string"},
      {"a LOGIN \"alice x", "a", "Unterminated quoted string"},
      {"a FETCH 0 FLAGS", "a", "Invalid sequence set"},
      {"a FETCH 1:: FLAGS", "a", "Invalid sequence set"},
      {"a FETCH 1,,2 FLAGS", "a", "Invalid sequence set"},
      {"a FETCH 4294967296 FLAGS", "a", "Invalid sequence set"},
      {"a FETCH 1 (FLAGS", "a", "Missing argument"},
      {"a FETCH 1 FROB", "a", "Unknown fetch attribute FROB"},
      {"a FETCH 1 BODY[1.]", "a", "Invalid section"},
      {"a FETCH 1 BODY[MIME]", "a", "Invalid section"},
      {"a FETCH 1 BODY[]<0.0>", "a", "Partial size must not be zero"},
      {"a FETCH 1 BODY.PEEK", "a", "BODY.PEEK needs a section"},
      {"a UID FROB 1", "a", "Invalid UID command"},
      {"a STORE 1 FLAGS (\\Bogus)", "a", "Invalid system flag \\Bogus"},
      {"a STORE 1 XFLAGS (\\Seen)", "a", "Expected FLAGS, +FLAGS or -FLAGS"},
      {"a SEARCH FROB", "a", "Unknown search key FROB"},
      {"a SEARCH SINCE 32-Jan-2020", "a", "Invalid date"},
      {"a SEARCH OR ALL", "a", "Missing argument"},
      {"a APPEND INBOX hello", "a", "Expected a literal"},
      {"a APPEND INBOX \"bad date\" {1}\r\nx", "a", "Invalid date-time"},
      {"a APPEND INBOX {5}\r\nab", "a", "Literal is shorter than announced"},
      // RFC 3502: every message after the first needs its own literal.
      {"a APPEND INBOX {1}\r\nx ", "a", "Expected a literal"},
      {"a APPEND INBOX {1}\r\nx (\\Seen)", "a", "Missing argument"},
      {"a APPEND INBOX {1}\r\nx  {1}\r\ny", "a", "Expected a literal"},
      {"a APPEND INBOX {1}\r\nx{1}\r\ny", "a", "Expected a space"},
      // RFC 8514: the SAVED* keys take a date; SAVEDATE has no section.
      {"a SEARCH SAVEDBEFORE", "a", "Missing argument"},
      {"a SEARCH SAVEDON 9-Sept-2001", "a", "Invalid date"},
      {"a FETCH 1 SAVEDATE[]", "a", "Expected a space"},
      // RFC 8474 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
      {"a SEARCH EMAILID M.1", "a", "Invalid object id"},
      {"a SEARCH THREADID", "a", "Missing argument"},
      {"a SELECT INBOX (FROB)", "a", "Unknown SELECT parameter FROB"},
      {"a UID FETCH 1 FLAGS (VANISHED)", "a", "VANISHED needs UID FETCH with CHANGEDSINCE"},
      {"a SORT (FROB) UTF-8 ALL", "a", "Unknown sort criterion FROB"},
  };
  for (const auto& c : cases) {
    auto r = parse_command(c.wire);
    EXPECT_FALSE(r.ok()) << c.wire;
    EXPECT_EQ(r.error.tag, c.tag) << c.wire;
    EXPECT_EQ(r.error.message, c.message) << c.wire;
  }
}

TEST(Parser, DeepParenthesesAreBounded) {
  std::string wire = "a SEARCH ";
  for (int i = 0; i < 10000; ++i) wire += "(";
  wire += "ALL";
  for (int i = 0; i < 10000; ++i) wire += ")";
  auto r = parse_command(wire);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "Too deeply nested");
  std::string nots = "a SEARCH ";
  for (int i = 0; i < 10000; ++i) nots += "NOT ";
  nots += "ALL";
  EXPECT_EQ(parse_command(nots).error.message, "Too deeply nested");
}

TEST(Parser, SequenceSets) {
  auto s = parse_sequence_set("5:3,*,10:*,7");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->expand(12), (std::vector<uint32_t>{3, 4, 5, 7, 10, 11, 12}));
  EXPECT_EQ(s->expand(0), std::vector<uint32_t>{});
  EXPECT_TRUE(s->contains(4, 12));
  EXPECT_FALSE(s->contains(6, 12));
  EXPECT_EQ(s->largest_explicit(), 10u);
  auto star = parse_sequence_set("*:4");
  ASSERT_TRUE(star);
  EXPECT_EQ(star->expand(2), (std::vector<uint32_t>{2}));  // "*:4" with max 2 is 2:4 -> 2
}

TEST(Parser, LoginWithLiteralsAndQuoted) {
  auto r = parse_command("A1 login {5+}\r\nalice \"won\\\"der\"");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.command->name, "LOGIN");
  EXPECT_EQ(r.command->args, (std::vector<std::string>{"alice", "won\"der"}));
}

TEST(Parser, FetchItems) {
  auto r = parse_command(
      "t UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject From)]<0.100> BODY[1.2.MIME] "
      "RFC822.SIZE BODYSTRUCTURE BINARY.PEEK[1] MODSEQ) (CHANGEDSINCE 12 VANISHED)");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& c = *r.command;
  EXPECT_TRUE(c.uid);
  ASSERT_EQ(c.fetch.size(), 7u);
  EXPECT_EQ(c.fetch[1].item, FetchItem::body_section);
  EXPECT_TRUE(c.fetch[1].peek);
  EXPECT_EQ(c.fetch[1].label, "BODY[HEADER.FIELDS (Subject From)]<0>");
  EXPECT_EQ(c.fetch[1].fields, (std::vector<std::string>{"Subject", "From"}));
  EXPECT_EQ(c.fetch[1].partial, std::make_pair(uint64_t{0}, uint64_t{100}));
  EXPECT_EQ(c.fetch[2].label, "BODY[1.2.MIME]");
  EXPECT_EQ(c.fetch[2].section.parts, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(c.fetch[2].section.text, mime::SectionText::mime);
  EXPECT_EQ(c.fetch[5].label, "BINARY[1]");
  EXPECT_EQ(c.changed_since, 12u);
  EXPECT_TRUE(c.vanished);
  auto all = parse_command("t FETCH 2,4 ALL");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.command->fetch.size(), 4u);
  auto full = parse_command("t FETCH 1 full");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full.command->fetch.back().item, FetchItem::body);
}

TEST(Parser, SearchProgram) {
  auto r = parse_command(
      "s UID SEARCH RETURN (MIN COUNT) CHARSET big5 OR FROM {4}\r\n\xa4\xa4\xa4\xe5 (SEEN "
      "UNKEYWORD $Junk) NOT 1:3 SENTSINCE \"1-Feb-1994\" HEADER X-Spam yes LARGER 10 MODSEQ 5");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& c = *r.command;
  EXPECT_EQ(c.charset, "BIG5");
  EXPECT_TRUE(c.search_return.present);
  EXPECT_TRUE(c.search_return.min && c.search_return.count && !c.search_return.max);
  ASSERT_EQ(c.search.children.size(), 6u);
  EXPECT_EQ(c.search.children[0].op, SearchKey::Op::or_);
  EXPECT_EQ(c.search.children[0].children[0].value, "\xa4\xa4\xa4\xe5");
  EXPECT_EQ(c.search.children[0].children[0].op, SearchKey::Op::field);  // FROM
  EXPECT_EQ(c.search.children[0].children[0].field, "FROM");
  EXPECT_EQ(c.search.children[3].op, SearchKey::Op::header);  // HEADER X-Spam
  EXPECT_EQ(c.search.children[0].children[1].children[1].op, SearchKey::Op::not_keyword);
  EXPECT_EQ(c.search.children[1].op, SearchKey::Op::not_);
  EXPECT_EQ(c.search.children[2].date, 8797);  // 1994-02-01
  EXPECT_EQ(c.search.children[3].field, "X-SPAM");
  EXPECT_EQ(c.search.children[5].number, 5u);
}

TEST(Parser, StoreAppendSelectList) {
  auto st = parse_command("s STORE 1:2 (UNCHANGEDSINCE 7) -FLAGS.SILENT (\\Seen $Label1)");
  ASSERT_TRUE(st.ok()) << st.error.message;
  EXPECT_EQ(st.command->store_mode, '-');
  EXPECT_TRUE(st.command->silent);
  EXPECT_EQ(st.command->unchanged_since, 7u);
  EXPECT_EQ(st.command->flags, store::kSeen);
  EXPECT_EQ(st.command->keywords, (std::vector<std::string>{"$Label1"}));
  auto st2 = parse_command("s STORE 1 +FLAGS \\Deleted \\Flagged");
  ASSERT_TRUE(st2.ok()) << st2.error.message;
  EXPECT_EQ(st2.command->flags, store::kDeleted | store::kFlagged);

  auto ap =
      parse_command("a APPEND Sent (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {11}\r\nSubject: x\n");
  ASSERT_TRUE(ap.ok()) << ap.error.message;
  EXPECT_EQ(ap.command->args[0], "Sent");
  ASSERT_EQ(ap.command->appends.size(), 1u);
  EXPECT_EQ(ap.command->appends[0].message, "Subject: x\n");
  EXPECT_EQ(ap.command->appends[0].flags, store::kSeen);
  EXPECT_EQ(ap.command->appends[0].date_time, 760686745);
  EXPECT_EQ(ap.command->appends[0].date_tz, -480);

  // RFC 3502: several messages, each with its own flags and date.
  auto multi = parse_command(
      "a APPEND Sent (\\Seen) {1}\r\nx {2+}\r\nyz \" 7-Feb-1994 21:52:25 -0800\" {0}\r\n");
  ASSERT_TRUE(multi.ok()) << multi.error.message;
  ASSERT_EQ(multi.command->appends.size(), 3u);
  EXPECT_EQ(multi.command->appends[0].flags, store::kSeen);
  EXPECT_EQ(multi.command->appends[1].message, "yz");
  EXPECT_EQ(multi.command->appends[1].flags, 0u);
  EXPECT_FALSE(multi.command->appends[1].date_time);
  EXPECT_EQ(multi.command->appends[2].date_time, 760686745);
  EXPECT_EQ(multi.command->appends[2].message, "");

  auto sel =
      parse_command("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
  ASSERT_TRUE(sel.ok()) << sel.error.message;
  EXPECT_TRUE(sel.command->qresync);
  EXPECT_EQ(sel.command->qr_uidvalidity, 67890007u);
  EXPECT_TRUE(sel.command->qr_known_uids.has_value());

  auto list = parse_command(
      "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"%\" INBOX/*) RETURN (CHILDREN STATUS (MESSAGES "
      "UNSEEN))");
  ASSERT_TRUE(list.ok()) << list.error.message;
  EXPECT_TRUE(list.command->list_extended);
  EXPECT_EQ(list.command->patterns, (std::vector<std::string>{"%", "INBOX/*"}));
  EXPECT_EQ(list.command->status_items, (std::vector<std::string>{"MESSAGES", "UNSEEN"}));
  auto plain = parse_command("a LIST \"\" *");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain.command->list_extended);

  auto id = parse_command("a ID (\"name\" \"mbsync\" \"version\" NIL)");
  ASSERT_TRUE(id.ok()) << id.error.message;
  EXPECT_EQ(id.command->id_params.size(), 2u);
  EXPECT_FALSE(id.command->id_params[1].second.has_value());

  auto cr = parse_command("a CREATE Archive (USE (\\Archive))");
  ASSERT_TRUE(cr.ok()) << cr.error.message;
  EXPECT_EQ(cr.command->create_use, (std::vector<std::string>{"\\Archive"}));
  auto au = parse_command("a AUTHENTICATE plain AGFsaWNlAHdvbmRlcmxhbmQ=");
  ASSERT_TRUE(au.ok());
  EXPECT_EQ(au.command->atoms[0], "PLAIN");
  EXPECT_EQ(au.command->initial_response, "AGFsaWNlAHdvbmRlcmxhbmQ=");
}

// RFC 3516: BINARY sections, ranges and literal8 in APPEND.
TEST(Parser, BinaryItemsAndLiteral8) {
  auto f =
      parse_command("a FETCH 1 (BINARY[1.2]<5.10> BINARY.SIZE[2] BINARY.PEEK[] BINARY[1]<40>)");
  ASSERT_TRUE(f.ok()) << f.error.message;
  const auto& c = *f.command;
  ASSERT_EQ(c.fetch.size(), 4u);
  EXPECT_EQ(c.fetch[0].label, "BINARY[1.2]<5>");
  EXPECT_FALSE(c.fetch[0].peek);
  EXPECT_EQ(c.fetch[0].partial, std::make_pair(uint64_t{5}, uint64_t{10}));
  EXPECT_EQ(c.fetch[1].item, FetchItem::binary_size);
  EXPECT_EQ(c.fetch[1].label, "BINARY.SIZE[2]");
  EXPECT_TRUE(c.fetch[1].peek);
  EXPECT_EQ(c.fetch[2].label, "BINARY[]");
  EXPECT_TRUE(c.fetch[2].peek);
  // "<origin>" alone (Dovecot's form, BINARY only): to the end of the part.
  EXPECT_EQ(c.fetch[3].partial, std::make_pair(uint64_t{40}, UINT64_MAX));
  EXPECT_EQ(c.fetch[3].label, "BINARY[1]<40>");
  // Section texts are accepted as Dovecot does.
  auto t = parse_command("a FETCH 1 BINARY.PEEK[2.HEADER.FIELDS (From)]");
  ASSERT_TRUE(t.ok()) << t.error.message;
  EXPECT_EQ(t.command->fetch[0].label, "BINARY[2.HEADER.FIELDS (From)]");

  const Bad cases[] = {
      {"a FETCH 1 BINARY.SIZE[1]<0.5>", "a", "Invalid BINARY.SIZE"},
      {"a FETCH 1 BINARY[1]<0.0>", "a", "Partial size must not be zero"},
      {"a FETCH 1 BODY[1]<40>", "a", "Expected '.'"},
      {"a FETCH 1 BINARY", "a", "Expected '['"},
      {"a FETCH 1 BINARY[1.]", "a", "Invalid section"},
      {"a FETCH 1 BINARY[x]", "a", "Invalid section"},
      {"a APPEND INBOX ~\"x\"", "a", "Expected a literal"},
      {"a APPEND INBOX ~", "a", "Expected a literal"},
      {"a APPEND INBOX ~{5}\r\nab", "a", "Literal is shorter than announced"},
      {"a LOGIN ~{1}\r\na b", "a", "Expected a space"},  // "~" is an atom, not literal8
  };
  for (const auto& b : cases) {
    auto r = parse_command(b.wire);
    ASSERT_FALSE(r.ok()) << b.wire;
    EXPECT_EQ(r.error.tag, b.tag) << b.wire;
    EXPECT_EQ(r.error.message, b.message) << b.wire;
  }

  // literal8, synchronizing or not (RFC 3516 4.4, RFC 7888), may hold NUL.
  const char raw[] = "a APPEND INBOX (\\Seen) ~{3}\r\nf\0o ~{2+}\r\n\0\0";
  std::string wire(raw, sizeof(raw) - 1);
  auto ap = parse_command(wire);
  ASSERT_TRUE(ap.ok()) << ap.error.message;
  ASSERT_EQ(ap.command->appends.size(), 2u);
  EXPECT_EQ(ap.command->appends[0].message, std::string("f\0o", 3));
  EXPECT_EQ(ap.command->appends[1].message, std::string(2, '\0'));
}

TEST(Parser, Dates) {
  EXPECT_EQ(parse_date("1-Jan-1970"), 0);
  EXPECT_EQ(parse_date("01-jan-1970"), 0);
  EXPECT_FALSE(parse_date("1-Foo-1970"));
  EXPECT_FALSE(parse_date("1-Jan-70"));
  EXPECT_FALSE(parse_date_time("7-Feb-1994 21:52:25 -0800"));  // day must be 2 characters
}

}  // namespace
}  // namespace mailroom::imap::proto
