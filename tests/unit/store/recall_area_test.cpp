// Mail recall in the store: the guid of an append, "opened" evidence (seen_at / seen_via), the
// copies of a message file, the hidden recall area (recall, restore, purge) with its reference
// and quota rules as fsck checks them, and the migration of a version-1 index.
#include <sqlite3.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include "src/store/file_store.h"
#include "src/store/maintenance.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using core::Code;

class RecallTest : public StoreTest {
 protected:
  std::string user_dir() const { return options_.root + "/" + kUser; }
  bool file_on_disk(const std::string& guid) const {
    return std::filesystem::exists(MessageFiles(user_dir(), false).path_for(guid));
  }
  FsckReport fsck(bool repair = false) {
    auto r = fsck_user(options_, kUser, FsckOptions{repair, 0});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : FsckReport{};
  }
  MessageMeta only(const std::string& mailbox) {
    auto snap = store_->snapshot(kUser, mailbox);
    EXPECT_TRUE(snap.is_ok());
    EXPECT_EQ(snap->messages.size(), 1u);
    return snap->messages.empty() ? MessageMeta{} : snap->messages[0];
  }
  // Runs SQL on the user's index through a second connection (the store's sees it: WAL).
  void sql(const std::string& text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((user_dir() + "/index.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }
  int64_t sql_int(const std::string& query) {
    sqlite3* db = nullptr;
    int64_t v = -1;
    if (sqlite3_open((user_dir() + "/index.db").c_str(), &db) != SQLITE_OK) return v;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
};

TEST_F(RecallTest, AppendReturnsTheGuidOfTheNewFile) {
  auto a = put("INBOX", message("1"));
  EXPECT_TRUE(valid_guid(a.guid));
  EXPECT_EQ(only("INBOX").guid, a.guid);
  EXPECT_TRUE(file_on_disk(a.guid));
}

TEST_F(RecallTest, SeenEvidenceIsSetOnceByStoreFlagsWithItsOrigin) {
  auto a = put("INBOX", message("1"));
  EXPECT_EQ(only("INBOX").seen_at, 0);
  EXPECT_EQ(only("INBOX").seen_via, "");
  auto before = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  int64_t t0 = ::time(nullptr);
  StoreFlagsRequest f;
  f.uids = {a.uid};
  f.flags = kSeen;
  f.origin = "imap";
  auto r = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->updated.size(), 1u);
  EXPECT_GE(r->updated[0].seen_at, t0);
  EXPECT_LE(r->updated[0].seen_at, ::time(nullptr));
  EXPECT_EQ(r->updated[0].seen_via, "imap");
  // The evidence rides on the flag change's one MODSEQ.
  EXPECT_EQ(store_->mailbox_status(kUser, "INBOX")->highest_modseq, before + 1);
  int64_t first = only("INBOX").seen_at;
  EXPECT_EQ(first, r->updated[0].seen_at);

  // Cleared: \Seen goes, the evidence stays; set again by another origin: still the first.
  f.op = FlagOp::remove;
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  EXPECT_EQ(only("INBOX").flags & kSeen, 0u);
  EXPECT_EQ(only("INBOX").seen_at, first);
  f.op = FlagOp::replace;
  f.flags = kSeen | kFlagged;
  f.origin = "jmap";
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  EXPECT_EQ(only("INBOX").seen_at, first);
  EXPECT_EQ(only("INBOX").seen_via, "imap");

  // Other flags alone leave it unset.
  auto b = put("Sent", message("2"));
  StoreFlagsRequest g;
  g.uids = {b.uid};
  g.flags = kFlagged | kAnswered;
  g.origin = "imap";
  ASSERT_TRUE(store_->store_flags(kUser, "Sent", g).is_ok());
  EXPECT_EQ(only("Sent").seen_at, 0);

  // The origin is a short lower-case word.
  g.origin = "IMAP";
  EXPECT_EQ(store_->store_flags(kUser, "Sent", g).code(), Code::invalid_argument);
  g.origin = std::string(17, 'a');
  EXPECT_EQ(store_->store_flags(kUser, "Sent", g).code(), Code::invalid_argument);
  g.origin = "admin";
  EXPECT_TRUE(store_->store_flags(kUser, "Sent", g).is_ok());
}

TEST_F(RecallTest, AppendSeenIsEvidenceAndCopyAndMoveCarryTheMarks) {
  int64_t t0 = ::time(nullptr);
  auto a = put("INBOX", message("1"), kSeen);
  MessageMeta m = only("INBOX");
  EXPECT_GE(m.seen_at, t0);
  EXPECT_EQ(m.seen_via, "append");
  ASSERT_TRUE(store_->mark_retrieved(kUser, "INBOX", a.uid, 1700000000, "192.0.2.7").is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "Projects", SpecialUse::none).is_ok());
  ASSERT_TRUE(store_->copy(kUser, "INBOX", {a.uid}, "Projects", Quota{}).is_ok());
  ASSERT_TRUE(store_->move(kUser, "INBOX", {a.uid}, "Trash").is_ok());
  for (const char* box : {"Projects", "Trash"}) {
    MessageMeta c = only(box);
    EXPECT_EQ(c.seen_at, m.seen_at) << box;
    EXPECT_EQ(c.seen_via, "append") << box;
    EXPECT_EQ(c.retrieved_at, 1700000000) << box;
    EXPECT_EQ(c.retrieved_by, "192.0.2.7") << box;
    EXPECT_EQ(c.guid, a.guid) << box;
  }
}

TEST_F(RecallTest, FindCopiesFollowsCopyAndMove) {
  auto a = put("INBOX", message("wanted"));
  auto other = put("INBOX", message("other"));
  ASSERT_TRUE(store_->create_mailbox(kUser, "Projects/Q3", SpecialUse::none).is_ok());
  auto c = store_->copy(kUser, "INBOX", {a.uid}, "Projects/Q3", Quota{});
  ASSERT_TRUE(c.is_ok());
  auto m = store_->move(kUser, "INBOX", {a.uid}, "Trash");
  ASSERT_TRUE(m.is_ok());
  auto copies = store_->find_copies(kUser, a.guid);
  ASSERT_TRUE(copies.is_ok()) << copies.status().to_string();
  ASSERT_EQ(copies->size(), 2u);
  EXPECT_EQ((*copies)[0].mailbox, "Projects/Q3");
  EXPECT_EQ((*copies)[0].meta.uid, c->dest_uids[0]);
  EXPECT_EQ((*copies)[0].uid_validity, c->uid_validity);
  EXPECT_EQ((*copies)[1].mailbox, "Trash");
  EXPECT_EQ((*copies)[1].meta.uid, m->dest_uids[0]);
  for (const auto& x : *copies) EXPECT_EQ(x.meta.guid, a.guid);
  EXPECT_EQ(store_->find_copies(kUser, other.guid)->size(), 1u);
  EXPECT_TRUE(store_->find_copies(kUser, std::string(32, 'f'))->empty());
  EXPECT_EQ(store_->find_copies(kUser, "not-a-guid").code(), Code::invalid_argument);
  EXPECT_EQ(store_->find_copies("../x", a.guid).code(), Code::invalid_argument);
}

// A look-up for an account the store never saw answers "nothing" and leaves no trace.
TEST_F(RecallTest, RecallCallsDoNotCreateUnknownUsers) {
  put("INBOX", message("1"));  // the root exists
  const std::string stranger = "never-seen-account";
  const std::string g(32, 'a');
  auto copies = store_->find_copies(stranger, g);
  ASSERT_TRUE(copies.is_ok());
  EXPECT_TRUE(copies->empty());
  EXPECT_TRUE(store_->recall_copies(stranger, g, "r1", 0)->empty());
  EXPECT_TRUE(store_->restore_recalled(stranger, "r1")->empty());
  EXPECT_TRUE(store_->recalled(stranger, "")->empty());
  EXPECT_EQ(*store_->purge_recalled(stranger, "r1"), 0u);
  EXPECT_FALSE(std::filesystem::exists(options_.root + "/" + stranger));
}

TEST_F(RecallTest, RecallMovesEveryCopyOutWithTombstonesUsageAndNotifications) {
  auto a = put("INBOX", message("recalled", std::string(1000, 'x')));
  auto keep = put("INBOX", message("kept"));
  ASSERT_TRUE(store_->create_mailbox(kUser, "Projects", SpecialUse::none).is_ok());
  auto c = store_->copy(kUser, "INBOX", {a.uid}, "Projects", Quota{});
  ASSERT_TRUE(c.is_ok());
  StoreFlagsRequest f;
  f.uids = {a.uid};
  f.flags = kSeen;
  f.keywords = {"Work"};
  f.origin = "imap";
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  auto inbox0 = *store_->mailbox_status(kUser, "INBOX");
  auto projects0 = *store_->mailbox_status(kUser, "Projects");
  std::atomic<uint64_t> inbox_event{0}, projects_event{0};
  auto w1 = store_->watch(kUser, "INBOX", [&](const ChangeEvent& e) { inbox_event = e.modseq; });
  auto w2 =
      store_->watch(kUser, "Projects", [&](const ChangeEvent& e) { projects_event = e.modseq; });

  EXPECT_EQ(store_->recall_copies(kUser, a.guid, "bad id!", 1).code(), Code::invalid_argument);
  EXPECT_EQ(store_->recall_copies(kUser, a.guid, std::string(65, 'r'), 1).code(),
            Code::invalid_argument);
  EXPECT_EQ(store_->recall_copies(kUser, "zz", "r1", 1).code(), Code::invalid_argument);

  auto r = store_->recall_copies(kUser, a.guid, "recall-2026_01", 1800000000);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].mailbox, "INBOX");
  EXPECT_EQ((*r)[0].meta.uid, a.uid);
  EXPECT_EQ((*r)[0].uid_validity, a.uid_validity);
  EXPECT_EQ((*r)[0].meta.flags, kSeen);
  EXPECT_EQ((*r)[0].meta.seen_via, "imap");
  EXPECT_EQ((*r)[0].recalled_at, 1800000000);
  EXPECT_EQ((*r)[1].mailbox, "Projects");
  EXPECT_EQ((*r)[1].meta.uid, c->dest_uids[0]);

  // Gone from the mailboxes, with tombstones at one new MODSEQ per mailbox.
  auto inbox = store_->snapshot(kUser, "INBOX");
  ASSERT_EQ(inbox->messages.size(), 1u);
  EXPECT_EQ(inbox->messages[0].uid, keep.uid);
  EXPECT_TRUE(store_->snapshot(kUser, "Projects")->messages.empty());
  EXPECT_EQ(inbox->highest_modseq, inbox0.highest_modseq + 1);
  auto ch = store_->changes_since(kUser, "INBOX", inbox0.highest_modseq);
  EXPECT_EQ(ch->expunged, std::vector<uint32_t>{a.uid});
  EXPECT_TRUE(ch->changed.empty());
  ch = store_->changes_since(kUser, "Projects", projects0.highest_modseq);
  EXPECT_EQ(ch->expunged, std::vector<uint32_t>{c->dest_uids[0]});
  EXPECT_EQ(inbox_event.load(), inbox->highest_modseq);
  EXPECT_EQ(projects_event.load(), projects0.highest_modseq + 1);
  EXPECT_EQ(store_->read_message(kUser, "INBOX", a.uid).code(), Code::not_found);

  // Out of the quota; the file stays, referenced by the recall area.
  auto usage = store_->quota_usage(kUser);
  EXPECT_EQ(usage->messages, 1u);
  EXPECT_EQ(usage->bytes, inbox->messages[0].size);
  EXPECT_TRUE(file_on_disk(a.guid));
  EXPECT_EQ(store_->recalled(kUser, "recall-2026_01")->size(), 2u);
  EXPECT_EQ(store_->recalled(kUser, "")->size(), 2u);
  EXPECT_TRUE(store_->recalled(kUser, "other")->empty());
  EXPECT_TRUE(store_->find_copies(kUser, a.guid)->empty());
  // Recalling again finds nothing more.
  EXPECT_TRUE(store_->recall_copies(kUser, a.guid, "recall-2026_01", 1)->empty());

  // fsck: consistent (usage without the recalled copies), and the file is not garbage.
  auto report = fsck(/*repair=*/true);
  EXPECT_TRUE(report.consistent()) << report.errors.at(0);
  EXPECT_EQ(report.orphan_files, 0u);
  EXPECT_TRUE(file_on_disk(a.guid));
}

TEST_F(RecallTest, BatchedRecallIsVisibleAtOnceAndNotifiedBySyncBatched) {
  auto a = put("INBOX", message("recalled"));
  std::atomic<uint64_t> event{0};
  auto w = store_->watch(kUser, "INBOX", [&](const ChangeEvent& e) { event = e.modseq; });
  auto r = store_->recall_copies(kUser, a.guid, "r1", 0, MailStore::Commit::batched);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  // Committed: every reader sees it gone; IDLE watchers hear of it once it is on disk.
  EXPECT_TRUE(store_->snapshot(kUser, "INBOX")->messages.empty());
  EXPECT_EQ(event.load(), 0u);
  ASSERT_TRUE(store_->sync_batched().is_ok());
  EXPECT_EQ(event.load(), store_->mailbox_status(kUser, "INBOX")->highest_modseq);
  event = 0;
  ASSERT_TRUE(store_->sync_batched().is_ok());  // nothing pending: nobody told twice
  EXPECT_EQ(event.load(), 0u);
  // The connection is back to its own commit mode: a later append is still there on reopen.
  auto b = put("INBOX", message("later"));
  store_.reset();
  store_ = open_file_store(options_);
  EXPECT_EQ(only("INBOX").guid, b.guid);
  EXPECT_EQ(store_->recalled(kUser, "r1")->size(), 1u);
}

// A sweep over many users (recall) opens their indexes "cold": they do not push the users
// working now out of the open-index cache, and close without a checkpoint, leaving their
// committed frames in the WAL for the next open. Users opened normally checkpoint on close.
TEST(RecallCacheTest, SweepOpensStayColdAndCloseWithoutCheckpoint) {
  std::string dir = make_temp_dir();
  StoreOptions o;
  o.root = dir + "/mail";
  o.fsync = false;
  o.open_users_cache = 2;
  const std::string hot = "0b6c2f1e-1111-4222-8333-000000000001";
  const std::string a = "0b6c2f1e-1111-4222-8333-00000000000a";
  const std::string b = "0b6c2f1e-1111-4222-8333-00000000000b";
  auto wal_size = [&](const std::string& user) {
    std::error_code ec;
    auto n = std::filesystem::file_size(o.root + "/" + user + "/index.db-wal", ec);
    return ec ? uintmax_t{0} : n;
  };
  std::map<std::string, std::string> guid;
  {
    auto store = open_file_store(o);
    for (const auto& u : {hot, a, b}) {
      AppendRequest r;
      r.message = "Subject: x\r\n\r\nbody\r\n";
      auto res = store->append(u, r);
      ASSERT_TRUE(res.is_ok()) << res.status().to_string();
      guid[u] = res->guid;
    }
  }  // every index closed normally: checkpointed, WAL kept but empty
  for (const auto& u : {hot, a, b}) {
    EXPECT_EQ(wal_size(u), 0u) << u;
    EXPECT_TRUE(std::filesystem::exists(o.root + "/" + u + "/index.db-shm")) << u;
  }
  auto store = open_file_store(o);
  ASSERT_TRUE(store->list_mailboxes(hot).is_ok());  // the user working now
  ASSERT_EQ(store->recall_copies(a, guid[a], "r1", 0)->size(), 1u);
  ASSERT_EQ(store->recall_copies(b, guid[b], "r1", 0)->size(), 1u);  // pushes out a, not hot
  EXPECT_GT(wal_size(a), 0u);  // closed cold: the recall's frames wait in the WAL
  ASSERT_TRUE(store->list_mailboxes(hot).is_ok());
  // The frames are the committed state: a reopen (and another connection) sees the recall.
  auto snap = store->snapshot(a, "INBOX");
  ASSERT_TRUE(snap.is_ok());
  EXPECT_TRUE(snap->messages.empty());
  EXPECT_EQ(store->recalled(a, "r1")->size(), 1u);
  // Used normally now (a hot open promotes it): its close checkpoints and empties the WAL.
  ASSERT_TRUE(store->list_mailboxes(a).is_ok());
  store.reset();
  EXPECT_EQ(wal_size(a), 0u);

  // An index lost while its WAL still holds frames (b closed cold): the rebuild from the
  // message files must not replay the lost index's frames into the new one (SQLite drops a WAL
  // found beside an empty database file).
  store = open_file_store(o);
  ASSERT_TRUE(store->list_mailboxes(hot).is_ok());
  AppendRequest more;
  more.message = "Subject: y\r\n\r\nbody\r\n";
  ASSERT_TRUE(store->append(hot, more).is_ok());
  ASSERT_TRUE(store->list_mailboxes(a).is_ok());
  ASSERT_EQ(store->recall_copies(b, guid[b], "r2", 0)->size(), 0u);  // already recalled
  ASSERT_TRUE(store->restore_recalled(b, "r1").is_ok());             // b: frames in its WAL
  ASSERT_TRUE(store->list_mailboxes(hot).is_ok());                   // b closes cold
  ASSERT_GT(wal_size(b), 0u);
  std::filesystem::remove(o.root + "/" + b + "/index.db");
  auto rebuilt = store->snapshot(b, "INBOX");  // rebuilt from the one message file
  ASSERT_TRUE(rebuilt.is_ok()) << rebuilt.status().to_string();
  ASSERT_EQ(rebuilt->messages.size(), 1u);
  EXPECT_EQ(rebuilt->messages[0].guid, guid[b]);
  store.reset();
  auto report = fsck_user(o, b, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->consistent()) << report->errors.at(0);
  std::filesystem::remove_all(dir);
}

TEST_F(RecallTest, RestorePutsEveryCopyBackWithItsMarksAndNewUids) {
  auto a = put("INBOX", message("recalled", "body of the recalled one"));
  ASSERT_TRUE(store_->create_mailbox(kUser, "Projects", SpecialUse::none).is_ok());
  ASSERT_TRUE(store_->copy(kUser, "INBOX", {a.uid}, "Projects", Quota{}).is_ok());
  StoreFlagsRequest f;
  f.uids = {a.uid};
  f.flags = kSeen | kFlagged;
  f.keywords = {"$Label1", "Work"};
  f.origin = "imap";
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  ASSERT_TRUE(store_->mark_retrieved(kUser, "INBOX", a.uid, 1700000123, "198.51.100.1").is_ok());
  MessageMeta before = only("INBOX");
  auto usage0 = *store_->quota_usage(kUser);
  auto original = *store_->read_message(kUser, "INBOX", a.uid);
  auto recalled = store_->recall_copies(kUser, a.guid, "r1", 0);
  ASSERT_EQ(recalled->size(), 2u);
  EXPECT_GT((*recalled)[0].recalled_at, 0);  // 0: now
  auto inbox_mid = *store_->mailbox_status(kUser, "INBOX");
  std::atomic<int> events{0};
  auto w = store_->watch(kUser, "INBOX", [&](const ChangeEvent&) { ++events; });

  auto restored = store_->restore_recalled(kUser, "r1");
  ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
  ASSERT_EQ(restored->size(), 2u);
  EXPECT_EQ(events.load(), 1);
  const RestoredCopy& back = (*restored)[0];
  EXPECT_EQ(back.mailbox, "INBOX");
  EXPECT_EQ(back.old_uid, a.uid);
  EXPECT_EQ(back.uid_validity, a.uid_validity);
  EXPECT_GT(back.uid, a.uid);  // never reused
  EXPECT_EQ((*restored)[1].mailbox, "Projects");
  MessageMeta after = only("INBOX");
  EXPECT_EQ(after.uid, back.uid);
  EXPECT_GT(after.modseq, inbox_mid.highest_modseq - 1);
  EXPECT_EQ(after.flags, before.flags);
  EXPECT_EQ(after.keywords, before.keywords);
  EXPECT_EQ(after.internal_date, before.internal_date);
  EXPECT_EQ(after.seen_at, before.seen_at);
  EXPECT_EQ(after.seen_via, "imap");
  EXPECT_EQ(after.retrieved_at, 1700000123);
  EXPECT_EQ(after.retrieved_by, "198.51.100.1");
  EXPECT_EQ(after.guid, a.guid);
  EXPECT_EQ(*store_->read_message(kUser, "INBOX", back.uid), original);
  auto ch = store_->changes_since(kUser, "INBOX", inbox_mid.highest_modseq);
  ASSERT_EQ(ch->changed.size(), 1u);  // IMAP sessions see the new UID
  EXPECT_EQ(ch->changed[0].uid, back.uid);
  auto usage = *store_->quota_usage(kUser);
  EXPECT_EQ(usage.bytes, usage0.bytes);
  EXPECT_EQ(usage.messages, usage0.messages);
  EXPECT_TRUE(store_->recalled(kUser, "")->empty());
  EXPECT_EQ(store_->find_copies(kUser, a.guid)->size(), 2u);

  // Idempotent.
  auto again = store_->restore_recalled(kUser, "r1");
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(store_->restore_recalled(kUser, "").code(), Code::invalid_argument);
  EXPECT_TRUE(fsck().consistent());
}

TEST_F(RecallTest, RestoreGoesToInboxWhenTheMailboxIsGone) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "Projects", SpecialUse::none).is_ok());
  auto a = put("Projects", message("1"));
  ASSERT_EQ(store_->recall_copies(kUser, a.guid, "r1", 0)->size(), 1u);
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Projects", false).is_ok());
  EXPECT_TRUE(file_on_disk(a.guid));  // the recall area still references it
  EXPECT_TRUE(fsck().consistent());
  auto restored = store_->restore_recalled(kUser, "r1");
  ASSERT_EQ(restored->size(), 1u);
  EXPECT_EQ((*restored)[0].mailbox, "INBOX");
  EXPECT_EQ(only("INBOX").guid, a.guid);
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 1u);
  EXPECT_TRUE(fsck().consistent());
}

TEST_F(RecallTest, PurgeRemovesTheFileOnlyWhenNothingElseReferencesIt) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  ASSERT_EQ(store_->recall_copies(kUser, a.guid, "r1", 0)->size(), 1u);
  ASSERT_EQ(store_->recall_copies(kUser, b.guid, "r2", 0)->size(), 1u);
  // A second recall-area row for b's file (two recalls holding one file; made by hand, as no
  // single call makes it).
  sql("INSERT INTO recalled SELECT 'r3', mailbox, uid, uid_validity, guid, size, internal_date, "
      "internal_tz, flags, keywords, retrieved_at, retrieved_by, seen_at, seen_via, recalled_at "
      "FROM recalled WHERE recall_id='r2'");

  EXPECT_EQ(store_->purge_recalled(kUser, "bad id").code(), Code::invalid_argument);
  EXPECT_EQ(*store_->purge_recalled(kUser, "r1"), 1u);
  EXPECT_FALSE(file_on_disk(a.guid));
  EXPECT_EQ(*store_->purge_recalled(kUser, "r1"), 0u);
  EXPECT_EQ(*store_->purge_recalled(kUser, "r2"), 1u);
  EXPECT_TRUE(file_on_disk(b.guid));  // r3 still holds it
  EXPECT_TRUE(fsck().consistent());
  EXPECT_EQ(*store_->purge_recalled(kUser, "r3"), 1u);
  EXPECT_FALSE(file_on_disk(b.guid));
  auto report = fsck();
  EXPECT_TRUE(report.consistent());
  EXPECT_EQ(report.files, 0u);
  EXPECT_EQ(report.orphan_files, 0u);
  EXPECT_TRUE(store_->recalled(kUser, "")->empty());
}

// An expunge of the last mailbox copy must not take the file a recalled copy needs.
TEST_F(RecallTest, ExpungeKeepsAFileTheRecallAreaReferences) {
  auto a = put("INBOX", message("1"));
  std::string size = std::to_string(normalize_crlf(message("1")).size());
  ASSERT_EQ(store_->recall_copies(kUser, a.guid, "r1", 0)->size(), 1u);
  // A mailbox row for the same file beside the recalled one (made by hand: after a recall no
  // call adds one), then expunged.
  sql("INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date) "
      "SELECT id, uid_next, highest_modseq + 1, '" +
      a.guid + "', " + size +
      ", 0 FROM mailboxes WHERE name='INBOX'; "
      "UPDATE mailboxes SET uid_next=uid_next+1, highest_modseq=highest_modseq+1 "
      "WHERE name='INBOX'; UPDATE meta SET value=value+1 WHERE key='usage_messages'; "
      "UPDATE meta SET value=value+" +
      size + " WHERE key='usage_bytes'");
  ASSERT_TRUE(fsck().consistent());
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {only("INBOX").uid}).is_ok());
  EXPECT_TRUE(file_on_disk(a.guid));
  EXPECT_TRUE(fsck().consistent());
  EXPECT_EQ(store_->restore_recalled(kUser, "r1")->size(), 1u);
  EXPECT_TRUE(store_->read_message(kUser, "INBOX", only("INBOX").uid).is_ok());
}

TEST_F(RecallTest, FsckReportsAndRepairsARecalledCopyWhoseFileIsGone) {
  auto a = put("INBOX", message("1"));
  put("INBOX", message("2"));
  ASSERT_EQ(store_->recall_copies(kUser, a.guid, "r1", 0)->size(), 1u);
  std::filesystem::remove(MessageFiles(user_dir(), false).path_for(a.guid));
  auto report = fsck();
  EXPECT_FALSE(report.consistent());
  report = fsck(/*repair=*/true);
  EXPECT_FALSE(report.repaired.empty());
  EXPECT_TRUE(fsck().consistent());
  EXPECT_TRUE(store_->recalled(kUser, "")->empty());
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 1u);

  // A recalled row without its files row: an error too, removed by repair when the file is
  // gone as well.
  auto b = put("INBOX", message("3"));
  ASSERT_EQ(store_->recall_copies(kUser, b.guid, "r2", 0)->size(), 1u);
  sql("DELETE FROM files WHERE guid='" + b.guid + "'");
  std::filesystem::remove(MessageFiles(user_dir(), false).path_for(b.guid));
  EXPECT_FALSE(fsck().consistent());
  fsck(/*repair=*/true);
  EXPECT_TRUE(fsck().consistent());
  EXPECT_TRUE(store_->recalled(kUser, "r2")->empty());
}

// A POP3 download whose marks are still only in the session's journal: the recall carries them.
TEST_F(RecallTest, RecallCarriesRetrievalMarksNotYetInTheIndex) {
  auto a = put("INBOX", message("1"));
  auto journal = store_->open_retrieval_journal(kUser, "INBOX", "203.0.113.9");
  ASSERT_TRUE(journal.is_ok());
  ASSERT_TRUE((*journal)->append(a.uid, 1750000000).is_ok());
  auto r = store_->recall_copies(kUser, a.guid, "r1", 0);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].meta.retrieved_at, 1750000000);
  EXPECT_EQ((*r)[0].meta.retrieved_by, "203.0.113.9");
  EXPECT_EQ((*store_->recalled(kUser, "r1"))[0].meta.retrieved_at, 1750000000);
  EXPECT_TRUE((*journal)->close().is_ok());  // its UID is gone: skipped, no error
}

// --- schema version 2 -------------------------------------------------------------------

// The index as version 1 wrote it, with one message in INBOX.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE mailboxes(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
  special_use INTEGER NOT NULL DEFAULT 0, uid_validity INTEGER NOT NULL,
  uid_next INTEGER NOT NULL DEFAULT 1, highest_modseq INTEGER NOT NULL DEFAULT 1);
CREATE TABLE files(guid TEXT PRIMARY KEY, size INTEGER NOT NULL, facts BLOB);
CREATE TABLE messages(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL, guid TEXT NOT NULL, size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL, internal_tz INTEGER NOT NULL DEFAULT 0,
  flags INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT '',
  retrieved_at INTEGER NOT NULL DEFAULT 0, retrieved_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX messages_guid ON messages(guid);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE TABLE expunged(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL, PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE TABLE subscriptions(name TEXT PRIMARY KEY);
INSERT INTO meta(key, value) VALUES ('schema_version', 1), ('next_uid_validity', 1700000001),
  ('special_folders', 1);
INSERT INTO mailboxes(name, special_use, uid_validity, uid_next, highest_modseq)
  VALUES ('INBOX', 1, 1700000000, 8, 20);
)sql";

class MigrationTest : public RecallTest {
 protected:
  // A version-1 user: its index made by hand, one message file.
  void make_version1_user() {
    store_.reset();
    MessageFiles files(user_dir(), false);
    ASSERT_TRUE(files.prepare().is_ok());
    body_ = normalize_crlf(message("old"));
    ASSERT_TRUE(files.write(guid_, body_).is_ok());
    std::string size = std::to_string(body_.size());
    sql(std::string(kVersion1Schema) + "INSERT INTO meta(key, value) VALUES ('usage_bytes', " +
        size + "), ('usage_messages', 1); INSERT INTO files(guid, size) VALUES ('" + guid_ + "', " +
        size +
        "); INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date, flags, "
        "retrieved_at, retrieved_by) SELECT id, 7, 20, '" +
        guid_ + "', " + size + ", 1600000000, 1, 1650000000, '192.0.2.1' FROM mailboxes;");
    ASSERT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 1);
  }
  std::string guid_ = std::string(16, 'a') + std::string(16, 'b');
  std::string body_;
};

TEST_F(MigrationTest, Version1IndexIsMigratedOnOpen) {
  make_version1_user();
  store_ = open_file_store(options_);
  MessageMeta m = only("INBOX");
  EXPECT_EQ(m.uid, 7u);
  EXPECT_EQ(m.guid, guid_);
  EXPECT_EQ(m.flags, kSeen);
  EXPECT_EQ(m.seen_at, 0);  // seen before the evidence existed: unknown
  EXPECT_EQ(m.seen_via, "");
  EXPECT_EQ(m.saved_at, 0);  // saved before the save date was kept: unknown (RFC 8514 NIL)
  // Every mailbox got an object id (RFC 8474 MAILBOXID), each its own.
  EXPECT_EQ(sql_int("SELECT count(DISTINCT objectid) FROM mailboxes WHERE length(objectid)=32"),
            sql_int("SELECT count(*) FROM mailboxes"));
  EXPECT_EQ(m.retrieved_at, 1650000000);
  EXPECT_EQ(*store_->read_message(kUser, "INBOX", 7), body_);
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), kSchemaVersion);
  EXPECT_EQ(sql_int("SELECT count(*) FROM pragma_table_info('messages') WHERE name IN "
                    "('seen_at','seen_via')"),
            2);
  // Version 3: the tombstones are found by MODSEQ (changes_since reads only what changed).
  EXPECT_EQ(sql_int("SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                    "name='expunged_modseq'"),
            1);
  // Everything of versions 2 and 3 works on it.
  StoreFlagsRequest f;
  f.uids = {7};
  f.op = FlagOp::replace;
  f.flags = kFlagged;
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  f.flags = kSeen;
  f.origin = "imap";
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  EXPECT_EQ(only("INBOX").seen_via, "imap");
  ASSERT_EQ(store_->recall_copies(kUser, guid_, "r1", 0)->size(), 1u);
  EXPECT_TRUE(fsck().consistent());
  ASSERT_EQ(store_->restore_recalled(kUser, "r1")->size(), 1u);
  EXPECT_EQ(only("INBOX").uid, 8u);
  // Opening again (another store object, as mailroomctl would) changes nothing.
  store_.reset();
  store_ = open_file_store(options_);
  EXPECT_EQ(only("INBOX").uid, 8u);
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), kSchemaVersion);
  EXPECT_TRUE(fsck().consistent());
}

// mailroomd and mailroomctl opening one version-1 index at the same moment: one migrates, the
// other waits for the write lock and finds it done.
TEST_F(MigrationTest, ConcurrentOpensMigrateOnce) {
  for (int round = 0; round < 5; ++round) {
    std::filesystem::remove_all(user_dir());
    make_version1_user();
    std::atomic<int> ready{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&] {
        auto s = open_file_store(options_);
        ++ready;
        while (ready.load() < 4) std::this_thread::yield();
        auto snap = s->snapshot(kUser, "INBOX");
        if (!snap.is_ok() || snap->messages.size() != 1) ++failures;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0) << "round " << round;
    EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), kSchemaVersion);
  }
  store_ = open_file_store(options_);
  EXPECT_TRUE(fsck().consistent());
}

TEST_F(MigrationTest, NewIndexStartsAtTheCurrentVersionAndANewerOneIsRefused) {
  put("INBOX", message("1"));
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), kSchemaVersion);
  store_.reset();
  sql("UPDATE meta SET value=" + std::to_string(kSchemaVersion + 1) +
      " WHERE key='schema_version'");
  store_ = open_file_store(options_);
  EXPECT_FALSE(store_->snapshot(kUser, "INBOX").is_ok());
  auto report = fsck_user(options_, kUser, FsckOptions{true, 0});
  EXPECT_FALSE(report.is_ok());  // neither "repaired" nor rebuilt
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), kSchemaVersion + 1);
}

}  // namespace
}  // namespace mailroom::store::testing
