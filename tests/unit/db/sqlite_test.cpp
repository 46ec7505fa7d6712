// The SQLite wrapper (src/db/sqlite.h): transactions that roll back, busy waits that end in the
// style's code, private file modes, the statement cache, concurrent first opens in WAL mode.
#include "src/db/sqlite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/auth/test_util.h"  // TempDir

namespace mailroom::db {
namespace {

using mailroom::testing::TempDir;

std::unique_ptr<Sqlite> open_ok(SqliteOptions o) {
  auto db = Sqlite::open(o);
  if (!db) ADD_FAILURE() << o.path << ": " << db.status().to_string();
  return db ? std::move(db).value() : nullptr;
}

std::unique_ptr<Sqlite> open_ok(const std::string& path) {
  SqliteOptions o;
  o.path = path;
  return open_ok(o);
}

int64_t count(Sqlite& db, const std::string& table) {
  auto q = db.prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(q) << q.status().to_string();
  if (!q) return -1;
  core::Status st;
  EXPECT_TRUE(q->step(&st)) << st.to_string();
  return q->i64(0);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

// The store's style (src/store): a busy index is Code::busy, which IMAP shows as [INUSE].
core::Status busy_is_busy(SqliteFailure kind, std::string detail) {
  if (kind == SqliteFailure::busy) return core::Status::error(core::Code::busy, "x", detail);
  return default_sqlite_errors(kind, std::move(detail));
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  TempDir tmp;
  auto db = open_ok(tmp.file("t.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(k TEXT PRIMARY KEY)"));
  auto insert = [&](const std::string& k) {
    return db->prepare_or_abort("INSERT INTO t(k) VALUES (?)").bind(1, k).run();
  };
  {
    Transaction tx(*db);
    ASSERT_TRUE(tx.begin());
    ASSERT_TRUE(insert("a"));
    auto dup = insert("a");
    EXPECT_EQ(dup.code(), core::Code::already_exists) << dup.to_string();
    // Returning here, as a caller does on the error: no commit.
  }
  EXPECT_EQ(count(*db, "t"), 0);
  {
    Transaction tx(*db);
    ASSERT_TRUE(tx.begin());
    ASSERT_TRUE(insert("b"));
    ASSERT_TRUE(tx.commit());
  }
  db.reset();
  db = open_ok(tmp.file("t.db"));
  EXPECT_EQ(count(*db, "t"), 1);
}

TEST(Sqlite, FailedCommitIsRolledBack) {
  TempDir tmp;
  SqliteOptions o;
  o.path = tmp.file("fk.db");
  o.foreign_keys = true;
  auto db = open_ok(o);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec(
      "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
      "CREATE TABLE child(p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"));
  {
    Transaction tx(*db);
    ASSERT_TRUE(tx.begin());
    ASSERT_TRUE(db->prepare_or_abort("INSERT INTO child(p) VALUES (7)").run());
    // The deferred foreign key fails at COMMIT, which leaves the transaction open.
    auto st = tx.commit();
    EXPECT_EQ(st.code(), core::Code::already_exists) << st.to_string();
  }
  EXPECT_EQ(count(*db, "child"), 0);
  Transaction next(*db);
  EXPECT_TRUE(next.begin());  // not "cannot start a transaction within a transaction"
}

TEST(Sqlite, BusyEndsAfterTheTimeoutInTheStylesCode) {
  TempDir tmp;
  auto holder = open_ok(tmp.file("busy.db"));
  ASSERT_TRUE(holder);
  ASSERT_TRUE(holder->exec("CREATE TABLE t(x)"));
  SqliteOptions o;
  o.path = tmp.file("busy.db");
  o.busy_timeout_ms = 300;
  auto waiter = open_ok(o);
  o.errors = busy_is_busy;
  auto store_like = open_ok(o);
  ASSERT_TRUE(waiter && store_like);

  Transaction held(*holder);
  ASSERT_TRUE(held.begin());
  auto start = std::chrono::steady_clock::now();
  auto st = waiter->begin_immediate();
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), core::Code::unavailable) << st.to_string();
  EXPECT_GE(waited, std::chrono::milliseconds(250));  // the busy handler waited, then gave up
  EXPECT_EQ(store_like->begin_immediate().code(), core::Code::busy);
  // A reader is never blocked by the writer (WAL).
  EXPECT_EQ(count(*waiter, "t"), 0);

  // The lock released within the timeout: the waiter gets it.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(held.commit());
  });
  Transaction mine(*waiter);
  EXPECT_TRUE(mine.begin());
  release.join();
}

TEST(Sqlite, PrivateFileModes) {
  TempDir tmp;
  mode_t old = ::umask(022);
  SqliteOptions o;
  o.path = tmp.file("private.db");
  o.private_file = true;
  {
    auto db = open_ok(o);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      EXPECT_EQ(mode_of(o.path + suffix), 0600u) << suffix;
    }
  }
  // Without the option the umask decides: what the option is for.
  {
    auto db = open_ok(tmp.file("plain.db"));
    ASSERT_TRUE(db);
    EXPECT_EQ(mode_of(tmp.file("plain.db")), 0644u);
  }
  // A file an older version left readable is narrowed, its WAL too (the last close removed
  // the WAL; an empty one is what a crash leaves).
  ASSERT_EQ(::chmod(o.path.c_str(), 0644), 0);
  std::ofstream(o.path + "-wal").flush();
  ASSERT_EQ(mode_of(o.path + "-wal"), 0644u);
  {
    auto db = open_ok(o);
    ASSERT_TRUE(db);
    EXPECT_EQ(count(*db, "t"), 1);
    EXPECT_EQ(mode_of(o.path), 0600u);
    EXPECT_EQ(mode_of(o.path + "-wal"), 0600u);
  }
  ::umask(old);
}

TEST(Sqlite, MissingFileWithoutCreate) {
  TempDir tmp;
  for (bool private_file : {false, true}) {
    SqliteOptions o;
    o.path = tmp.file("nope.db");
    o.create = false;
    o.private_file = private_file;
    EXPECT_EQ(Sqlite::open(o).code(), core::Code::not_found);
    EXPECT_FALSE(std::filesystem::exists(o.path));
  }
}

TEST(Sqlite, UnopenableFileIsAnIoError) {
  auto db = Sqlite::open(SqliteOptions{.path = "/proc/mailroom-cannot-be-here/x.db"});
  EXPECT_EQ(db.code(), core::Code::io_error) << db.status().to_string();
}

TEST(Sqlite, StatementsAreCachedAndResetBetweenUses) {
  TempDir tmp;
  auto db = open_ok(tmp.file("c.db"));
  ASSERT_TRUE(db);
  {
    auto q = db->prepare("SELECT ?1, ?2");
    ASSERT_TRUE(q);
    q->bind(1, int64_t{5}).bind_blob(2, std::string("a\0b", 3));
    ASSERT_TRUE(q->step());
    EXPECT_EQ(q->i64(0), 5);
    EXPECT_EQ(q->text(1), std::string("a\0b", 3));
  }
  auto again = db->prepare("SELECT ?1, ?2");
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->step());  // from the start again, bindings cleared
  EXPECT_TRUE(again->is_null(0));
  EXPECT_EQ(again->text(1), "");
}

TEST(Sqlite, BadSqlIsAStatusOrAnAbort) {
  TempDir tmp;
  auto db = open_ok(tmp.file("bad.db"));
  ASSERT_TRUE(db);
  auto q = db->prepare("SELEC 1");
  EXPECT_EQ(q.code(), core::Code::internal);
  EXPECT_NE(q.status().log_detail().find("SELEC 1"), std::string::npos);
  EXPECT_EQ(db->exec("CREATE TABLE").code(), core::Code::internal);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(db->prepare_or_abort("SELEC 1"), "");  // the log line goes to stdout
}

TEST(Sqlite, SyncWal) {
  TempDir tmp;
  auto db = open_ok(tmp.file("w.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"));
  EXPECT_TRUE(db->sync_wal());
}

// With a single attempt to switch to WAL instead of the retry, this test saw 2 of its 1,200
// opens fail with SQLITE_BUSY despite the busy timeout (the race is rare: a regression may
// slip through one run).
uintmax_t size_or_none(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? static_cast<uintmax_t>(-1) : n;
}

// Default: the last close checkpoints and deletes the -wal and -shm files. persist_wal: they
// stay, the WAL emptied; skip_checkpoint_on_close: the WAL keeps its committed frames, which the
// next connection reads.
TEST(Sqlite, PersistWalAndCloseWithoutCheckpoint) {
  TempDir tmp;
  std::string plain = tmp.file("plain.db"), kept = tmp.file("kept.db");
  {
    auto db = open_ok(plain);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"));
  }
  EXPECT_FALSE(std::filesystem::exists(plain + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(plain + "-shm"));

  SqliteOptions o;
  o.path = kept;
  o.persist_wal = true;
  {
    auto db = open_ok(o);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"));
    EXPECT_GT(size_or_none(kept + "-wal"), 0u);
  }
  EXPECT_EQ(size_or_none(kept + "-wal"), 0u);
  EXPECT_TRUE(std::filesystem::exists(kept + "-shm"));
  {
    auto db = open_ok(o);
    ASSERT_TRUE(db);
    EXPECT_EQ(count(*db, "t"), 1);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
    db->skip_checkpoint_on_close();
  }
  auto frames = size_or_none(kept + "-wal");
  EXPECT_GT(frames, 0u);
  EXPECT_NE(frames, static_cast<uintmax_t>(-1));
  {
    auto db = open_ok(o);  // recovers the WAL: the second row is there
    ASSERT_TRUE(db);
    EXPECT_EQ(count(*db, "t"), 2);
  }
  EXPECT_EQ(size_or_none(kept + "-wal"), 0u);  // and this close checkpointed it
}

TEST(Sqlite, ConcurrentFirstOpensAllSwitchToWal) {
  TempDir tmp;
  constexpr int kRounds = 400;
  constexpr int kOpeners = 3;
  std::atomic<int> failures{0};
  std::atomic<int> not_wal{0};
  for (int round = 0; round < kRounds; ++round) {
    SqliteOptions o;
    o.path = tmp.file(std::to_string(round) + ".db");
    o.busy_timeout_ms = 10000;
    std::barrier sync(kOpeners);
    std::vector<std::thread> threads;
    for (int t = 0; t < kOpeners; ++t) {
      threads.emplace_back([&] {
        sync.arrive_and_wait();
        auto db = Sqlite::open(o);
        if (!db) {
          ++failures;
          return;
        }
        // What the store does next: the schema, written by whichever opener gets there first.
        if (!(*db)->exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);"
                         "CREATE TABLE IF NOT EXISTS more(a);")) {
          ++failures;
        }
        auto q = (*db)->prepare("PRAGMA journal_mode");
        if (!q || !q->step() || q->text(0) != "wal") ++not_wal;
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(not_wal.load(), 0);
}

}  // namespace
}  // namespace mailroom::db
