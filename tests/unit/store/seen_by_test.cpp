// Per-reader \Seen in the store (FORMAT.md "Per-reader \Seen"): a reader's \Seen is its mark,
// the owner's stays in the message; each change takes a MODSEQ; UNCHANGEDSINCE compares with
// what the reader sees; marks go with EXPUNGE, MOVE, DELETE and forget_reader; a version-7
// index gets the table.
#include <sqlite3.h>

#include "src/store/file_store.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

constexpr const char* kBob = "b0b00000-0000-4000-8000-000000000001";
constexpr const char* kCarol = "ca201000-0000-4000-8000-000000000002";
const std::string kMsg = "Subject: x\r\n\r\nbody\r\n";

class SeenByTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_TRUE(store_->create_mailbox(kUser, "Team").is_ok());
    for (int i = 0; i < 3; ++i) put("Team", kMsg);
  }
  Result<StoreFlagsResult> mark(const std::string& reader, std::vector<uint32_t> uids, FlagOp op,
                                uint32_t flags, std::optional<uint64_t> unchanged = {}) {
    StoreFlagsRequest r;
    r.uids = std::move(uids);
    r.op = op;
    r.flags = flags;
    r.reader = reader;
    r.unchanged_since = unchanged;
    return store_->store_flags(kUser, "Team", r);
  }
  std::vector<MailStore::ReaderSeen> marks(const std::string& reader, uint64_t since = 0) {
    auto r = store_->reader_seen(kUser, "Team", reader, since, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : std::vector<MailStore::ReaderSeen>{};
  }
  uint32_t owner_flags(uint32_t uid) {
    auto snap = store_->snapshot(kUser, "Team");
    for (const auto& m : snap->messages)
      if (m.uid == uid) return m.flags;
    return 0xffff;
  }
};

TEST_F(SeenByTest, ReaderSeenIsItsOwn) {
  uint64_t before = store_->mailbox_status(kUser, "Team")->highest_modseq;
  auto r = mark(kBob, {1, 2}, FlagOp::add, kSeen);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->updated.size(), 2u);
  EXPECT_EQ(r->updated[0].flags & kSeen, kSeen);
  EXPECT_EQ(r->updated[0].modseq, before + 1);  // RFC 7162: a change the reader sees
  EXPECT_EQ(store_->mailbox_status(kUser, "Team")->highest_modseq, before + 1);
  // The owner's \Seen and the message's MODSEQ did not move; carol has no marks.
  EXPECT_EQ(owner_flags(1) & kSeen, 0u);
  EXPECT_LT(store_->snapshot(kUser, "Team")->messages[0].modseq, before + 1);
  EXPECT_TRUE(marks(kCarol).empty());
  auto bob = marks(kBob);
  ASSERT_EQ(bob.size(), 2u);
  EXPECT_TRUE(bob[0].seen);
  // Cleared again: a mark "unseen" with a newer MODSEQ; the since filter finds it.
  ASSERT_TRUE(mark(kBob, {2}, FlagOp::remove, kSeen).is_ok());
  auto changed = marks(kBob, before + 1);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].uid, 2u);
  EXPECT_FALSE(changed[0].seen);
  // The uids argument adds marks older than `since`.
  auto with = store_->reader_seen(kUser, "Team", kBob, before + 2, {1, 3});
  ASSERT_TRUE(with.is_ok());
  ASSERT_EQ(with->size(), 1u);
  EXPECT_EQ((*with)[0].uid, 1u);
}

TEST_F(SeenByTest, OtherFlagsGoToTheMessageAndReplaceKeepsTheOwnersSeen) {
  ASSERT_TRUE(store_->store_flags(kUser, "Team", {{1}, FlagOp::add, kSeen, {}, {}, ""}).is_ok());
  auto r = mark(kBob, {1}, FlagOp::replace, kFlagged);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->updated[0].flags, static_cast<uint32_t>(kFlagged));  // bob: unseen, flagged
  EXPECT_EQ(owner_flags(1), static_cast<uint32_t>(kSeen | kFlagged));
  // Nothing to change: no new MODSEQ.
  uint64_t now = store_->mailbox_status(kUser, "Team")->highest_modseq;
  ASSERT_TRUE(mark(kBob, {1}, FlagOp::add, kFlagged).is_ok());
  EXPECT_EQ(store_->mailbox_status(kUser, "Team")->highest_modseq, now);
}

TEST_F(SeenByTest, UnchangedSinceComparesWithTheReadersModseq) {
  auto first = mark(kBob, {1}, FlagOp::add, kSeen);
  ASSERT_TRUE(first.is_ok());
  uint64_t seen_at = first->updated[0].modseq;
  auto r = mark(kBob, {1, 2}, FlagOp::remove, kSeen, seen_at - 1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->modified, std::vector<uint32_t>{1});
  // carol's view of message 1 did not change at seen_at.
  r = mark(kCarol, {1}, FlagOp::add, kSeen, seen_at - 1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->modified.empty());
}

TEST_F(SeenByTest, MarksGoWithTheMessageTheMailboxAndTheReader) {
  ASSERT_TRUE(mark(kBob, {1, 2, 3}, FlagOp::add, kSeen).is_ok());
  ASSERT_TRUE(mark(kCarol, {1, 2}, FlagOp::add, kSeen).is_ok());
  ASSERT_TRUE(store_->expunge(kUser, "Team", {1}).is_ok());
  EXPECT_EQ(marks(kBob).size(), 2u);
  ASSERT_TRUE(store_->create_mailbox(kUser, "Done").is_ok());
  ASSERT_TRUE(store_->move(kUser, "Team", {2}, "Done").is_ok());
  EXPECT_EQ(marks(kBob).size(), 1u);
  EXPECT_EQ(marks(kCarol).size(), 0u);
  ASSERT_TRUE(store_->forget_reader(kUser, kBob, "Team").is_ok());
  EXPECT_TRUE(marks(kBob).empty());
  ASSERT_TRUE(mark(kBob, {3}, FlagOp::add, kSeen).is_ok());
  ASSERT_TRUE(store_->forget_reader(kUser, kBob, "").is_ok());
  EXPECT_TRUE(marks(kBob).empty());
  ASSERT_TRUE(mark(kBob, {3}, FlagOp::add, kSeen).is_ok());
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Team").is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "Team").is_ok());
  EXPECT_TRUE(marks(kBob).empty());
}

TEST_F(SeenByTest, Version7IndexGetsTheTable) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((options_.root + "/" + kUser + "/index.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "DROP TABLE seen_by; UPDATE meta SET value=7 WHERE key='schema_version';",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  store_ = open_file_store(options_);
  ASSERT_TRUE(mark(kBob, {1}, FlagOp::add, kSeen).is_ok());
  EXPECT_EQ(marks(kBob).size(), 1u);
}

}  // namespace
}  // namespace mailroom::store::testing
