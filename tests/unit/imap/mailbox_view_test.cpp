// The selected-mailbox bookkeeping: sequence numbers, deferred EXPUNGE (RFC 3501 7.4.1),
// VANISHED (RFC 7162), \Recent and the compact UID sets of COPYUID/ESEARCH.
#include "src/imap/mailbox_view.h"

#include <gtest/gtest.h>

namespace mailroom::imap {
namespace {

store::MessageMeta meta(uint32_t uid, uint64_t modseq, uint32_t flags = 0) {
  store::MessageMeta m;
  m.uid = uid;
  m.modseq = modseq;
  m.flags = flags;
  return m;
}

MailboxView view_of(std::vector<uint32_t> uids) {
  store::Snapshot snap;
  snap.uid_validity = 7;
  snap.highest_modseq = 10;
  for (uint32_t u : uids) snap.messages.push_back(meta(u, 5));
  snap.uid_next = uids.empty() ? 1 : uids.back() + 1;
  MailboxView v;
  v.load(snap, uids.empty() ? 0 : uids.back());
  return v;
}

TEST(MailboxView, SeqOfAndCompactSet) {
  auto v = view_of({3, 5, 9});
  EXPECT_EQ(v.seq_of(5), 2u);
  EXPECT_EQ(v.seq_of(4), 0u);
  EXPECT_EQ(compact_set({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
  EXPECT_EQ(compact_set({}), "");
}

TEST(MailboxView, ExpungeIsDeferredWhenNotAllowed) {
  auto v = view_of({1, 2, 3});
  store::Changes c;
  c.highest_modseq = 12;
  c.expunged = {2};
  c.changed = {meta(4, 11)};
  std::vector<std::string> out;
  SyncOptions no_expunge;
  no_expunge.allow_expunge = false;
  EXPECT_EQ(v.apply(c, no_expunge, out), 1u);
  EXPECT_EQ(out, (std::vector<std::string>{"4 EXISTS"}));
  EXPECT_EQ(v.seq_of(2), 2u);  // still addressable
  out.clear();
  v.flush_expunges(SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 EXPUNGE"}));
  EXPECT_EQ(v.exists(), 3u);
  EXPECT_EQ(v.seq_of(4), 3u);
  EXPECT_EQ(v.highest_modseq, 12u);
}

TEST(MailboxView, ExpungeOrderAndVanished) {
  auto v = view_of({1, 2, 3, 4});
  std::vector<std::string> out;
  v.expunge_now({2, 3}, SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"3 EXPUNGE", "2 EXPUNGE"}));
  auto q = view_of({1, 2, 3, 4, 5});
  out.clear();
  SyncOptions qr;
  qr.qresync = true;
  q.expunge_now({2, 3, 5}, qr, out);
  EXPECT_EQ(out, (std::vector<std::string>{"VANISHED 2:3,5"}));
}

TEST(MailboxView, FlagChangesOnlyWhenDifferent) {
  auto v = view_of({1, 2});
  store::Changes c;
  c.highest_modseq = 20;
  c.changed = {meta(1, 5), meta(2, 20, store::kSeen)};
  std::vector<std::string> out;
  SyncOptions o;
  o.with_uid = true;
  v.apply(c, o, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 FETCH (UID 2 FLAGS (\\Seen))"}));
  out.clear();
  o.with_modseq = true;
  c.changed = {meta(1, 21)};
  c.highest_modseq = 21;
  v.apply(c, o, out);
  EXPECT_EQ(out, (std::vector<std::string>{"1 FETCH (UID 1 FLAGS () MODSEQ (21))"}));
}

TEST(MailboxView, NewKeywordsAreAnnouncedFirstAndOnce) {
  // RFC 3501 7.2.6: the FLAGS response (and PERMANENTFLAGS) before the FETCH that shows it.
  auto v = view_of({1, 2});
  store::Changes c;
  c.highest_modseq = 20;
  c.changed = {meta(1, 20), meta(3, 21)};
  c.changed[0].keywords = {"$Label1"};
  c.changed[1].keywords = {"$New"};
  std::vector<std::string> out;
  v.apply(c, SyncOptions{}, out);
  EXPECT_EQ(out,
            (std::vector<std::string>{
                "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $New)",
                "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $New "
                "\\*)] Flags permitted",
                "1 FETCH (FLAGS ($Label1))", "3 EXISTS"}));
  out.clear();
  c.changed = {meta(2, 22)};
  c.changed[0].keywords = {"$Label1"};
  v.apply(c, SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 FETCH (FLAGS ($Label1))"}));  // known already
  MailboxView ro = view_of({1});
  ro.read_only = true;
  out.clear();
  EXPECT_TRUE(ro.announce_keywords(c.changed, out));
  EXPECT_EQ(out[1], "OK [PERMANENTFLAGS ()] Read-only mailbox");
}

TEST(MailboxView, RecentAndFlags) {
  store::Snapshot snap;
  snap.messages = {meta(1, 1, store::kSeen | store::kDraft), meta(2, 1)};
  snap.messages[1].keywords = {"$Work"};
  MailboxView v;
  v.load(snap, 1);
  EXPECT_EQ(v.recent.size(), 1u);
  EXPECT_EQ(v.flags_of(v.messages[0]), "(\\Seen \\Draft)");
  EXPECT_EQ(v.flags_of(v.messages[1]), "($Work \\Recent)");
  EXPECT_EQ(v.mailbox_flags(), "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)");
  // EXAMINE (read-only) shows what no session has seen as \Recent too (RFC 3501 6.3.2); that
  // it claims nothing is the RecentTracker peek in select.cpp.
  MailboxView ro;
  ro.read_only = true;
  ro.load(snap, 0);
  EXPECT_EQ(ro.recent, (std::set<uint32_t>{1, 2}));
}

}  // namespace
}  // namespace mailroom::imap
