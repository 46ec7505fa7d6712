// The IMAP session without sockets (issue 14's session kit): a scripted transport, the real
// FileStore in a temporary directory and the fake authenticator (alice/wonderland). The command
// flows the integration tests cover against mailroomd, here exact and fast: greeting and
// capabilities before and after TLS and login, LOGIN refused in clear text (RFC 3501 6.2.3),
// literals before and after login (RFC 7888), APPEND/SELECT/FETCH/STORE/SEARCH/EXPUNGE, the
// selected state's rules, malformed commands answered BAD without ending the session.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

TEST_F(ImapSession, GreetingCapabilityAndLogout) {
  std::string out = run({"a CAPABILITY\r\nb LOGOUT\r\n"});
  EXPECT_EQ(out.rfind("* OK [CAPABILITY IMAP4rev1 ", 0), 0u) << out;
  auto cap = lines_of(out, "a");
  ASSERT_EQ(cap.size(), 2u) << out;
  for (const char* c : {" IMAP4rev1", " AUTH=PLAIN", " LITERAL-", " SASL-IR", " ID", " ENABLE"})
    EXPECT_NE(cap[0].find(c), std::string::npos) << c << "\n" << cap[0];
  // RFC 7888 5: before login only LITERAL- (4096 octets), not LITERAL+.
  EXPECT_EQ(cap[0].find("LITERAL+"), std::string::npos) << cap[0];
  EXPECT_EQ(cap[1], "a OK CAPABILITY completed");
  auto bye = lines_of(out, "b");
  ASSERT_EQ(bye.size(), 2u);
  EXPECT_EQ(bye[0].rfind("* BYE", 0), 0u);
  EXPECT_EQ(bye[1].rfind("b OK", 0), 0u);
}

TEST_F(ImapSession, CleartextLoginIsRefusedWithoutTls) {
  // RFC 3501 6.2.3 / 7.2.1: LOGINDISABLED, and LOGIN answered NO, from a non-loopback client.
  std::string out = run({"a CAPABILITY\r\nb LOGIN alice wonderland\r\nc LOGOUT\r\n"},
                        /*tls=*/false);
  EXPECT_NE(lines_of(out, "a")[0].find("LOGINDISABLED"), std::string::npos) << out;
  EXPECT_NE(lines_of(out, "a")[0].find("STARTTLS"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "b").rfind("b NO ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK", 0), 0u) << out;
}

TEST_F(ImapSession, LoginFailsThenSucceedsAndCapabilitiesChange) {
  std::string out =
      run({"a LOGIN alice wrong\r\nb LOGIN alice wonderland\r\nc CAPABILITY\r\nd LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "a").rfind("a NO [AUTHENTICATIONFAILED]", 0), 0u) << out;
  // RFC 3501 7.1: the OK after login may carry the new capability list.
  EXPECT_EQ(tagged(out, "b").rfind("b OK ", 0), 0u) << out;
  auto cap = lines_of(out, "c");
  ASSERT_EQ(cap.size(), 2u) << out;
  EXPECT_NE(cap[0].find("LITERAL+"), std::string::npos) << cap[0];
  EXPECT_EQ(cap[0].find("AUTH=PLAIN"), std::string::npos) << cap[0];  // no AUTH= after login
  EXPECT_NE(cap[0].find("CONDSTORE"), std::string::npos) << cap[0];
}

TEST_F(ImapSession, LoginWithSynchronizingLiteral) {
  // The password as a literal: the continuation request comes before its octets are read.
  ScriptedTransport t({"a LOGIN alice {10}\r\n", "wonderland\r\nb LOGOUT\r\n"}, /*tls=*/true);
  std::string out = run(t);
  EXPECT_NE(out.find("\r\n+ "), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "a").rfind("a OK ", 0), 0u) << out;
  EXPECT_EQ(t.account, "acct-alice");
}

TEST_F(ImapSession, LargeLiteralBeforeLoginIsRefusedUnread) {
  // login_max_literal (8 KiB): BAD [TOOBIG] without a continuation; the session goes on.
  std::string out = run({"a LOGIN alice {9000}\r\nb NOOP\r\nc LOGOUT\r\n"});
  EXPECT_EQ(out.find("\r\n+ "), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "a").rfind("a BAD [TOOBIG]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "b").rfind("b OK", 0), 0u) << out;
}

TEST_F(ImapSession, NonSynchronizingLiteralTooBigBeforeLoginEndsTheSession) {
  std::string out = run({"a LOGIN alice {9000+}\r\n" + std::string(100, 'x')});
  EXPECT_NE(out.find("* BYE [TOOBIG]"), std::string::npos) << out;
}

TEST_F(ImapSession, BulkBodyFetchLeavesOutAMessageWhoseFileCannotBeRead) {
  // Bodies are read straight into the output, each into a hole the size of its message; a
  // message that cannot be read (expunged meanwhile, or its file gone as here) has its
  // response cut out again and the others arrive whole (RFC 3501 6.4.5 allows omitting it).
  run({"a LOGIN alice wonderland\r\n" + append("b", message("one", std::string(5000, 'x'))) +
       append("c", message("two")) + append("d", message("three", "last")) + "e LOGOUT\r\n"});
  int removed = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir_ / "mail")) {
    if (f.path().extension() != ".eml") continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("Subject: two") == std::string::npos) continue;
    std::filesystem::remove(f.path());
    ++removed;
  }
  ASSERT_EQ(removed, 1);
  std::string out =
      run({"a LOGIN alice wonderland\r\nb SELECT INBOX\r\n"
           "c UID FETCH 1:* (FLAGS BODY.PEEK[])\r\nd FETCH 3 RFC822\r\n"
           "e LOGOUT\r\n"});
  std::string one = message("one", std::string(5000, 'x')), three = message("three", "last");
  auto literal = [](const std::string& m) { return "{" + std::to_string(m.size()) + "}\r\n" + m; };
  EXPECT_NE(out.find("* 1 FETCH (UID 1 FLAGS ("), std::string::npos) << out;
  EXPECT_NE(out.find(" BODY[] " + literal(one) + ")\r\n* 3 FETCH (UID 3 FLAGS ("),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" BODY[] " + literal(three) + ")\r\nc OK"), std::string::npos) << out;
  EXPECT_EQ(out.find("* 2 FETCH"), std::string::npos) << out;
  // RFC822 is the whole message too, and sets \Seen (RFC 3501 6.4.5).
  EXPECT_NE(out.find("* 3 FETCH (RFC822 " + literal(three) + " FLAGS ("), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d OK", 0), 0u) << out;
}

TEST_F(ImapSession, SortWithReturnOptionsAnswersWithEsearchInSortOrder) {
  // RFC 5267 3 (ESORT): MIN and MAX are the first and last in the sort order, ALL keeps the
  // order (ranges only where the numbers ascend one by one), RETURN () means ALL.
  std::string out =
      run({"a LOGIN alice wonderland\r\n" + append("b", message("b")) + append("c", message("a")) +
           append("d", message("c")) + append("e", message("d")) +
           "f SELECT INBOX\r\n"
           "g UID SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL\r\n"
           "h SORT RETURN () (REVERSE SUBJECT) US-ASCII ALL\r\n"
           "i SORT RETURN (COUNT MIN) (SUBJECT) UTF-8 SUBJECT nothing-like-it\r\n"
           "j SORT RETURN (BOGUS) (SUBJECT) UTF-8 ALL\r\n"
           "k SORT (SUBJECT) UTF-8 ALL\r\n"
           "l CAPABILITY\r\n"
           "m UID SORT RETURN (ALL) (SUBJECT) UTF-8 MODSEQ 1\r\n"
           "n SORT (SUBJECT) UTF-8 MODSEQ 1\r\n"
           "o UID SORT RETURN (MIN) (SUBJECT) UTF-8 MODSEQ 1\r\n"
           "p STORE 2 +FLAGS (\\Flagged)\r\n"
           "q UID SORT RETURN (MAX COUNT) (SUBJECT) UTF-8 MODSEQ 1\r\n"
           "r LOGOUT\r\n"});
  auto g = lines_of(out, "g");
  ASSERT_EQ(g.size(), 2u) << out;
  EXPECT_EQ(g[0], "* ESEARCH (TAG \"g\") UID MIN 2 MAX 4 COUNT 4 ALL 2,1,3:4");
  EXPECT_EQ(lines_of(out, "h")[0], "* ESEARCH (TAG \"h\") ALL 4,3,1:2");
  EXPECT_EQ(lines_of(out, "i")[0], "* ESEARCH (TAG \"i\") COUNT 0");
  EXPECT_EQ(tagged(out, "j").rfind("j BAD ", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "k")[0], "* SORT 2 1 3 4");  // without RETURN: as before
  EXPECT_NE(lines_of(out, "l")[0].find(" ESORT"), std::string::npos);
  // RFC 7162 3.1.5: with a MODSEQ key, the highest mod-sequence of what is returned (RFC 4731
  // 3.2: of the MIN/MAX message alone when only those are asked for). The STORE on message 2
  // (UID 2, sorted first) then raises the highest.
  ASSERT_FALSE(lines_of(out, "q").empty()) << out;
  // The first MODSEQ key enables CONDSTORE: "* OK [HIGHESTMODSEQ n]" comes before the answer.
  auto m = lines_of(out, "m")[1];
  EXPECT_TRUE(
      std::regex_match(m, std::regex(R"(\* ESEARCH \(TAG "m"\) UID ALL 2,1,3:4 MODSEQ \d+)")))
      << m;
  auto modseq_of = [](const std::string& line) -> uint64_t {
    std::smatch sm;
    return std::regex_search(line, sm, std::regex(R"(MODSEQ (\d+))")) ? std::stoull(sm[1]) : 0;
  };
  uint64_t all = modseq_of(m);
  EXPECT_EQ(lines_of(out, "n")[0], "* SORT 2 1 3 4 (MODSEQ " + std::to_string(all) + ")");
  uint64_t min_only = modseq_of(lines_of(out, "o")[0]);
  EXPECT_GT(min_only, 0u);
  EXPECT_LT(min_only, all);  // UID 2 was appended before UID 4, the highest
  auto q = lines_of(out, "q")[0];
  EXPECT_EQ(q.rfind("* ESEARCH (TAG \"q\") UID MAX 4 COUNT 4 MODSEQ ", 0), 0u) << q;
  EXPECT_GT(modseq_of(q), all);  // the STORE raised message 2's
}

TEST_F(ImapSession, PreviewIsQuotedOrALiteralAndLeavesSeenAlone) {
  // RFC 8970: PREVIEW and PREVIEW (LAZY); 8-bit text as a literal; \Seen is not set; an unknown
  // modifier is BAD.
  std::string out =
      run({"a LOGIN alice wonderland\r\n" + append("b", message("one", "Lunch   at\r\n noon?")) +
           append("c", message("two", "caf\xc3\xa9 \"quoted\"")) +
           "d SELECT INBOX\r\n"
           "e FETCH 1 (PREVIEW)\r\n"
           "f UID FETCH 2 (PREVIEW (LAZY) FLAGS)\r\n"
           "g FETCH 1 (PREVIEW (FAST))\r\n"
           "h FETCH 1 (PREVIEW ())\r\n"
           "i FETCH 1:2 (FLAGS)\r\n"
           "j CAPABILITY\r\nk LOGOUT\r\n"});
  EXPECT_EQ(lines_of(out, "e")[0], "* 1 FETCH (PREVIEW \"Lunch at noon?\")") << out;
  EXPECT_NE(out.find("* 2 FETCH (UID 2 PREVIEW {14}\r\ncaf\xc3\xa9 \"quoted\" FLAGS ("),
            std::string::npos)
      << out;
  EXPECT_EQ(tagged(out, "g").rfind("g BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "h").rfind("h BAD ", 0), 0u) << out;
  for (const auto& l : lines_of(out, "i")) EXPECT_EQ(l.find("\\Seen"), std::string::npos) << l;
  EXPECT_NE(lines_of(out, "j")[0].find(" PREVIEW"), std::string::npos);
}

TEST_F(ImapSession, AppendSelectFetchStoreSearchExpunge) {
  std::string out = run({"a LOGIN alice wonderland\r\n" + append("b", message("one")) +
                         append("c", message("two", "meeting at noon"), "\\Flagged") +
                         "d SELECT INBOX\r\n"
                         "e FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)\r\n"
                         "f STORE 1 +FLAGS (\\Deleted)\r\n"
                         "g UID SEARCH BODY meeting\r\n"
                         "h SEARCH FLAGGED\r\n"
                         "i EXPUNGE\r\n"
                         "j FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"
                         "k LOGOUT\r\n"});
  // RFC 4315: APPENDUID with the mailbox's UIDVALIDITY and the new UID.
  EXPECT_TRUE(std::regex_match(tagged(out, "b"), std::regex("b OK \\[APPENDUID \\d+ 1\\] .*")))
      << out;
  EXPECT_TRUE(std::regex_match(tagged(out, "c"), std::regex("c OK \\[APPENDUID \\d+ 2\\] .*")))
      << out;
  auto sel = lines_of(out, "d");
  auto has = [&sel](const std::string& s) {
    for (const auto& l : sel)
      if (l.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("* 2 EXISTS")) << out;
  EXPECT_TRUE(has("[UIDNEXT 3]")) << out;
  EXPECT_TRUE(has("[UIDVALIDITY ")) << out;
  EXPECT_TRUE(has("* FLAGS (")) << out;
  EXPECT_EQ(sel.back().rfind("d OK [READ-WRITE]", 0), 0u) << out;
  auto f = lines_of(out, "e");
  ASSERT_EQ(f.size(), 3u) << out;
  EXPECT_EQ(f[0].rfind("* 1 FETCH (UID 1 FLAGS (", 0), 0u) << f[0];
  EXPECT_NE(f[0].find("RFC822.SIZE " + std::to_string(message("one").size())), std::string::npos)
      << f[0];
  EXPECT_NE(f[0].find("ENVELOPE (\"Fri, 04 Dec 2026 10:00:00 +0000\" \"one\" ((\"Carol\" NIL "
                      "\"carol\" \"remote.example\"))"),
            std::string::npos)
      << f[0];
  EXPECT_NE(f[1].find("\\Flagged"), std::string::npos) << f[1];
  auto st = lines_of(out, "f");
  ASSERT_EQ(st.size(), 2u) << out;
  EXPECT_NE(st[0].find("* 1 FETCH (FLAGS ("), std::string::npos) << st[0];
  EXPECT_NE(st[0].find("\\Deleted"), std::string::npos) << st[0];
  EXPECT_EQ(lines_of(out, "g")[0], "* SEARCH 2") << out;
  EXPECT_EQ(lines_of(out, "h")[0], "* SEARCH 2") << out;
  auto ex = lines_of(out, "i");
  ASSERT_EQ(ex.size(), 2u) << out;
  EXPECT_EQ(ex[0], "* 1 EXPUNGE");
  // The former message 2 is now 1, and its UID is still 2; the field comes as a literal.
  EXPECT_NE(out.find("\r\n* 1 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {16}\r\n"
                     "Subject: two\r\n\r\n)\r\nj OK"),
            std::string::npos)
      << out;
}

TEST_F(ImapSession, SelectedStateRulesAndBadInput) {
  std::string out =
      run({"a LOGIN alice wonderland\r\n"
           "b FETCH 1 FLAGS\r\n"   // no mailbox selected: BAD (RFC 3501 6.4)
           "c SELECT Nowhere\r\n"  // NO [NONEXISTENT] (RFC 5530)
           "d NOSUCHCOMMAND\r\n"   // BAD, the session goes on
           "e SELECT INBOX\r\n"
           "f FETCH 5 FLAGS\r\n"          // beyond EXISTS (0): BAD
           "g UID FETCH 5 FLAGS\r\n"      // UID ranges may name nothing: OK, no lines
           "h STORE 1 FLAGS (\\Seen\r\n"  // unbalanced parenthesis: BAD
           "i LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c NO [NONEXISTENT]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "e").rfind("e OK [READ-WRITE]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "f").rfind("f BAD ", 0), 0u) << out;
  auto g = lines_of(out, "g");
  ASSERT_EQ(g.size(), 1u) << out;
  EXPECT_EQ(g[0].rfind("g OK", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "h").rfind("h BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "i").rfind("i OK", 0), 0u) << out;
}

TEST_F(ImapSession, ListCreateRenameDelete) {
  std::string out =
      run({"a LOGIN alice wonderland\r\n"
           "b CREATE Work/Done\r\n"
           "c LIST \"\" Work*\r\n"
           "d RENAME Work/Done Work/Old\r\n"
           "e LIST \"\" Work/%\r\n"
           "f DELETE Work/Old\r\n"
           "g LIST (SPECIAL-USE) \"\" *\r\n"
           "h LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b OK", 0), 0u) << out;
  auto c = lines_of(out, "c");
  ASSERT_EQ(c.size(), 3u) << out;
  EXPECT_EQ(c[0], "* LIST (\\HasChildren) \"/\" \"Work\"") << out;
  EXPECT_EQ(c[1], "* LIST (\\HasNoChildren) \"/\" \"Work/Done\"") << out;
  auto e = lines_of(out, "e");
  ASSERT_EQ(e.size(), 2u) << out;
  EXPECT_EQ(e[0], "* LIST (\\HasNoChildren) \"/\" \"Work/Old\"") << out;
  EXPECT_EQ(tagged(out, "f").rfind("f OK", 0), 0u) << out;
  // RFC 6154 2.3: only the mailboxes with a special use.
  for (const auto& l : lines_of(out, "g")) {
    if (l[0] != '*') continue;
    EXPECT_TRUE(std::regex_search(l, std::regex("\\\\(Sent|Drafts|Trash|Junk|Archive)"))) << l;
    EXPECT_EQ(l.find("INBOX"), std::string::npos) << l;
  }
  EXPECT_EQ(lines_of(out, "g").size(), 5u) << out;  // Sent, Drafts, Trash, Junk + tagged
}

TEST_F(ImapSession, ClientThatGoesAwayEndsTheSessionCleanly) {
  ScriptedTransport t({"a LOGIN alice wonderland\r\nb SELECT INBOX\r\n"}, /*tls=*/true);
  std::string out = run(t);  // eof after the script: no exception, no hang
  EXPECT_EQ(tagged(out, "b").rfind("b OK", 0), 0u) << out;
}

}  // namespace
}  // namespace mailroom::imap
