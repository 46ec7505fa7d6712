// The selected-mailbox bookkeeping: sequence numbers, deferred EXPUNGE (RFC 3501 7.4.1),
// VANISHED (RFC 7162), \Recent and the compact UID sets of COPYUID/ESEARCH; and the shared
// versions it follows (shared_mailbox.h): one row array for every session, a session's own
// differences only while they exist.
#include "src/imap/mailbox_view.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "src/store/store_options.h"

namespace mailroom::imap {
namespace {

store::MessageMeta meta(uint32_t uid, uint64_t modseq, uint32_t flags = 0) {
  store::MessageMeta m;
  m.uid = uid;
  m.modseq = modseq;
  m.flags = flags;
  m.size = 100 + uid;
  return m;
}

store::Snapshot snapshot_of(std::vector<uint32_t> uids) {
  store::Snapshot snap;
  snap.uid_validity = 7;
  snap.highest_modseq = 10;
  for (uint32_t u : uids) snap.messages.push_back(meta(u, 5));
  snap.uid_next = uids.empty() ? 1 : uids.back() + 1;
  return snap;
}

MailboxView view_of(std::vector<uint32_t> uids) {
  MailboxView v;
  v.load(version_from_snapshot(snapshot_of(uids)), uids.empty() ? 0 : uids.back());
  return v;
}

// The version after `c`, as a refresh would build it from `base`.
std::shared_ptr<const Version> next_of(const MailboxView& v, store::Changes c) {
  auto n = apply_changes(*v.version(), c);
  return n ? n : v.version();
}

TEST(MailboxView, SeqOfAndCompactSet) {
  auto v = view_of({3, 5, 9});
  EXPECT_EQ(v.seq_of(5), 2u);
  EXPECT_EQ(v.seq_of(4), 0u);
  EXPECT_EQ(v.at(3).uid, 9u);
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
  EXPECT_EQ(v.adopt(next_of(v, c), no_expunge, out), 1u);
  EXPECT_EQ(out, (std::vector<std::string>{"4 EXISTS"}));
  EXPECT_EQ(v.seq_of(2), 2u);  // still addressable
  EXPECT_TRUE(v.has_pending_expunges());
  out.clear();
  v.flush_expunges(SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 EXPUNGE"}));
  EXPECT_EQ(v.exists(), 3u);
  EXPECT_EQ(v.seq_of(4), 3u);
  EXPECT_EQ(v.highest_modseq(), 12u);
  EXPECT_FALSE(v.has_pending_expunges());
}

TEST(MailboxView, GhostsSurviveAFurtherVersionUntilAnnounced) {
  // Two changes arrive during non-UID commands: the first expunge keeps its sequence number
  // across the second version, and both are announced together, highest number first.
  auto v = view_of({1, 2, 3, 4});
  SyncOptions no_expunge;
  no_expunge.allow_expunge = false;
  std::vector<std::string> out;
  store::Changes c1;
  c1.highest_modseq = 11;
  c1.expunged = {2};
  v.adopt(next_of(v, c1), no_expunge, out);
  store::Changes c2;
  c2.highest_modseq = 12;
  c2.expunged = {4};
  c2.changed = {meta(3, 12, store::kFlagged)};
  v.adopt(next_of(v, c2), no_expunge, out);
  EXPECT_EQ(out, (std::vector<std::string>{"3 FETCH (FLAGS (\\Flagged))"}));
  EXPECT_EQ(v.exists(), 4u);
  EXPECT_EQ(v.at(2).uid, 2u);
  out.clear();
  v.flush_expunges(SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"4 EXPUNGE", "2 EXPUNGE"}));
  EXPECT_EQ(v.exists(), 2u);
  // Nothing differs from the shared version any more: the session holds no copy of it.
  EXPECT_EQ(&v.rows(), &v.version()->rows);
}

TEST(MailboxView, OwnExpungeIsNotAnnouncedTwice) {
  auto v = view_of({1, 2, 3, 4});
  std::vector<std::string> out;
  v.expunge_now({4, 2}, SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"4 EXPUNGE", "2 EXPUNGE"}));
  EXPECT_EQ(v.exists(), 2u);
  EXPECT_NE(&v.rows(), &v.version()->rows);  // ahead of the shared version
  // The shared version catches up; UID 4 (the highest) must not come back as new mail.
  store::Changes c;
  c.highest_modseq = 11;
  c.expunged = {2, 4};
  out.clear();
  EXPECT_EQ(v.adopt(next_of(v, c), SyncOptions{}, out), 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(&v.rows(), &v.version()->rows);
  // A version built before the expunge reached the store (a racing refresh) still has them.
  auto w = view_of({1, 2, 3, 4});
  out.clear();
  w.expunge_now({4}, SyncOptions{}, out);
  store::Changes flags_only;
  flags_only.highest_modseq = 11;
  flags_only.changed = {meta(1, 11, store::kSeen)};
  out.clear();
  EXPECT_EQ(w.adopt(next_of(w, flags_only), SyncOptions{}, out), 0u);
  EXPECT_EQ(out, (std::vector<std::string>{"1 FETCH (FLAGS (\\Seen))"}));
  EXPECT_EQ(w.exists(), 3u);
}

TEST(MailboxView, SkippedVersionsAreComparedRowByRow) {
  auto v = view_of({1, 2, 3});
  auto base = v.version();
  store::Changes c1;
  c1.highest_modseq = 11;
  c1.changed = {meta(1, 11, store::kSeen)};
  auto v1 = apply_changes(*base, c1);
  store::Changes c2;
  c2.highest_modseq = 12;
  c2.expunged = {2};
  c2.changed = {meta(5, 12)};
  auto v2 = apply_changes(*v1, c2);
  std::vector<std::string> out;
  EXPECT_EQ(v.adopt(v2, SyncOptions{}, out), 1u);  // v1 never seen by this session
  EXPECT_EQ(out, (std::vector<std::string>{"1 FETCH (FLAGS (\\Seen))", "2 EXPUNGE", "3 EXISTS"}));
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
  v.adopt(next_of(v, c), o, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 FETCH (UID 2 FLAGS (\\Seen))"}));
  out.clear();
  o.with_modseq = true;
  c.changed = {meta(1, 21)};
  c.highest_modseq = 21;
  v.adopt(next_of(v, c), o, out);
  EXPECT_EQ(out, (std::vector<std::string>{"1 FETCH (UID 1 FLAGS () MODSEQ (21))"}));
  // A STORE reports its own messages: adopt leaves them out.
  out.clear();
  c.changed = {meta(1, 22, store::kFlagged), meta(2, 22, store::kAnswered)};
  c.highest_modseq = 22;
  v.adopt(next_of(v, c), o, out, {2});
  EXPECT_EQ(out, (std::vector<std::string>{"1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (22))"}));
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
  v.adopt(next_of(v, c), SyncOptions{}, out);
  EXPECT_EQ(out,
            (std::vector<std::string>{
                "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $New)",
                "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 $New "
                "\\*)] Flags permitted",
                "1 FETCH (FLAGS ($Label1))", "3 EXISTS"}));
  out.clear();
  c.changed = {meta(2, 22)};
  c.changed[0].keywords = {"$Label1"};
  c.highest_modseq = 22;
  v.adopt(next_of(v, c), SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 FETCH (FLAGS ($Label1))"}));  // known already
  MailboxView ro = view_of({1});
  ro.read_only = true;
  out.clear();
  auto next = next_of(ro, c);
  EXPECT_TRUE(ro.announce_keywords(*next, {&next->rows.back()}, out));
  EXPECT_EQ(out[1], "OK [PERMANENTFLAGS ()] Read-only mailbox");
}

TEST(MailboxView, RecentAndFlags) {
  store::Snapshot snap;
  snap.messages = {meta(1, 1, store::kSeen | store::kDraft), meta(2, 1)};
  snap.messages[1].keywords = {"$Work"};
  MailboxView v;
  v.load(version_from_snapshot(snap), 1);
  EXPECT_EQ(v.recent_count(), 1u);
  EXPECT_EQ(v.flags_of(v.at(1)), "(\\Seen \\Draft)");
  EXPECT_EQ(v.flags_of(v.at(2)), "($Work \\Recent)");
  EXPECT_EQ(v.mailbox_flags(), "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)");
  // EXAMINE (read-only) shows what no session has seen as \Recent too (RFC 3501 6.3.2); that
  // it claims nothing is the RecentTracker peek in select.cpp.
  MailboxView ro;
  ro.read_only = true;
  ro.load(version_from_snapshot(snap), 0);
  EXPECT_EQ(ro.recent_count(), 2u);
  EXPECT_TRUE(ro.is_recent(1));
  // Ranges merge; expunged messages no longer count.
  ro.add_recent(3, 9);
  std::vector<std::string> out;
  ro.expunge_now({2}, SyncOptions{}, out);
  EXPECT_EQ(ro.recent_count(), 1u);
  EXPECT_TRUE(ro.is_recent(5));
  EXPECT_FALSE(ro.is_recent(10));
}

TEST(SharedMailbox, VersionsShareKeywordIdsAndRecordTheirDelta) {
  store::Snapshot snap = snapshot_of({1, 2, 3});
  snap.messages[0].keywords = {"$A"};
  auto v0 = version_from_snapshot(snap);
  EXPECT_EQ(v0->keywords_of(v0->rows[0]), (std::vector<std::string>{"$A"}));
  EXPECT_EQ(v0->rows[1].keywords, 0u);
  store::Changes c;
  c.highest_modseq = 11;
  c.changed = {meta(2, 11), meta(4, 11)};
  c.changed[0].keywords = {"$A"};
  c.changed[1].keywords = {"$A", "$B"};
  c.expunged = {3};
  auto v1 = apply_changes(*v0, c);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->from_modseq, 10u);
  EXPECT_EQ(v1->changed, (std::vector<uint32_t>{2, 4}));
  EXPECT_EQ(v1->expunged, (std::vector<uint32_t>{3}));
  EXPECT_EQ(v1->rows[1].keywords, v0->rows[0].keywords);  // the same set, the same id
  EXPECT_EQ(v1->keywords_of(v1->rows[2]), (std::vector<std::string>{"$A", "$B"}));
  EXPECT_EQ(v1->uid_next, 5u);
  // STATUS counts, kept with each version: 1, 2 and 4 are unseen; sizes are 100 + uid.
  EXPECT_EQ(v1->unseen, 3u);
  EXPECT_EQ(v1->total_size, 101u + 102u + 104u);
  EXPECT_EQ(v0->unseen, 3u);
  EXPECT_EQ(v1->first_unseen, 1u);
  store::Changes seen;
  seen.highest_modseq = 12;
  seen.changed = {meta(1, 12, store::kSeen)};
  EXPECT_EQ(apply_changes(*v1, seen)->first_unseen, 2u);
  // Rows of the old version still read their keywords through the new table.
  EXPECT_EQ(v1->keywords_of(v0->rows[0]), (std::vector<std::string>{"$A"}));
  store::Changes none;
  none.highest_modseq = 11;
  EXPECT_EQ(apply_changes(*v1, none), nullptr);
}

TEST(SharedMailbox, WarmListKeepsRecentViewsWithinItsBudget) {
  auto dir = std::filesystem::temp_directory_path() /
             ("mailroom-shared-view-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  store::StoreOptions so;
  so.root = (dir / "mail").string();
  so.fsync = false;
  auto store = store::open_file_store(so);
  const std::string acct = "0b6c2f1e-1111-4222-8333-944455556666";
  store::AppendRequest r;
  r.message = "Subject: x\r\n\r\nbody\r\n";
  ASSERT_TRUE(store->append(acct, r).is_ok());

  SharedMailboxes views(/*keep_rows=*/SharedMailboxes::kEntryCost + 1);
  auto a = views.acquire(acct, "INBOX");
  EXPECT_EQ(views.acquire(acct, "INBOX"), a);  // live: the same object
  ASSERT_TRUE(a->refresh(*store).is_ok());
  SharedMailbox* raw = a.get();
  views.release(std::move(a));
  EXPECT_EQ(views.acquire(acct, "INBOX").get(), raw);  // selected again: still warm

  // A view that never loaded (no such mailbox) is not kept, whatever the budget.
  auto missing = views.acquire(acct, "Nosuch");
  EXPECT_FALSE(missing->refresh(*store).is_ok());
  std::weak_ptr<SharedMailbox> weak = missing;
  views.release(std::move(missing));
  EXPECT_TRUE(weak.expired());

  // Over the budget (one row plus the entry cost each): the oldest goes.
  store::AppendRequest other = r;
  other.mailbox = "Other";
  other.create_mailbox = true;
  ASSERT_TRUE(store->append(acct, other).is_ok());
  auto inbox = views.acquire(acct, "INBOX");
  ASSERT_TRUE(inbox->refresh(*store).is_ok());
  std::weak_ptr<SharedMailbox> inbox_weak = inbox;
  views.release(std::move(inbox));
  auto second = views.acquire(acct, "Other");
  ASSERT_TRUE(second->refresh(*store).is_ok());
  views.release(std::move(second));
  EXPECT_TRUE(inbox_weak.expired());
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(SharedMailbox, AReloadStartsANewLineageAndManyKeywordSetsStayCheap) {
  store::Snapshot snap = snapshot_of({1, 2});
  auto a = version_from_snapshot(snap);
  auto b = version_from_snapshot(snap);
  EXPECT_NE(a->lineage, b->lineage);
  store::Changes c;
  c.highest_modseq = 11;
  for (uint32_t i = 0; i < 3000; ++i) {
    auto m = meta(10 + i, 11);
    m.keywords = {"$k" + std::to_string(i)};
    c.changed.push_back(m);
  }
  auto next = apply_changes(*a, c);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->lineage, a->lineage);
  EXPECT_EQ(next->keyword_sets->size(), 3001u);
  EXPECT_EQ(next->keywords_of(next->rows.back()), (std::vector<std::string>{"$k2999"}));
}

// IDLE hibernation (issue 20): the view keeps only its UIDs and HIGHESTMODSEQ, and wakes on a
// version loaded afresh (no list of what changed): flags by MODSEQ, expunges by missing UIDs.
TEST(MailboxView, HibernatedViewWakesOnAReloadedVersion) {
  auto v = view_of({1, 2, 3, 5});
  ASSERT_TRUE(v.can_hibernate());
  uint64_t lineage = v.lineage();
  v.hibernate();
  EXPECT_TRUE(v.hibernated());
  EXPECT_TRUE(v.version() == nullptr);  // the shared rows are let go
  EXPECT_EQ(v.uid_validity(), 7u);
  EXPECT_EQ(v.uid_next(), 6u);
  EXPECT_EQ(v.lineage(), lineage);
  EXPECT_EQ(v.highest_modseq(), 10u);

  store::Snapshot snap = snapshot_of({1, 3, 5});
  snap.messages[1] = meta(3, 12, store::kSeen);  // flags changed while asleep
  snap.messages.push_back(meta(6, 13));          // new mail
  snap.uid_next = 7;
  snap.highest_modseq = 13;
  std::vector<std::string> out;
  EXPECT_EQ(v.wake(version_from_snapshot(snap), SyncOptions{}, out), 1u);
  // The FETCH uses the numbers the client knows (2 is still there), then the EXPUNGE.
  EXPECT_EQ(out, (std::vector<std::string>{"3 FETCH (FLAGS (\\Seen))", "2 EXPUNGE", "4 EXISTS"}));
  EXPECT_FALSE(v.hibernated());
  EXPECT_EQ(v.exists(), 4u);
  EXPECT_EQ(v.seq_of(6), 4u);
  EXPECT_EQ(v.highest_modseq(), 13u);
}

TEST(MailboxView, HibernatedViewKeepsExpungesForLaterWhenNotAllowed) {
  auto v = view_of({1, 2, 3});
  v.hibernate();
  store::Snapshot snap = snapshot_of({1, 3});
  std::vector<std::string> out;
  SyncOptions no_expunge;
  no_expunge.allow_expunge = false;
  EXPECT_EQ(v.wake(version_from_snapshot(snap), no_expunge, out), 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(v.seq_of(3), 3u);  // 2 keeps its number until announced
  EXPECT_TRUE(v.has_pending_expunges());
  EXPECT_FALSE(v.can_hibernate());  // it has something of its own now
  v.flush_expunges(SyncOptions{}, out);
  EXPECT_EQ(out, (std::vector<std::string>{"2 EXPUNGE"}));
  EXPECT_TRUE(v.can_hibernate());
}

TEST(SharedMailbox, ReleasedRowsReloadInTheSameLineage) {
  auto dir = std::filesystem::temp_directory_path() /
             ("mailroom-shared-release-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  store::StoreOptions so;
  so.root = (dir / "mail").string();
  so.fsync = false;
  auto store = store::open_file_store(so);
  const std::string acct = "0b6c2f1e-1111-4222-8333-944455556667";
  store::AppendRequest r;
  r.message = "Subject: x\r\n\r\nbody\r\n";
  r.keywords = {"$Work"};
  ASSERT_TRUE(store->append(acct, r).is_ok());
  SharedMailbox box(acct, "INBOX");
  std::shared_ptr<const Version> first;
  {
    auto loaded = box.refresh(*store);
    ASSERT_TRUE(loaded.is_ok());
    first = *loaded;
  }
  EXPECT_FALSE(box.release_rows());  // a session (here: `first`) is on the current version
  MailboxView v;
  v.load(first, 0);
  uint64_t lineage = first->lineage;
  uint32_t work_id = first->rows[0].keywords;
  first.reset();
  EXPECT_FALSE(box.release_rows());  // the view is still on it
  v.hibernate();
  EXPECT_TRUE(box.release_rows());
  EXPECT_TRUE(box.current() == nullptr);
  EXPECT_FALSE(box.refreshed_within(std::chrono::hours(1)));

  store::AppendRequest second = r;
  second.keywords = {"$Home"};
  ASSERT_TRUE(store->append(acct, second).is_ok());
  auto again = box.refresh(*store);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->lineage, lineage);  // the same incarnation: rows stay comparable
  ASSERT_EQ((*again)->rows.size(), 2u);
  EXPECT_EQ((*again)->rows[0].keywords, work_id);
  std::vector<std::string> out;
  EXPECT_EQ(v.wake(*again, SyncOptions{}, out), 1u);
  EXPECT_EQ(out, (std::vector<std::string>{
                     "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Home $Work)",
                     "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Home "
                     "$Work \\*)] Flags permitted",
                     "2 EXISTS"}));
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(MailboxView, ExpungingManyGhostsAtOnceKeepsTheRest) {
  std::vector<uint32_t> uids;
  for (uint32_t u = 1; u <= 20000; ++u) uids.push_back(u);
  auto v = view_of(uids);
  store::Changes c;
  c.highest_modseq = 11;
  for (uint32_t u = 1; u <= 20000; u += 2) c.expunged.push_back(u);
  SyncOptions no_expunge;
  no_expunge.allow_expunge = false;
  std::vector<std::string> out;
  v.adopt(next_of(v, c), no_expunge, out);
  EXPECT_EQ(v.exists(), 20000u);
  v.flush_expunges(SyncOptions{}, out);
  EXPECT_EQ(out.size(), 10000u);
  EXPECT_EQ(out.front(), "19999 EXPUNGE");
  EXPECT_EQ(v.exists(), 10000u);
  EXPECT_EQ(v.at(1).uid, 2u);
  EXPECT_EQ(&v.rows(), &v.version()->rows);
}

}  // namespace
}  // namespace mailroom::imap
