// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4) through the session: RETURN (PARTIAL lo:hi),
// RETURN (UPDATE) contexts reporting ADDTO/REMOVEFROM as other sessions add, flag and expunge
// messages and as this one does, NOUPDATE when no context is kept (no UID, sequence sets, the
// limit), CANCELUPDATE, contexts ending with the mailbox; bad syntax BAD, the session on.
// Another session's change is made when the session reads "d NOOP" (HookedTransport); the
// store's notice reaches the session after that command, so the next one that waits for a worker
// ("x UID SEARCH BODY") reports it.
#include <gtest/gtest.h>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kContextLogin[] = "a LOGIN alice wonderland\r\nb SELECT INBOX\r\n";

class ImapContext : public ImapSession {
 protected:
  // INBOX: UIDs 1..3, subjects c, a, b; UID 2 \Seen.
  void seed() {
    run({std::string("a LOGIN alice wonderland\r\n") + append("b", message("c")) +
         append("c", message("a"), "\\Seen") + append("d", message("b")) + "e LOGOUT\r\n"});
  }
  std::function<void()> add(const std::string& subject, bool seen = false) {
    return [this, subject, seen] {
      std::string m = message(subject);
      store::AppendRequest req;
      req.message = m;
      req.flags = seen ? store::kSeen : 0;
      ASSERT_TRUE(services_.store->append("acct-alice", req).is_ok());
    };
  }
  static std::string first(const std::vector<std::string>& lines, const std::string& prefix) {
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) return l;
    return "";
  }
  static size_t count(const std::string& out, const std::string& s) {
    size_t n = 0;
    for (size_t p = out.find(s); p != std::string::npos; p = out.find(s, p + 1)) ++n;
    return n;
  }
};

TEST_F(ImapContext, AdvertisedAfterLogin) {
  std::string out = run({std::string(kContextLogin) + "c CAPABILITY\r\nd LOGOUT\r\n"});
  std::string caps = first(lines_of(out, "c"), "* CAPABILITY");
  EXPECT_NE(caps.find(" CONTEXT=SEARCH"), std::string::npos) << out;
  EXPECT_NE(caps.find(" CONTEXT=SORT"), std::string::npos) << out;
  EXPECT_NE(caps.find(" ESORT"), std::string::npos) << out;
}

TEST_F(ImapContext, PartialWindowsOfSearchAndSort) {
  seed();
  std::string out = run({std::string(kContextLogin) +
                         "c UID SEARCH RETURN (PARTIAL 2:3) ALL\r\n"
                         "d SEARCH RETURN (PARTIAL 3:2 COUNT) ALL\r\n"
                         "e UID SEARCH RETURN (PARTIAL 5:9) ALL\r\n"
                         "f UID SORT RETURN (PARTIAL 1:2) (SUBJECT) UTF-8 ALL\r\n"
                         "g SORT RETURN (PARTIAL 2:100 MIN) (REVERSE SUBJECT) UTF-8 ALL\r\n"
                         "h UID SEARCH RETURN (CONTEXT PARTIAL 1:1) UNSEEN\r\n"
                         "i LOGOUT\r\n"});
  EXPECT_EQ(first(lines_of(out, "c"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID PARTIAL (2:3 2:3)")
      << out;
  EXPECT_EQ(first(lines_of(out, "d"), "* ESEARCH"),
            "* ESEARCH (TAG \"d\") COUNT 3 PARTIAL (2:3 2:3)")
      << out;
  EXPECT_EQ(first(lines_of(out, "e"), "* ESEARCH"), "* ESEARCH (TAG \"e\") UID PARTIAL (5:9 NIL)")
      << out;
  // Sorted by subject: a (UID 2), b (3), c (1); the window in that order.
  EXPECT_EQ(first(lines_of(out, "f"), "* ESEARCH"), "* ESEARCH (TAG \"f\") UID PARTIAL (1:2 2:3)")
      << out;
  EXPECT_EQ(first(lines_of(out, "g"), "* ESEARCH"),
            "* ESEARCH (TAG \"g\") MIN 1 PARTIAL (2:100 3,2)")
      << out;
  EXPECT_EQ(first(lines_of(out, "h"), "* ESEARCH"), "* ESEARCH (TAG \"h\") UID PARTIAL (1:1 1)")
      << out;
}

TEST_F(ImapContext, SearchUpdatesFollowOtherSessionsAndThisOne) {
  seed();
  // Another session adds an unseen message before NOOP, one that is seen before the next.
  HookedTransport t(
      {std::string(kContextLogin) + "c UID SEARCH RETURN (UPDATE) UNSEEN\r\n", "d NOOP\r\n",
       "x UID SEARCH BODY zzz\r\n", "e UID STORE 1 +FLAGS.SILENT (\\Seen)\r\n",
       "f UID STORE 2 -FLAGS (\\Seen)\r\ng LOGOUT\r\n"},
      "d NOOP", add("new"));
  std::string out = run(t);
  auto c = lines_of(out, "c");
  EXPECT_EQ(first(c, "* ESEARCH"), "* ESEARCH (TAG \"c\") UID") << out;
  auto d = lines_of(out, "x");
  EXPECT_EQ(first(d, "* 4 EXISTS"), "* 4 EXISTS") << out;
  EXPECT_EQ(first(d, "* ESEARCH"), "* ESEARCH (TAG \"c\") UID ADDTO (0 4)") << out;
  EXPECT_EQ(first(lines_of(out, "e"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID REMOVEFROM (0 1)")
      << out;
  EXPECT_EQ(first(lines_of(out, "f"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID ADDTO (0 2)") << out;
  EXPECT_EQ(count(out, "* ESEARCH (TAG \"c\")"), 4u) << out;
}

TEST_F(ImapContext, ExpungedMessagesAreRemovedFrom) {
  seed();
  HookedTransport t({std::string(kContextLogin) + "c UID SEARCH RETURN (UPDATE ALL) ALL\r\n",
                     "d NOOP\r\n", "x UID SEARCH BODY zzz\r\n",
                     "e UID STORE 3 +FLAGS.SILENT (\\Deleted)\r\nf EXPUNGE\r\n", "g LOGOUT\r\n"},
                    "d NOOP", [this] {
                      ASSERT_TRUE(services_.store->expunge("acct-alice", "INBOX", {1}).is_ok());
                    });
  std::string out = run(t);
  EXPECT_EQ(first(lines_of(out, "c"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID ALL 1:3") << out;
  auto d = lines_of(out, "x");
  EXPECT_EQ(first(d, "* 1 EXPUNGE"), "* 1 EXPUNGE") << out;
  EXPECT_EQ(first(d, "* ESEARCH"), "* ESEARCH (TAG \"c\") UID REMOVEFROM (0 1)") << out;
  auto f = lines_of(out, "f");
  EXPECT_EQ(first(f, "* ESEARCH"), "* ESEARCH (TAG \"c\") UID REMOVEFROM (0 3)") << out;
}

TEST_F(ImapContext, SortUpdatesCarryPositions) {
  seed();
  // Sorted by subject: a(2) b(3) c(1). "aa" arrives (position 2), then b is expunged (it was
  // at position 3 then).
  HookedTransport t(
      {std::string(kContextLogin) + "c UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL\r\n",
       "d NOOP\r\n", "x UID SEARCH BODY zzz\r\n",
       "e UID STORE 3 +FLAGS.SILENT (\\Deleted)\r\nf EXPUNGE\r\n", "g LOGOUT\r\n"},
      "d NOOP", add("aa"));
  std::string out = run(t);
  EXPECT_EQ(first(lines_of(out, "x"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID ADDTO (2 4)") << out;
  EXPECT_EQ(first(lines_of(out, "f"), "* ESEARCH"), "* ESEARCH (TAG \"c\") UID REMOVEFROM (3 3)")
      << out;
}

TEST_F(ImapContext, NoUpdateWhenNoContextIsKept) {
  seed();
  std::string tags = "cdefg";
  std::string script = kContextLogin;
  script += "h SEARCH RETURN (UPDATE) ALL\r\n";
  script += "i UID SEARCH RETURN (UPDATE) 1:2\r\n";
  for (char t : tags) script += std::string(1, t) + " UID SEARCH RETURN (UPDATE) ALL\r\n";
  script += "j UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL\r\n";
  script += "c UID SEARCH RETURN (UPDATE COUNT) SEEN\r\n";  // the tag again: replaced, kept
  script += "k LOGOUT\r\n";
  std::string out = run({script});
  EXPECT_EQ(first(lines_of(out, "h"), "* NO"),
            "* NO [NOUPDATE \"h\"] Updates are kept for UID SEARCH and UID SORT only")
      << out;
  EXPECT_EQ(first(lines_of(out, "h"), "h "), "h OK SEARCH completed") << out;
  EXPECT_EQ(first(lines_of(out, "i"), "* NO"),
            "* NO [NOUPDATE \"i\"] The search depends on sequence numbers")
      << out;
  for (char t : tags) EXPECT_EQ(first(lines_of(out, std::string(1, t)), "* NO"), "") << t;
  EXPECT_EQ(first(lines_of(out, "j"), "* NO"),
            "* NO [NOUPDATE \"j\"] Too many update contexts (at most 5)")
      << out;
  EXPECT_EQ(first(lines_of(out, "c"), "* NO"), "") << out;
}

TEST_F(ImapContext, CancelUpdateAndReselectEndContexts) {
  seed();
  HookedTransport t({std::string(kContextLogin) + "c UID SEARCH RETURN (UPDATE) ALL\r\n" +
                         "d UID SEARCH RETURN (UPDATE) ALL\r\n" + "e CANCELUPDATE \"c\" \"x\"\r\n" +
                         "f CANCELUPDATE \"c\"\r\n",
                     "g NOOP\r\n", "x UID SEARCH BODY zzz\r\n",
                     "h CANCELUPDATE \"c\"\r\ni CANCELUPDATE c\r\nj CANCELUPDATE\r\n"
                     "k SELECT INBOX\r\nl CANCELUPDATE \"d\"\r\nm LOGOUT\r\n"},
                    "g NOOP", add("new"));
  std::string out = run(t);
  EXPECT_EQ(tagged(out, "e"), "e BAD No update context for tag x") << out;
  EXPECT_EQ(tagged(out, "f"), "f OK CANCELUPDATE completed") << out;
  // Only d's context is left to report the new message.
  EXPECT_EQ(first(lines_of(out, "x"), "* ESEARCH"), "* ESEARCH (TAG \"d\") UID ADDTO (0 4)") << out;
  EXPECT_EQ(count(out, "ADDTO"), 1u) << out;
  EXPECT_EQ(tagged(out, "h").rfind("h BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "i").rfind("i BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "j").rfind("j BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "l").rfind("l BAD", 0), 0u) << out;  // SELECT ended d's context
  EXPECT_EQ(tagged(out, "m"), "m OK LOGOUT completed") << out;
}

TEST_F(ImapContext, BadReturnOptionsAreBad) {
  seed();
  std::string out =
      run({std::string(kContextLogin) + "c UID SEARCH RETURN (PARTIAL) ALL\r\n"
                                        "d UID SEARCH RETURN (PARTIAL 0:5) ALL\r\n"
                                        "e UID SEARCH RETURN (PARTIAL 1:x) ALL\r\n"
                                        "f UID SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL\r\n"
                                        "g UID SEARCH RETURN (PARTIAL -1:-5) ALL\r\n"
                                        "h UID SORT RETURN (PARTIAL 5) (DATE) UTF-8 ALL\r\n"
                                        "i UID SEARCH RETURN (PARTIAL 1:4294967296) ALL\r\n"
                                        "j NOOP\r\nk LOGOUT\r\n"});
  for (const char* t : {"c", "d", "e", "f", "g", "h", "i"})
    EXPECT_EQ(tagged(out, t).rfind(std::string(t) + " BAD", 0), 0u) << t << "\n" << out;
  EXPECT_EQ(tagged(out, "j"), "j OK NOOP completed") << out;
}

}  // namespace
}  // namespace mailroom::imap
