// Mail recall in the store: the guid of an append, "opened" evidence (seen_at / seen_via) and
// the migration of a version-1 index.
#include <sqlite3.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <thread>

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
  EXPECT_EQ(m.retrieved_at, 1650000000);
  EXPECT_EQ(*store_->read_message(kUser, "INBOX", 7), body_);
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 2);
  EXPECT_EQ(sql_int("SELECT count(*) FROM pragma_table_info('messages') WHERE name IN "
                    "('seen_at','seen_via')"),
            2);
  // Everything of version 2 works on it.
  StoreFlagsRequest f;
  f.uids = {7};
  f.op = FlagOp::replace;
  f.flags = kFlagged;
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  f.flags = kSeen;
  f.origin = "imap";
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  EXPECT_EQ(only("INBOX").seen_via, "imap");
  EXPECT_TRUE(fsck().consistent());
  // Opening again (another store object, as mailroomctl would) changes nothing.
  store_.reset();
  store_ = open_file_store(options_);
  EXPECT_EQ(only("INBOX").seen_via, "imap");
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 2);
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
    EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 2);
  }
  store_ = open_file_store(options_);
  EXPECT_TRUE(fsck().consistent());
}

TEST_F(MigrationTest, NewIndexStartsAtVersion2AndANewerOneIsRefused) {
  put("INBOX", message("1"));
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 2);
  store_.reset();
  sql("UPDATE meta SET value=3 WHERE key='schema_version'");
  store_ = open_file_store(options_);
  EXPECT_FALSE(store_->snapshot(kUser, "INBOX").is_ok());
  auto report = fsck_user(options_, kUser, FsckOptions{true, 0});
  EXPECT_FALSE(report.is_ok());  // neither "repaired" nor rebuilt
  EXPECT_EQ(sql_int("SELECT value FROM meta WHERE key='schema_version'"), 3);
}

}  // namespace
}  // namespace mailroom::store::testing
