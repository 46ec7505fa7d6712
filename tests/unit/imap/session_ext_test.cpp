// The IMAP extensions of issue 20 through the session (no sockets): MULTIAPPEND (RFC 3502),
// each with its hostile and edge cases — bad syntax answered BAD with the session going on,
// limits, empty sets, expunged messages, and what a second session sees afterwards; REPLACE
// (RFC 8508); SAVEDATE (RFC 8514); OBJECTID (RFC 8474).
#include <gtest/gtest.h>

#include <regex>

#include "src/db/sqlite.h"
#include "src/mime/conversation.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

class ImapExtensions : public ImapSession {
 protected:
  // A directory that knows alice's account (id acct-alice), for quotas.
  auth::Account& with_directory() {
    auto dir = std::make_shared<mailroom::testing::FakeDirectory>();
    dir->add_domain("example.com");
    directory_ = dir;
    services_.directory = dir;
    return dir->add_account("alice@example.com", "wonderland", "acct-alice");
  }
  static std::string literal(const std::string& m, bool sync = false) {
    return "{" + std::to_string(m.size()) + (sync ? "}" : "+}") + "\r\n" + m;
  }
  static bool has_line(const std::vector<std::string>& lines, const std::string& s) {
    for (const auto& l : lines)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
  // EXISTS of INBOX as a fresh session sees it.
  std::string exists_in(const std::string& mailbox = "INBOX") {
    std::string out =
        run({"a LOGIN alice wonderland\r\nb EXAMINE " + mailbox + "\r\nc LOGOUT\r\n"});
    std::smatch m;
    if (std::regex_search(out, m, std::regex("\\* (\\d+) EXISTS"))) return m[1];
    return "?";
  }
  // What another session does meanwhile: expunges `uid` of alice's INBOX (HookedTransport).
  std::function<void()> expunge_hook(uint32_t uid) {
    return [this, uid] {
      auto gone = services_.store->expunge("acct-alice", "INBOX", {uid});
      ASSERT_TRUE(gone.is_ok());
      ASSERT_EQ(gone->size(), 1u);
    };
  }
  // Runs SQL on alice's index beside the store (what an older index or another node left).
  void poke_index(const std::string& sql) {
    db::SqliteOptions o;
    o.path = (dir_ / "mail" / "acct-alice" / "index.db").string();
    auto db = db::Sqlite::open(o);
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    ASSERT_TRUE((*db)->exec(sql).is_ok()) << sql;
  }
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_;
};

const char kLogin[] = "a LOGIN alice wonderland\r\n";

// --- MULTIAPPEND (RFC 3502) ---

TEST_F(ImapExtensions, MultiappendIsAdvertisedAfterLogin) {
  std::string out = run({std::string(kLogin) + "b CAPABILITY\r\nc LOGOUT\r\n"});
  EXPECT_TRUE(has_line(lines_of(out, "b"), " MULTIAPPEND")) << out;
}

TEST_F(ImapExtensions, MultiappendAddsEveryMessageAndAnswersAUidSet) {
  // Flags and date per message (RFC 3502 6.3.11); APPENDUID with a UID set (RFC 4315 3).
  std::string out =
      run({std::string(kLogin) + "b APPEND INBOX (\\Seen) " + literal(message("one")) +
           " \" 7-Feb-1994 21:52:25 -0800\" " + literal(message("two")) + " (\\Flagged $Work) " +
           literal(message("three")) + "\r\n" +
           "c SELECT INBOX\r\nd FETCH 1:* (UID FLAGS INTERNALDATE)\r\ne LOGOUT\r\n"});
  EXPECT_TRUE(std::regex_match(tagged(out, "b"), std::regex("b OK \\[APPENDUID \\d+ 1:3\\] .*")))
      << out;
  EXPECT_TRUE(has_line(lines_of(out, "c"), "* 3 EXISTS")) << out;
  auto f = lines_of(out, "d");
  ASSERT_EQ(f.size(), 4u) << out;
  EXPECT_NE(f[0].find("\\Seen"), std::string::npos) << f[0];
  EXPECT_NE(f[1].find("INTERNALDATE \"07-Feb-1994 21:52:25 -0800\""), std::string::npos) << f[1];
  EXPECT_NE(f[2].find("\\Flagged $Work"), std::string::npos) << f[2];
}

TEST_F(ImapExtensions, MultiappendWithSynchronizingLiteralsWaitsForEachContinuation) {
  // Three literals, three "+" continuations, then one tagged answer.
  std::string one = message("one"), two = message("two");
  ScriptedTransport t(
      {std::string(kLogin) + "b APPEND INBOX {" + std::to_string(one.size()) + "}\r\n",
       one + " {" + std::to_string(two.size()) + "}\r\n", two + "\r\n", "c LOGOUT\r\n"},
      /*tls=*/true);
  std::string out = run(t);
  size_t plus = 0;
  for (size_t p = out.find("\r\n+ "); p != std::string::npos; p = out.find("\r\n+ ", p + 1)) ++plus;
  EXPECT_EQ(plus, 2u) << out;
  EXPECT_TRUE(std::regex_match(tagged(out, "b"), std::regex("b OK \\[APPENDUID \\d+ 1:2\\] .*")))
      << out;
}

TEST_F(ImapExtensions, MultiappendIsAllOrNothingWhenOneMessageIsEmpty) {
  std::string out = run({std::string(kLogin) + "b APPEND INBOX " + literal(message("one")) + " " +
                         literal("") + " " + literal(message("three")) + "\r\nc LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b NO [CANNOT]", 0), 0u) << out;
  EXPECT_EQ(exists_in(), "0");
}

TEST_F(ImapExtensions, MultiappendIsAllOrNothingOverQuota) {
  // Each message fits, the three together do not: none is added, the quota is untouched.
  auto& acct = with_directory();
  acct.quota_bytes = message("one").size() * 2 + 10;
  std::string out = run({std::string(kLogin) + "b APPEND INBOX " + literal(message("one")) + " " +
                         literal(message("two")) + " " + literal(message("six")) + "\r\n" +
                         "c GETQUOTAROOT INBOX\r\nd APPEND INBOX " + literal(message("one")) + " " +
                         literal(message("two")) + "\r\ne LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b NO [OVERQUOTA]", 0), 0u) << out;
  EXPECT_TRUE(has_line(lines_of(out, "c"), "(STORAGE 0 ")) << out;
  EXPECT_TRUE(std::regex_match(tagged(out, "d"), std::regex("d OK \\[APPENDUID \\d+ 1:2\\] .*")))
      << out;
  EXPECT_EQ(exists_in(), "2");
  // The UIDs of the refused batch were never given out (the store rolled them back).
}

TEST_F(ImapExtensions, MultiappendToAMissingMailboxAddsNothing) {
  std::string out = run({std::string(kLogin) + "b APPEND Nowhere " + literal(message("one")) + " " +
                         literal(message("two")) + "\r\nc LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b").rfind("b NO [TRYCREATE]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK", 0), 0u) << out;
}

TEST_F(ImapExtensions, MultiappendBadSyntaxIsBadAndTheSessionGoesOn) {
  // A bad flag in the second message, a date that is not one, a missing literal after a SP:
  // BAD, nothing added, the next command answered.
  std::string out = run({std::string(kLogin) + "b APPEND INBOX " + literal(message("one")) +
                         " (\\Bogus) " + literal(message("two")) + "\r\nc APPEND INBOX " +
                         literal(message("one")) + " \"yesterday\" " + literal(message("two")) +
                         "\r\nd APPEND INBOX " + literal(message("one")) + " \r\ne APPEND INBOX " +
                         literal(message("one")) + " (\\Seen)\r\nf NOOP\r\ng LOGOUT\r\n"});
  for (const char* tag : {"b", "c", "d", "e"})
    EXPECT_EQ(tagged(out, tag).rfind(std::string(tag) + " BAD ", 0), 0u) << tag << "\n" << out;
  EXPECT_EQ(tagged(out, "f").rfind("f OK", 0), 0u) << out;
  EXPECT_EQ(exists_in(), "0");
}

TEST_F(ImapExtensions, RefusedSynchronizingLiteralAfterAcceptedOnesKeepsTheParserInStep) {
  // The second literal is synchronizing and too large: no "+" for it, tagged BAD [TOOBIG]
  // (RFC 7888 4), the first message is not added, and the client's next line is read as a
  // new command (it sent no literal octets).
  options_.max_literal = 1000;
  ScriptedTransport t(
      {std::string(kLogin) + "b APPEND INBOX " + literal(message("one")) + " {5000}\r\n",
       "c NOOP\r\nd LOGOUT\r\n"},
      /*tls=*/true);
  std::string out = run(t);
  EXPECT_EQ(out.find("\r\n+ "), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "b").rfind("b BAD [TOOBIG]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c OK", 0), 0u) << out;
  EXPECT_EQ(exists_in(), "0");
}

TEST_F(ImapExtensions, NonSynchronizingLiteralTooLargeInMultiappendEndsTheSession) {
  // RFC 7888 4: its octets are already on the way and cannot be skipped safely.
  options_.max_literal = 1000;
  std::string out = run({std::string(kLogin) + "b APPEND INBOX " + literal(message("one")) +
                         " {5000+}\r\n" + std::string(5000, 'x') + "\r\nc NOOP\r\n"});
  EXPECT_NE(out.find("* BYE [TOOBIG]"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "c"), "") << out;
  EXPECT_EQ(exists_in(), "0");
}

TEST_F(ImapExtensions, MultiappendToTheSelectedMailboxReportsExists) {
  std::string out =
      run({std::string(kLogin) + "b SELECT INBOX\r\nc APPEND INBOX " + literal(message("one")) +
           " " + literal(message("two")) + "\r\nd LOGOUT\r\n"});
  EXPECT_TRUE(has_line(lines_of(out, "c"), "* 2 EXISTS")) << out;
  EXPECT_TRUE(has_line(lines_of(out, "c"), "* 2 RECENT")) << out;
}

// --- REPLACE (RFC 8508) ---

TEST_F(ImapExtensions, ReplaceIsAdvertisedAfterLogin) {
  std::string out = run({std::string(kLogin) + "b CAPABILITY\r\nc LOGOUT\r\n"});
  EXPECT_TRUE(has_line(lines_of(out, "b"), " REPLACE")) << out;
}

TEST_F(ImapExtensions, ReplaceInTheSelectedMailbox) {
  // RFC 8508 3.3: APPENDUID in an untagged OK, the old message's EXPUNGE, the new one's
  // EXISTS, then the tagged OK; the new message has its own flags.
  std::string out =
      run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
           "d SELECT INBOX\r\ne REPLACE 1 INBOX (\\Draft) " + literal(message("one-v2")) +
           "\r\nf FETCH 1:* (UID FLAGS)\r\nh FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\ng "
           "LOGOUT\r\n"});
  auto e = lines_of(out, "e");
  ASSERT_EQ(e.size(), 5u) << out;
  EXPECT_TRUE(std::regex_match(e[0], std::regex("\\* OK \\[APPENDUID \\d+ 3\\] .*"))) << out;
  EXPECT_EQ(e[1], "* 1 EXPUNGE") << out;
  EXPECT_EQ(e[2], "* 2 EXISTS") << out;
  EXPECT_EQ(e[3], "* 2 RECENT") << out;
  EXPECT_EQ(e[4], "e OK REPLACE completed") << out;
  auto f = lines_of(out, "f");
  ASSERT_EQ(f.size(), 3u) << out;
  EXPECT_NE(f[0].find("UID 2 "), std::string::npos) << f[0];
  EXPECT_NE(f[1].find("UID 3 FLAGS (\\Draft"), std::string::npos) << f[1];
  EXPECT_NE(out.find("Subject: one-v2"), std::string::npos) << out;
}

TEST_F(ImapExtensions, UidReplaceIntoAnotherMailboxUnderQresync) {
  // The old message leaves the selected mailbox (VANISHED under QRESYNC, RFC 7162 3.2.10), the
  // new one lands in Drafts.
  std::string out =
      run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
           "d ENABLE QRESYNC\r\ne SELECT INBOX\r\nf UID REPLACE 2 Drafts " +
           literal(message("two-v2")) + "\r\ng LOGOUT\r\n"});
  auto f = lines_of(out, "f");
  ASSERT_EQ(f.size(), 3u) << out;
  EXPECT_TRUE(std::regex_match(f[0], std::regex("\\* OK \\[APPENDUID \\d+ 1\\] .*"))) << out;
  EXPECT_EQ(f[1], "* VANISHED 2") << out;
  EXPECT_EQ(exists_in("INBOX"), "1");
  EXPECT_EQ(exists_in("Drafts"), "1");
}

TEST_F(ImapExtensions, ReplaceThatCannotAppendKeepsTheOldMessage) {
  // RFC 8508 3.3: the old message is expunged only when the new one was appended.
  auto& acct = with_directory();
  acct.quota_bytes = message("one").size() + 40;
  std::string out =
      run({std::string(kLogin) + append("b", message("one")) +
           "c SELECT INBOX\r\nd REPLACE 1 Nowhere " + literal(message("x")) +
           "\r\ne REPLACE 1 INBOX " + literal(message("big", std::string(200, 'x'))) +
           "\r\nf REPLACE 1 INBOX " + literal(message("one", "hello again")) + "\r\ng LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "d").rfind("d NO [TRYCREATE]", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "d").size(), 1u) << out;  // no EXPUNGE
  EXPECT_EQ(tagged(out, "e").rfind("e NO [OVERQUOTA]", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "e").size(), 1u) << out;
  // The replacement fits only because the old message's space is freed in the same step.
  EXPECT_EQ(tagged(out, "f"), "f OK REPLACE completed") << out;
  EXPECT_EQ(exists_in(), "1");
}

TEST_F(ImapExtensions, ReplaceHostileAndEdgeCases) {
  std::string msg = message("x");
  std::string out =
      run({std::string(kLogin) + "b REPLACE 1 INBOX " + literal(msg) +  // no mailbox
           "\r\n" + append("c", message("one")) + "d SELECT INBOX\r\n" + "e REPLACE 2 INBOX " +
           literal(msg) + "\r\n" +                              // beyond EXISTS
           "f UID REPLACE 99 INBOX " + literal(msg) + "\r\n" +  // no such UID
           "g REPLACE 1:2 INBOX " + literal(msg) + "\r\n" +     // a set
           "h REPLACE 1 INBOX " + literal(msg) + " " + literal(msg) + "\r\n" +
           "i REPLACE 1 INBOX " + literal("") + "\r\n" +  // empty message
           "j REPLACE 1 INBOX\r\n" +                      // no message
           "k REPLACE 0 INBOX " + literal(msg) + "\r\n" + "l EXAMINE INBOX\r\nm REPLACE 1 INBOX " +
           literal(msg) + "\r\n" + "n NOOP\r\no LOGOUT\r\n"});
  EXPECT_EQ(tagged(out, "b"), "b BAD No mailbox selected") << out;
  EXPECT_EQ(tagged(out, "e").rfind("e BAD Invalid message sequence number", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "f").rfind("f NO [NONEXISTENT]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "g"), "g BAD Invalid message sequence number") << out;
  EXPECT_EQ(tagged(out, "h"), "h BAD Unexpected extra arguments") << out;
  EXPECT_EQ(tagged(out, "i").rfind("i NO [CANNOT]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "j").rfind("j BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "k"), "k BAD Invalid message sequence number") << out;
  EXPECT_EQ(tagged(out, "m").rfind("m NO [READ-ONLY]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "n").rfind("n OK", 0), 0u) << out;
  EXPECT_EQ(exists_in(), "1");
}

TEST_F(ImapExtensions, ReplaceOfAMessageAnotherSessionExpungedAddsNothing) {
  // The store finds the old message gone inside its transaction: nothing is appended, NO
  // [EXPUNGEISSUED] (RFC 5530), and the session then learns of the expunge.
  run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
       "d LOGOUT\r\n"});
  HookedTransport t({std::string(kLogin) + "b SELECT INBOX\r\nc UID REPLACE 1 INBOX " +
                     literal(message("one-v2")) + "\r\nd LOGOUT\r\n"},
                    "c UID REPLACE", expunge_hook(1));
  std::string out = run(t);
  EXPECT_EQ(tagged(out, "c").rfind("c NO [EXPUNGEISSUED]", 0), 0u) << out;
  EXPECT_TRUE(has_line(lines_of(out, "c"), "* 1 EXPUNGE")) << out;
  EXPECT_EQ(exists_in(), "1");
}

TEST_F(ImapExtensions, ReplaceIsSeenByAnotherSession) {
  // Session one replaces; a later session sees the new message alone, with the next UID.
  std::string out = run({std::string(kLogin) + append("b", message("one")) +
                         "c SELECT INBOX\r\nd REPLACE 1 INBOX " + literal(message("one-v2")) +
                         "\r\ne LOGOUT\r\n"});
  ASSERT_EQ(tagged(out, "d"), "d OK REPLACE completed") << out;
  out = run({std::string(kLogin) + "b SELECT INBOX\r\nc UID FETCH 1:* (UID)\r\nd LOGOUT\r\n"});
  auto c = lines_of(out, "c");
  ASSERT_EQ(c.size(), 2u) << out;
  EXPECT_EQ(c[0], "* 1 FETCH (UID 2)") << out;
}

// --- SAVEDATE (RFC 8514) ---

TEST_F(ImapExtensions, SavedateIsAdvertisedAndFetchedAsADateTimeOrNil) {
  int64_t before = ::time(nullptr);
  std::string out = run({std::string(kLogin) + append("b", message("one")) +
                         append("c", message("two")) + "d CAPABILITY\r\ne LOGOUT\r\n"});
  int64_t after = ::time(nullptr);
  EXPECT_TRUE(has_line(lines_of(out, "d"), " SAVEDATE")) << out;
  poke_index("UPDATE messages SET saved_at=0 WHERE uid=1");  // saved before it was kept
  out = run({std::string(kLogin) +
             "b SELECT INBOX\r\nc FETCH 1:2 (SAVEDATE)\r\nd UID FETCH 2 (FLAGS SAVEDATE)\r\ne "
             "LOGOUT\r\n"});
  auto c = lines_of(out, "c");
  ASSERT_EQ(c.size(), 3u) << out;
  EXPECT_EQ(c[0], "* 1 FETCH (SAVEDATE NIL)") << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      c[1], m,
      std::regex(
          "\\* 2 FETCH \\(SAVEDATE \"(\\d\\d-\\w{3}-\\d{4} \\d\\d:\\d\\d:\\d\\d) \\+0000\"\\)")))
      << c[1];
  // The save date is the time of the APPEND (UTC), between the clock readings around it.
  std::tm tm{};
  ASSERT_NE(strptime(m[1].str().c_str(), "%d-%b-%Y %H:%M:%S", &tm), nullptr);
  int64_t saved = timegm(&tm);
  EXPECT_GE(saved, before);
  EXPECT_LE(saved, after);
  auto d = lines_of(out, "d");
  ASSERT_EQ(d.size(), 2u) << out;
  EXPECT_TRUE(
      std::regex_match(d[0], std::regex("\\* 2 FETCH \\(UID 2 FLAGS \\(.*\\) SAVEDATE \".*\"\\)")))
      << d[0];
}

TEST_F(ImapExtensions, SearchBySaveDateWithCopyAndMoveGivingANewOne) {
  std::string out = run({std::string(kLogin) + "b APPEND INBOX \"01-Jan-2000 12:00:00 +0000\" " +
                         literal(message("one")) + "\r\n" + append("c", message("two")) +
                         append("d", message("three")) + "e LOGOUT\r\n"});
  // 1: saved before save dates were kept (internal date 2000); 2 and 3: saved on 9-Sep-2001.
  poke_index("UPDATE messages SET saved_at=0 WHERE uid=1");
  poke_index("UPDATE messages SET saved_at=1000000000 WHERE uid IN (2, 3)");
  out = run({std::string(kLogin) + "b SELECT INBOX\r\n"
                                   "c FETCH 2 SAVEDATE\r\n"
                                   "d SEARCH SAVEDON 9-Sep-2001\r\n"
                                   "e SEARCH SAVEDBEFORE 9-Sep-2001\r\n"  // 1, by its internal date
                                   "f SEARCH SAVEDSINCE 10-Sep-2001\r\n"  // none
                                   "g SEARCH SAVEDATESUPPORTED\r\n"       // all
                                   "h UID SEARCH NOT SAVEDSINCE \"1-Jan-2001\"\r\n"  // 1
                                   "i UID COPY 2 Trash\r\n"
                                   "j UID MOVE 3 Junk\r\n"
                                   "k SEARCH SAVEDON 9-Sep-2001\r\n"
                                   "l EXAMINE Trash\r\n"
                                   "m SEARCH SAVEDSINCE 10-Sep-2001\r\n"
                                   "n EXAMINE Junk\r\n"
                                   "o SEARCH SAVEDSINCE 10-Sep-2001\r\n"
                                   "p LOGOUT\r\n"});
  EXPECT_EQ(lines_of(out, "c")[0], "* 2 FETCH (SAVEDATE \"09-Sep-2001 01:46:40 +0000\")") << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* SEARCH 2 3") << out;
  EXPECT_EQ(lines_of(out, "e")[0], "* SEARCH 1") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* SEARCH") << out;
  EXPECT_EQ(lines_of(out, "g")[0], "* SEARCH 1 2 3") << out;
  EXPECT_EQ(lines_of(out, "h")[0], "* SEARCH 1") << out;
  EXPECT_EQ(tagged(out, "j").rfind("j OK", 0), 0u) << out;
  // The source keeps its save date; the copy and the moved message have today's.
  EXPECT_EQ(lines_of(out, "k")[0], "* SEARCH 2") << out;
  EXPECT_EQ(lines_of(out, "m")[0], "* SEARCH 1") << out;
  EXPECT_EQ(lines_of(out, "o")[0], "* SEARCH 1") << out;
}

TEST_F(ImapExtensions, SavedateBadSyntaxEmptyMailboxAndExpungedMessages) {
  run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
       "d LOGOUT\r\n"});
  HookedTransport t(
      {std::string(kLogin) + "b EXAMINE Drafts\r\n"
                             "c SEARCH SAVEDSINCE 1-Jan-2000\r\n"  // empty mailbox: no numbers
                             "d UID FETCH 1:* SAVEDATE\r\n"
                             "e SELECT INBOX\r\n"
                             "f SEARCH SAVEDBEFORE yesterday\r\n"
                             "g SEARCH SAVEDON\r\n"
                             "h FETCH 1 SAVEDATE.PEEK\r\n"
                             "i FETCH 1 (SAVEDATE\r\n"
                             "j UID FETCH 1:* (SAVEDATE)\r\n"
                             "k UID SEARCH SAVEDSINCE 1-Jan-2000\r\n"
                             "l LOGOUT\r\n"},
      "j UID FETCH", expunge_hook(1));
  std::string out = run(t);
  EXPECT_EQ(lines_of(out, "c")[0], "* SEARCH") << out;
  EXPECT_EQ(lines_of(out, "d").size(), 1u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d OK", 0), 0u) << out;
  for (const char* tag : {"f", "g", "h", "i"})
    EXPECT_EQ(tagged(out, tag).rfind(std::string(tag) + " BAD ", 0), 0u) << tag << "\n" << out;
  // Expunged by another session just before: its response is left out (RFC 3501 7.4.1), the
  // expunge is announced after the UID FETCH.
  auto j = lines_of(out, "j");
  ASSERT_EQ(j.size(), 3u) << out;
  EXPECT_TRUE(std::regex_match(j[0], std::regex("\\* 2 FETCH \\(UID 2 SAVEDATE \".*\"\\)"))) << out;
  EXPECT_EQ(j[1], "* 1 EXPUNGE") << out;
  EXPECT_EQ(lines_of(out, "k")[0], "* SEARCH 2") << out;
}

// --- OBJECTID (RFC 8474) ---

std::string first_match(const std::string& text, const std::string& re) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(re)) ? m[1].str() : "";
}

TEST_F(ImapExtensions, MailboxIdIsKeptByRenameAndNewForARecreatedMailbox) {
  std::string id_re = "MAILBOXID \\((F[0-9a-f]{32})\\)";
  std::string out = run({std::string(kLogin) + "b CAPABILITY\r\n"
                                               "c CREATE Work\r\n"
                                               "d STATUS Work (MESSAGES MAILBOXID)\r\n"
                                               "e RENAME Work Play\r\n"
                                               "f STATUS Play (MAILBOXID)\r\n"
                                               "g SELECT Play\r\n"
                                               "h LIST \"\" Play RETURN (STATUS (MAILBOXID))\r\n"
                                               "i UNSELECT\r\n"
                                               "j DELETE Play\r\n"
                                               "k CREATE Play\r\n"
                                               "l STATUS INBOX (MAILBOXID)\r\n"
                                               "m RENAME INBOX Old\r\n"
                                               "n STATUS INBOX (MAILBOXID)\r\n"
                                               "o STATUS Old (MAILBOXID)\r\n"
                                               "p STATUS Play (MAILBOXID FROB)\r\n"
                                               "q LOGOUT\r\n"});
  EXPECT_TRUE(has_line(lines_of(out, "b"), " OBJECTID")) << out;
  std::string id = first_match(tagged(out, "c"), "^c OK \\[" + id_re + "\\] ");
  ASSERT_FALSE(id.empty()) << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* STATUS \"Work\" (MESSAGES 0 MAILBOXID (" + id + "))") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* STATUS \"Play\" (MAILBOXID (" + id + "))") << out;
  EXPECT_TRUE(has_line(lines_of(out, "g"), "* OK [MAILBOXID (" + id + ")]")) << out;
  EXPECT_TRUE(has_line(lines_of(out, "h"), "* STATUS \"Play\" (MAILBOXID (" + id + "))")) << out;
  std::string again = first_match(tagged(out, "k"), id_re);
  ASSERT_FALSE(again.empty()) << out;
  EXPECT_NE(again, id);  // RFC 8474 4: never the id of a deleted mailbox
  // RFC 8474 4.1: after RENAME INBOX, INBOX keeps its id and the new mailbox has a new one.
  std::string inbox = first_match(lines_of(out, "l")[0], id_re);
  ASSERT_FALSE(inbox.empty()) << out;
  EXPECT_EQ(first_match(lines_of(out, "n")[0], id_re), inbox) << out;
  std::string old = first_match(lines_of(out, "o")[0], id_re);
  EXPECT_FALSE(old.empty()) << out;
  EXPECT_NE(old, inbox) << out;
  EXPECT_EQ(tagged(out, "p"), "p BAD Unknown STATUS item FROB") << out;
}

TEST_F(ImapExtensions, EmailIdIsKeptByCopyAndMoveAndSearchable) {
  std::string out = run({std::string(kLogin) + append("b", message("one")) +
                         append("c", message("one")) +  // same content, another message
                         "d SELECT INBOX\r\n"
                         "e FETCH 1:2 (EMAILID THREADID)\r\n"
                         "f UID COPY 1 Trash\r\n"
                         "g UID MOVE 2 Junk\r\n"
                         "h EXAMINE Trash\r\n"
                         "i FETCH 1 (EMAILID)\r\n"
                         "j EXAMINE Junk\r\n"
                         "k UID FETCH 1:* (EMAILID)\r\n"
                         "l LOGOUT\r\n"});
  auto e = lines_of(out, "e");
  ASSERT_EQ(e.size(), 3u) << out;
  // Same Message-ID: two messages of one conversation (RFC 8474 5.2, src/mime/conversation.h).
  const std::string thread = mime::thread_id_of("<one@remote.example>", "");
  std::string one = first_match(
      e[0], "^\\* 1 FETCH \\(EMAILID \\((M[0-9a-f]{32})\\) THREADID \\(" + thread + "\\)\\)$");
  std::string two = first_match(
      e[1], "^\\* 2 FETCH \\(EMAILID \\((M[0-9a-f]{32})\\) THREADID \\(" + thread + "\\)\\)$");
  ASSERT_FALSE(one.empty()) << out;
  ASSERT_FALSE(two.empty()) << out;
  EXPECT_NE(one, two);
  EXPECT_EQ(lines_of(out, "i")[0], "* 1 FETCH (EMAILID (" + one + "))") << out;
  EXPECT_EQ(lines_of(out, "k")[0], "* 1 FETCH (UID 1 EMAILID (" + two + "))") << out;
  out = run({std::string(kLogin) +
             "b SELECT Trash\r\n"
             "c SEARCH EMAILID " +
             one +
             "\r\n"
             "d UID SEARCH OR EMAILID " +
             two + " EMAILID " + one +
             "\r\n"
             "e SEARCH EMAILID M00000000000000000000000000000000\r\n"
             "f SEARCH THREADID T1\r\n"
             "g SEARCH EMAILID M.bad\r\n"
             "h SEARCH EMAILID\r\n"
             "i SEARCH EMAILID " +
             std::string(256, 'M') +
             "\r\n"
             "j FETCH 1 EMAILID[]\r\n"
             "k NOOP\r\nl LOGOUT\r\n"});
  EXPECT_EQ(lines_of(out, "c")[0], "* SEARCH 1") << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* SEARCH 1") << out;
  EXPECT_EQ(lines_of(out, "e")[0], "* SEARCH") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* SEARCH") << out;
  for (const char* tag : {"g", "h", "i", "j"})
    EXPECT_EQ(tagged(out, tag).rfind(std::string(tag) + " BAD ", 0), 0u) << tag << "\n" << out;
  EXPECT_EQ(tagged(out, "k").rfind("k OK", 0), 0u) << out;
}

// RFC 8474 5.2 and 6: THREADID is the JMAP Thread id (src/mime/conversation.h): the root of
// References, else In-Reply-To, else the Message-ID; "T" + the guid for a message with none.
// Copies keep it; SEARCH THREADID finds the conversation; hostile ids match nothing.
TEST_F(ImapExtensions, ThreadIdFollowsTheConversationAndIsSearchable) {
  auto msg = [](const std::string& id, const std::string& extra) {
    return "From: a@example.com\r\nSubject: s\r\n" +
           (id.empty() ? "" : "Message-ID: " + id + "\r\n") + extra + "\r\nbody\r\n";
  };
  std::string out =
      run({std::string(kLogin) + append("b", msg("<root@x>", "")) +
           append("c", msg("<r1@x>", "In-Reply-To: <root@x>\r\n")) +
           append("d", msg("<r2@x>", "References: <root@x> <r1@x>\r\nIn-Reply-To: <r1@x>\r\n")) +
           append("e", msg("", "")) + append("f", msg("<other@x>", "")) +
           "g SELECT INBOX\r\nh FETCH 1:* (THREADID EMAILID)\r\ni COPY 2 Trash\r\n"
           "j EXAMINE Trash\r\nk FETCH 1 (THREADID)\r\nl LOGOUT\r\n"});
  const std::string root = mime::thread_id_of("<root@x>", "");
  auto h = lines_of(out, "h");
  ASSERT_EQ(h.size(), 6u) << out;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(h[i].find("THREADID (" + root + ")"), 11u) << h[i] << "\n" << out;
  // No id at all: its own thread, named after its guid (its EMAILID without the "M").
  std::string guid = first_match(h[3], "EMAILID \\(M([0-9a-f]{32})\\)");
  ASSERT_FALSE(guid.empty()) << out;
  EXPECT_NE(h[3].find("THREADID (T" + guid + ")"), std::string::npos) << out;
  EXPECT_NE(h[4].find("THREADID (" + mime::thread_id_of("<other@x>", "") + ")"), std::string::npos)
      << out;
  EXPECT_EQ(lines_of(out, "k")[0], "* 1 FETCH (THREADID (" + root + "))") << out;
  out = run({std::string(kLogin) + "b EXAMINE INBOX\r\nc SEARCH THREADID " + root +
             "\r\nd UID SEARCH THREADID T" + guid + "\r\ne SEARCH NOT THREADID " + root +
             "\r\nf SEARCH THREADID Tffffffffffffffff\r\ng SEARCH THREADID M" + guid +
             "\r\nh SEARCH THREADID T.bad\r\ni NOOP\r\nj LOGOUT\r\n"});
  EXPECT_EQ(lines_of(out, "c")[0], "* SEARCH 1 2 3") << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* SEARCH 4") << out;
  EXPECT_EQ(lines_of(out, "e")[0], "* SEARCH 4 5") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* SEARCH") << out;
  EXPECT_EQ(lines_of(out, "g")[0], "* SEARCH") << out;        // an EMAILID is no THREADID
  EXPECT_EQ(tagged(out, "h").rfind("h BAD ", 0), 0u) << out;  // not an objectid (RFC 8474 7)
  EXPECT_EQ(tagged(out, "i").rfind("i OK", 0), 0u) << out;
}

// UNAUTHENTICATE (RFC 8437): advertised after login only; from the authenticated and the
// selected state back to not authenticated, and a login as another user on the same
// connection. Nothing of the first user is left (RFC 8437 3): the selected mailbox, NOTIFY,
// the extensions ENABLE turned on (listed again when enabled again), the SEARCHRES "$".
TEST_F(ImapExtensions, UnauthenticateThenAnotherUserLeavesNothingBehind) {
  run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
       "d CREATE Caf\xc3\xa9\r\nd2 LOGOUT\r\n"});
  const std::string three = message("three");
  HookedTransport t(
      {"x UNAUTHENTICATE\r\nx2 CAPABILITY\r\n" + std::string(kLogin) +
       "b ENABLE CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2\r\n"
       "c SELECT INBOX\r\nd NOTIFY SET (selected (MessageNew)) (personal (MessageNew))\r\n"
       "e SEARCH RETURN (SAVE) ALL\r\nf CAPABILITY\r\n"
       "g UNAUTHENTICATE\r\nh CAPABILITY\r\ni FETCH 1 (FLAGS)\r\nj SELECT INBOX\r\n"
       "k UNAUTHENTICATE\r\nl LOGIN bob builder\r\nm NOOP\r\n"
       "n ENABLE CONDSTORE\r\no SELECT INBOX\r\np FETCH $ (UID)\r\nq LIST \"\" *\r\n"
       "r UNAUTHENTICATE\r\ns LOGIN alice wonderland\r\nt EXAMINE INBOX\r\nu LOGOUT\r\n"},
      "m NOOP", [&] {
        // Mail for alice while bob is logged in: her NOTIFY is gone, bob hears nothing.
        store::AppendRequest r;
        r.mailbox = "INBOX";
        r.message = three;
        ASSERT_TRUE(services_.store->append("acct-alice", r).is_ok());
      });
  std::string out = run(t);
  auto starts = [](const std::string& l, const std::string& p) { return l.rfind(p, 0) == 0; };
  EXPECT_TRUE(starts(tagged(out, "x"), "x BAD")) << out;  // not authenticated yet
  EXPECT_EQ(lines_of(out, "x2")[0].find(" UNAUTHENTICATE"), std::string::npos) << out;
  EXPECT_NE(lines_of(out, "f")[0].find(" UNAUTHENTICATE"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "g"), "g OK UNAUTHENTICATE completed") << out;  // from selected state
  // The login capabilities again, and commands of the authenticated states refused.
  EXPECT_NE(lines_of(out, "h")[0].find(" AUTH=PLAIN"), std::string::npos) << out;
  EXPECT_TRUE(starts(tagged(out, "i"), "i BAD Command requires authentication")) << out;
  EXPECT_TRUE(starts(tagged(out, "j"), "j BAD Command requires authentication")) << out;
  EXPECT_TRUE(starts(tagged(out, "k"), "k BAD")) << out;
  EXPECT_TRUE(starts(tagged(out, "l"), "l OK")) << out;
  EXPECT_EQ(lines_of(out, "m").size(), 1u) << out;  // no NOTIFY of alice's INBOX
  // ENABLE starts from nothing: CONDSTORE is listed as newly enabled.
  EXPECT_EQ(lines_of(out, "n")[0], "* ENABLED CONDSTORE") << out;
  // bob's INBOX (empty), told as rev1 (RECENT, no LIST): IMAP4rev2 was reset.
  auto o = lines_of(out, "o");
  std::string sel;
  for (const auto& l : o) sel += l + "\n";
  EXPECT_NE(sel.find("* 0 EXISTS\n"), std::string::npos) << out;
  EXPECT_NE(sel.find("* 0 RECENT\n"), std::string::npos) << out;
  EXPECT_EQ(sel.find("* LIST"), std::string::npos) << out;
  EXPECT_TRUE(starts(tagged(out, "o"), "o OK [READ-WRITE]")) << out;
  EXPECT_EQ(lines_of(out, "p").size(), 1u) << out;  // "$" is empty: alice's result is gone
  // No mailbox of alice's, and no UTF-8 names (UTF8=ACCEPT was reset).
  for (const auto& l : lines_of(out, "q")) EXPECT_EQ(l.find("Caf"), std::string::npos) << out;
  EXPECT_TRUE(starts(tagged(out, "s"), "s OK")) << out;
  std::string t_sel;
  for (const auto& l : lines_of(out, "t")) t_sel += l + "\n";
  EXPECT_NE(t_sel.find("* 3 EXISTS\n"), std::string::npos) << out;
  EXPECT_TRUE(starts(tagged(out, "u"), "u OK")) << out;
  // The connection forgot each account (g and r; k was refused), then knew alice again.
  EXPECT_EQ(t.accounts_cleared, 2);
  EXPECT_EQ(t.account, "acct-alice");
}

TEST_F(ImapExtensions, EmailIdOfAMessageExpungedMeanwhileIsLeftOut) {
  run({std::string(kLogin) + append("b", message("one")) + append("c", message("two")) +
       "d LOGOUT\r\n"});
  HookedTransport t({std::string(kLogin) + "b SELECT INBOX\r\nc UID FETCH 1:* (EMAILID)\r\nd "
                                           "UID SEARCH EMAILID M0\r\ne LOGOUT\r\n"},
                    "c UID FETCH", expunge_hook(2));
  std::string out = run(t);
  auto c = lines_of(out, "c");
  ASSERT_EQ(c.size(), 3u) << out;
  EXPECT_TRUE(
      std::regex_match(c[0], std::regex("\\* 1 FETCH \\(UID 1 EMAILID \\(M[0-9a-f]{32}\\)\\)")))
      << out;
  EXPECT_EQ(c[1], "* 2 EXPUNGE") << out;
  EXPECT_EQ(lines_of(out, "d")[0], "* SEARCH") << out;
}

}  // namespace
}  // namespace mailroom::imap
