// IMAP4rev2 (RFC 9051) next to IMAP4rev1 through the session: the capability, ENABLE
// IMAP4rev2 switching one session, and each behaviour that differs, rev1 and rev2 side by side
// (\Recent/RECENT, ESEARCH for SEARCH, SEARCHRES "$", UTF-8 names, LIST in SELECT, CLOSED,
// STATUS DELETED, OLDNAME after RENAME, HASCHILDREN), with hostile cases.
#include <gtest/gtest.h>

#include <deque>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kLogin[] = "a LOGIN alice wonderland\r\n";
const char kRev2[] = "a LOGIN alice wonderland\r\nr ENABLE IMAP4rev2\r\n";

bool has(const std::string& out, const std::string& what) {
  return out.find(what) != std::string::npos;
}
bool starts(const std::string& line, const std::string& prefix) {
  return line.rfind(prefix, 0) == 0;
}

class ImapRev2 : public ImapSession {
 protected:
  void seed(std::initializer_list<const char*> subjects, const std::string& box = "INBOX") {
    for (const char* subject : subjects) {
      bodies_.push_back(message(subject));
      store::AppendRequest r;
      r.mailbox = box;
      r.message = bodies_.back();
      ASSERT_TRUE(services_.store->append("acct-alice", r).is_ok());
    }
  }
  // Every untagged line of one tag, joined (for "not there" checks).
  static std::string block(const std::string& out, const std::string& tag) {
    std::string all;
    for (const auto& l : lines_of(out, tag)) all += l + "\n";
    return all;
  }
  std::deque<std::string> bodies_;
};

TEST_F(ImapRev2, AdvertisedAndEnabledOncePerSessionInAuthenticatedStateOnly) {
  std::string out = run({"c1 CAPABILITY\r\nb ENABLE IMAP4rev2\r\n" + std::string(kLogin) +
                         "c2 CAPABILITY\r\nd ENABLE imap4rev2\r\ne ENABLE IMAP4rev2 IMAP4rev2\r\n"
                         "f SELECT INBOX\r\ng ENABLE IMAP4rev2\r\nh LOGOUT\r\n"});
  // RFC 9051 Appendix E / 6.3.1: both revisions advertised before and after login.
  EXPECT_TRUE(has(block(out, "c1"), "CAPABILITY IMAP4rev1 IMAP4rev2 ")) << out;
  EXPECT_TRUE(has(block(out, "c2"), "CAPABILITY IMAP4rev1 IMAP4rev2 ")) << out;
  EXPECT_TRUE(has(block(out, "c2"), " SEARCHRES ")) << out;
  EXPECT_TRUE(starts(tagged(out, "b"), "b BAD")) << out;  // not authenticated
  EXPECT_EQ(lines_of(out, "d")[0], "* ENABLED IMAP4rev2") << out;
  EXPECT_EQ(lines_of(out, "e")[0], "* ENABLED") << out;  // already on: not listed again
  EXPECT_TRUE(starts(tagged(out, "e"), "e OK")) << out;
  EXPECT_TRUE(starts(tagged(out, "g"), "g BAD")) << out;  // selected state (RFC 5161 3.1)
  EXPECT_TRUE(starts(tagged(out, "h"), "h OK")) << out;
}

TEST_F(ImapRev2, NoRecentNoUnseenCodeButListInSelect) {
  seed({"one", "two"});
  std::string rev2 = run({std::string(kRev2) + "b SELECT inbox\r\nc FETCH 1:* (FLAGS)\r\n"
                                               "d STATUS INBOX (MESSAGES)\r\ne LOGOUT\r\n"});
  std::string sel = block(rev2, "b");
  EXPECT_FALSE(has(sel, "RECENT")) << rev2;
  EXPECT_FALSE(has(sel, "[UNSEEN")) << rev2;
  EXPECT_TRUE(has(sel, "* 2 EXISTS")) << rev2;
  EXPECT_TRUE(has(sel, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"")) << rev2;  // RFC 9051 6.3.2
  EXPECT_TRUE(has(sel, "[UIDNEXT 3]")) << rev2;
  EXPECT_FALSE(has(block(rev2, "c"), "\\Recent")) << rev2;
  // The rev2 session claimed nothing: a rev1 session still sees both as \Recent.
  std::string rev1 =
      run({std::string(kLogin) + "b SELECT INBOX\r\nc FETCH 1 (FLAGS)\r\nd LOGOUT\r\n"});
  EXPECT_TRUE(has(block(rev1, "b"), "* 2 RECENT")) << rev1;
  EXPECT_TRUE(has(block(rev1, "b"), "* OK [UNSEEN 1]")) << rev1;
  EXPECT_FALSE(has(block(rev1, "b"), "* LIST")) << rev1;
  EXPECT_TRUE(has(block(rev1, "c"), "\\Recent")) << rev1;
}

TEST_F(ImapRev2, NewMailWhileSelectedHasNoRecentResponse) {
  seed({"one"});
  auto arrive = [this] { seed({"late"}); };
  // As in session_context_test: the store's notice reaches the session's strand while a later
  // command waits for the worker pool (a BODY search), and is reported after it.
  auto script = [](const std::string& login, const std::string& tail) {
    return std::vector<std::string>{login + "b SELECT INBOX\r\n", "c NOOP\r\n",
                                    "c2 UID SEARCH BODY zzz\r\n", "c3 NOOP\r\n", tail};
  };
  HookedTransport t2(script(kRev2, "d FETCH 2 (FLAGS)\r\ne LOGOUT\r\n"), "c NOOP", arrive);
  std::string rev2 = run(t2);
  EXPECT_TRUE(has(rev2, "* 2 EXISTS")) << rev2;
  EXPECT_FALSE(has(rev2, "RECENT")) << rev2;
  EXPECT_TRUE(starts(tagged(rev2, "d"), "d OK")) << rev2;
  EXPECT_FALSE(has(block(rev2, "d"), "\\Recent")) << rev2;
  // rev1: both earlier messages are still \Recent (the rev2 session claimed none), then 3.
  HookedTransport t1(script(kLogin, "e LOGOUT\r\n"), "c NOOP", arrive);
  std::string rev1 = run(t1);
  EXPECT_TRUE(has(block(rev1, "b"), "* 2 RECENT")) << rev1;
  EXPECT_TRUE(has(rev1, "* 3 EXISTS")) << rev1;
  EXPECT_TRUE(has(rev1, "* 3 RECENT")) << rev1;
}

TEST_F(ImapRev2, SearchAnswersEsearchAndHonoursReturnOptions) {
  seed({"one", "two", "three"});
  std::string script =
      "b SELECT INBOX\r\nc STORE 2 +FLAGS (\\Seen)\r\nd SEARCH UNSEEN\r\n"
      "e UID SEARCH ALL\r\nf SEARCH SUBJECT nothing\r\n"
      "g SEARCH RETURN (COUNT MIN) UNSEEN\r\nh SEARCH RETURN () SEEN\r\ni LOGOUT\r\n";
  std::string rev2 = run({std::string(kRev2) + script});
  EXPECT_EQ(lines_of(rev2, "d")[0], "* ESEARCH (TAG \"d\") ALL 1,3") << rev2;
  EXPECT_EQ(lines_of(rev2, "e")[0], "* ESEARCH (TAG \"e\") UID ALL 1:3") << rev2;
  EXPECT_EQ(lines_of(rev2, "f")[0], "* ESEARCH (TAG \"f\")") << rev2;  // nothing matched
  EXPECT_EQ(lines_of(rev2, "g")[0], "* ESEARCH (TAG \"g\") MIN 1 COUNT 2") << rev2;
  EXPECT_EQ(lines_of(rev2, "h")[0], "* ESEARCH (TAG \"h\") ALL 2") << rev2;
  std::string rev1 = run({std::string(kLogin) + script});
  EXPECT_EQ(lines_of(rev1, "d")[0], "* SEARCH 1 3") << rev1;
  EXPECT_EQ(lines_of(rev1, "e")[0], "* SEARCH 1 2 3") << rev1;
  EXPECT_EQ(lines_of(rev1, "f")[0], "* SEARCH") << rev1;
  EXPECT_EQ(lines_of(rev1, "g")[0], "* ESEARCH (TAG \"g\") MIN 1 COUNT 2") << rev1;
}

TEST_F(ImapRev2, SearchResSavesAndDollarStandsForIt) {
  seed({"one", "two", "three", "four"}, "INBOX");
  ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Keep").is_ok());
  std::string out = run(
      {std::string(kRev2) +
       "b SELECT INBOX\r\nc FETCH $ (UID)\r\nd SEARCH RETURN (SAVE) OR SUBJECT two SUBJECT four\r\n"
       "e FETCH $ (UID)\r\nf UID STORE $ +FLAGS.SILENT (\\Flagged)\r\ng SEARCH $ FLAGGED\r\n"
       "h UID SEARCH UID $\r\ni COPY $ Keep\r\nj SEARCH RETURN (SAVE MIN) FLAGGED\r\n"
       "k UID FETCH $ (FLAGS)\r\nl SEARCH RETURN (SAVE ALL) CHARSET X-UNKNOWN SUBJECT x\r\n"
       "m FETCH $ (UID)\r\nn FETCH 1,$ (UID)\r\no SEARCH RETURN (SAVE) ALL\r\n"
       "p STORE 1 +FLAGS (\\Deleted)\r\nq EXPUNGE\r\ns SEARCH $\r\nt UNSELECT\r\n"
       "u SELECT INBOX\r\nv FETCH $ (UID)\r\nv2 SEARCH RETURN (SAVE) ALL\r\n"
       "w SEARCH RETURN (SAVE BOGUS) ALL\r\nx FETCH $ (UID)\r\n"
       "y SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL\r\ny2 UID FETCH $ (UID)\r\nz LOGOUT\r\n"});
  // Nothing saved yet: "$" is empty, not an error.
  EXPECT_EQ(lines_of(out, "c").size(), 1u) << out;
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK")) << out;
  // SAVE alone answers no ESEARCH (RFC 5182 2.2).
  EXPECT_EQ(lines_of(out, "d").size(), 1u) << out;
  EXPECT_TRUE(starts(tagged(out, "d"), "d OK")) << out;
  EXPECT_EQ(block(out, "e"), "* 2 FETCH (UID 2)\n* 4 FETCH (UID 4)\ne OK FETCH completed\n") << out;
  EXPECT_TRUE(starts(tagged(out, "f"), "f OK")) << out;
  EXPECT_EQ(lines_of(out, "g")[0], "* ESEARCH (TAG \"g\") ALL 2,4") << out;
  EXPECT_EQ(lines_of(out, "h")[0], "* ESEARCH (TAG \"h\") UID ALL 2,4") << out;
  EXPECT_TRUE(starts(tagged(out, "i"), "i OK [COPYUID ")) << out;
  EXPECT_TRUE(has(tagged(out, "i"), " 2,4 1:2]")) << out;
  // SAVE with MIN keeps only the minimum.
  EXPECT_EQ(lines_of(out, "j")[0], "* ESEARCH (TAG \"j\") MIN 2") << out;
  EXPECT_EQ(lines_of(out, "k").size(), 2u) << out;
  EXPECT_TRUE(has(lines_of(out, "k")[0], "UID 2")) << out;
  // A failed SAVE search empties "$" (RFC 5182 2.1).
  EXPECT_TRUE(starts(tagged(out, "l"), "l NO [BADCHARSET")) << out;
  EXPECT_EQ(lines_of(out, "m").size(), 1u) << out;
  // "$" only alone, never inside a set.
  EXPECT_TRUE(starts(tagged(out, "n"), "n BAD")) << out;
  // Expunged messages drop out of it.
  EXPECT_EQ(lines_of(out, "s")[0], "* ESEARCH (TAG \"s\") ALL 1:3") << out;
  // A newly selected mailbox starts with an empty "$".
  EXPECT_EQ(lines_of(out, "v").size(), 1u) << out;
  // A SAVE search that is BAD empties it too.
  EXPECT_TRUE(starts(tagged(out, "w"), "w BAD")) << out;
  EXPECT_EQ(lines_of(out, "x").size(), 1u) << out;
  // SORT saves too (its result as a set), answering nothing with SAVE alone.
  EXPECT_EQ(lines_of(out, "y").size(), 1u) << out;
  EXPECT_EQ(lines_of(out, "y2").size(), 4u) << out;
  EXPECT_TRUE(starts(tagged(out, "z"), "z OK")) << out;
}

TEST_F(ImapRev2, MailboxNamesAreUtf8BothWays) {
  const std::string cafe = "Caf\xc3\xa9";
  std::string out = run({std::string(kRev2) + "b CREATE \"" + cafe + "\"\r\nc CREATE \"A&B\"\r\n" +
                         "d LIST \"\" \"*\"\r\ne SELECT \"" + cafe + "\"\r\n" +
                         "f CREATE \"bad\xff\"\r\ng STATUS \"" + cafe + "\" (MESSAGES)\r\n" +
                         "h CREATE \"Caf&AOk-\"\r\ni LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "b"), "b OK")) << out;
  EXPECT_TRUE(has(block(out, "d"), "* LIST (\\HasNoChildren) \"/\" \"" + cafe + "\"")) << out;
  EXPECT_TRUE(has(block(out, "d"), "* LIST (\\HasNoChildren) \"/\" \"A&B\"")) << out;
  EXPECT_TRUE(has(block(out, "e"), "* LIST (\\HasNoChildren) \"/\" \"" + cafe + "\"")) << out;
  EXPECT_TRUE(starts(tagged(out, "f"), "f NO [CANNOT]")) << out;  // not UTF-8; session goes on
  EXPECT_TRUE(has(block(out, "g"), "* STATUS \"" + cafe + "\" (MESSAGES 0)")) << out;
  // "&" is a character in rev2: this is another name, not Café in modified UTF-7.
  EXPECT_TRUE(starts(tagged(out, "h"), "h OK")) << out;
  // A rev1 session sees the same mailboxes in modified UTF-7.
  std::string rev1 = run({std::string(kLogin) + "b LIST \"\" \"*\"\r\nc LOGOUT\r\n"});
  EXPECT_TRUE(has(rev1, "\"Caf&AOk-\"")) << rev1;
  EXPECT_TRUE(has(rev1, "\"A&-B\"")) << rev1;
  EXPECT_TRUE(has(rev1, "\"Caf&-AOk-\"")) << rev1;
}

TEST_F(ImapRev2, StatusDeletedAndDeletedStorage) {
  seed({"one", "two"});
  ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Other").is_ok());
  seed({"three"}, "Other");
  std::string out = run(
      {std::string(kRev2) +
       "b SELECT Other\r\nc STORE 1 +FLAGS (\\Deleted)\r\nd SELECT INBOX\r\n"
       "e STORE 1:2 +FLAGS (\\Deleted)\r\nf STATUS INBOX (DELETED MESSAGES DELETED-STORAGE)\r\n"
       "g STATUS Other (DELETED)\r\nh LIST \"\" Other RETURN (STATUS (DELETED))\r\ni LOGOUT\r\n"});
  uint64_t kib = (2 * message("one").size() + 1023) / 1024;
  EXPECT_EQ(lines_of(out, "f")[0],
            "* STATUS \"INBOX\" (DELETED 2 MESSAGES 2 DELETED-STORAGE " + std::to_string(kib) + ")")
      << out;
  EXPECT_EQ(lines_of(out, "g")[0], "* STATUS \"Other\" (DELETED 1)") << out;
  EXPECT_TRUE(has(block(out, "h"), "* STATUS \"Other\" (DELETED 1)")) << out;
  // A rev1 session may ask for it too (an addition; RFC 3501 had no such item).
  std::string rev1 = run({std::string(kLogin) + "b STATUS Other (DELETED)\r\nc LOGOUT\r\n"});
  EXPECT_TRUE(has(lines_of(rev1, "b")[0], "Other\" (DELETED 1)")) << rev1;
}

TEST_F(ImapRev2, RenameSendsOldnameAndDeleteSaysHasChildren) {
  std::string script =
      "b CREATE Old\r\nc RENAME Old New\r\nd CREATE P/Q\r\nd2 CREATE P\r\ne DELETE P\r\n"
      "f DELETE P\r\ng LOGOUT\r\n";
  std::string rev2 = run({std::string(kRev2) + script});
  EXPECT_EQ(lines_of(rev2, "c")[0], "* LIST () \"/\" \"New\" (\"OLDNAME\" (\"Old\"))") << rev2;
  EXPECT_TRUE(starts(tagged(rev2, "e"), "e OK")) << rev2;
  EXPECT_TRUE(starts(tagged(rev2, "f"), "f NO [HASCHILDREN]")) << rev2;
  std::string rev1 = run(
      {std::string(kLogin) + "b CREATE Old2\r\nc RENAME Old2 New2\r\nf DELETE P\r\ng LOGOUT\r\n"});
  EXPECT_EQ(lines_of(rev1, "c").size(), 1u) << rev1;
  EXPECT_TRUE(starts(tagged(rev1, "f"), "f NO [CANNOT]")) << rev1;
}

TEST_F(ImapRev2, SelectListsTheMailboxsRealAttributes) {
  // RFC 9051 6.3.2: the LIST in SELECT/EXAMINE says what LIST "" <name> says of the mailbox:
  // its children and its special use; a mailbox that has neither lists none.
  std::string out = run({std::string(kRev2) +
                         "b CREATE Projects/Alpha\r\nc CREATE Archive (USE (\\Archive))\r\n"
                         "d SELECT Projects\r\ne EXAMINE Archive\r\nf SELECT Projects/Alpha\r\n"
                         "g DELETE Projects/Alpha\r\nh SELECT Projects\r\ni LOGOUT\r\n"});
  EXPECT_TRUE(starts(tagged(out, "c"), "c OK")) << out;
  EXPECT_TRUE(has(block(out, "d"), "* LIST (\\HasChildren) \"/\" \"Projects\"\n")) << out;
  EXPECT_TRUE(has(block(out, "e"), "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"\n"))
      << out;
  EXPECT_TRUE(has(block(out, "f"), "* LIST (\\HasNoChildren) \"/\" \"Projects/Alpha\"\n")) << out;
  // The attributes are read at each SELECT: the child is gone.
  EXPECT_TRUE(has(block(out, "h"), "* LIST (\\HasNoChildren) \"/\" \"Projects\"\n")) << out;
  // A rev1 session gets no LIST in SELECT.
  std::string rev1 = run({std::string(kLogin) + "b SELECT Archive\r\nc LOGOUT\r\n"});
  EXPECT_FALSE(has(block(rev1, "b"), "LIST")) << rev1;
}

TEST_F(ImapRev2, ClosedWhenSelectingAnotherMailbox) {
  std::string script = "b SELECT INBOX\r\nc EXAMINE INBOX\r\nd LOGOUT\r\n";
  std::string rev2 = run({std::string(kRev2) + script});
  EXPECT_EQ(lines_of(rev2, "c")[0], "* OK [CLOSED] Previous mailbox closed") << rev2;
  EXPECT_TRUE(has(tagged(rev2, "c"), "[READ-ONLY]")) << rev2;
  std::string rev1 = run({std::string(kLogin) + script});
  EXPECT_FALSE(has(block(rev1, "c"), "[CLOSED]")) << rev1;
}

}  // namespace
}  // namespace mailroom::imap
