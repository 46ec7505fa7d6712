#include "src/db/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "src/core/log.h"
#include "src/db/sqlite_heap.h"

namespace mailroom::db {
namespace {

SqliteFailure classify(int rc) {
  switch (rc & 0xff) {  // connections report extended codes (SQLITE_BUSY_SNAPSHOT, ...)
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return SqliteFailure::busy;
    case SQLITE_CONSTRAINT:
      return SqliteFailure::constraint;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return SqliteFailure::io;
    default:
      return SqliteFailure::other;
  }
}

// PRAGMA journal_mode=WAL, retried while SQLite answers SQLITE_BUSY, for up to `patience`.
// Connections that open a new database at once each need an exclusive lock to switch it to WAL;
// SQLite refuses one of them with SQLITE_BUSY at once, without calling the busy handler
// (deadlock avoidance), so sqlite3_busy_timeout does not cover it (a Python reproduction: 128
// of 4,500 concurrent first opens failed with "database is locked"). Returns the SQLite result
// code of the last attempt.
int enable_wal(sqlite3* db, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
}

// Migrations are whole files: the log detail names their start.
std::string shortened(std::string_view sql) {
  constexpr size_t kMax = 200;
  return sql.size() <= kMax ? std::string(sql) : std::string(sql.substr(0, kMax)) + "...";
}

const char* synchronous_pragma(SqliteOptions::Sync sync) {
  switch (sync) {
    case SqliteOptions::Sync::off:
      return "PRAGMA synchronous=OFF";
    case SqliteOptions::Sync::normal:
      return "PRAGMA synchronous=NORMAL";
    case SqliteOptions::Sync::full:
      return "PRAGMA synchronous=FULL";
  }
  return "PRAGMA synchronous=FULL";
}

}  // namespace

core::Status default_sqlite_errors(SqliteFailure kind, std::string log_detail) {
  switch (kind) {
    case SqliteFailure::busy:
      return core::unavailable("database busy", std::move(log_detail));
    case SqliteFailure::constraint:
      return core::Status::error(core::Code::already_exists, "already exists",
                                 std::move(log_detail));
    case SqliteFailure::io:
      return core::io_error("database error", std::move(log_detail));
    case SqliteFailure::missing:
      return core::not_found("database does not exist", std::move(log_detail));
    case SqliteFailure::other:
      break;
  }
  return core::internal_error(std::move(log_detail));
}

Stmt::~Stmt() { reset(); }

void Stmt::reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Stmt::step(core::Status* error) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (error) *error = owner_->error(rc, shortened(sqlite3_sql(stmt_)));
  return false;
}

core::Status Stmt::run() {
  core::Status st;
  while (step(&st)) {
  }
  return st;
}

int64_t Stmt::i64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Stmt::text(int column) const {
  // The blob accessor: the same bytes as the text one, without a conversion of BLOB columns.
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

core::Result<std::unique_ptr<Sqlite>> Sqlite::open(const SqliteOptions& options) {
  // SQLite keeps memory statistics under one process-wide mutex taken by every allocation:
  // with many connections on many threads (the store's per-user indexes) threads queued on it
  // more than on the disk. Nothing reads the statistics. SQLite's memory comes from a heap of
  // its own (sqlite_heap.h: a closed index leaves no partly used pages among long-lived
  // blocks). Both must precede sqlite3_initialize(); if something in the process initialised
  // SQLite first, the calls fail and change nothing.
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    install_sqlite_heap();
  });
  std::unique_ptr<Sqlite> db(new Sqlite(options.path, options.errors));
  if (auto st = db->set_up(options); !st) return st;
  return db;
}

core::Status Sqlite::set_up(const SqliteOptions& o) {
  if (o.private_file) {
    int fd = ::open(path_.c_str(), (o.create ? O_CREAT : 0) | O_RDONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno != ENOENT || o.create)) {
      return errors_(SqliteFailure::io, "create " + path_ + ": " + std::strerror(errno));
    }
    if (fd >= 0) {
      int rc = ::fchmod(fd, 0600);
      int err = errno;
      ::close(fd);
      if (rc != 0) {
        return errors_(SqliteFailure::io, "chmod 0600 " + path_ + ": " + std::strerror(err));
      }
    }
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (o.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, o.vfs.empty() ? nullptr : o.vfs.c_str());
  if (rc != SQLITE_OK) {
    if (!o.create && (rc & 0xff) == SQLITE_CANTOPEN) {
      return errors_(SqliteFailure::missing, path_ + " does not exist");
    }
    return error(rc, "open " + path_);
  }
  sqlite3_busy_timeout(db_, o.busy_timeout_ms);
  sqlite3_extended_result_codes(db_, 1);
  // WAL: readers never block the writer and the other way round, across processes too
  // (mailroomd reads what mailroomctl writes).
  rc = enable_wal(db_, std::chrono::milliseconds(o.busy_timeout_ms));
  if (rc != SQLITE_OK) return error(rc, "PRAGMA journal_mode=WAL on " + path_);
  if (auto st = exec(synchronous_pragma(o.synchronous)); !st) return st;
  if (o.persist_wal) {
    int on = 1;
    sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
    // A limit makes the close truncate the kept WAL (and a checkpoint trim a grown one).
    if (auto st = exec("PRAGMA journal_size_limit=4194304"); !st) return st;
  }
  if (o.foreign_keys) {
    if (auto st = exec("PRAGMA foreign_keys=ON"); !st) return st;
  }
  // Files left wider by an older version; new ones already have the database file's mode.
  if (o.private_file) {
    for (const char* suffix : {"-wal", "-shm"}) ::chmod((path_ + suffix).c_str(), 0600);
  }
  return core::Status::ok();
}

Sqlite::~Sqlite() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

core::Status Sqlite::error(int rc, std::string_view what) const {
  std::string detail(what);
  detail += ": ";
  detail += db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return errors_(classify(rc), std::move(detail));
}

core::Status Sqlite::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return core::Status::ok();
  std::string detail = shortened(sql) + ": " + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return errors_(classify(rc), std::move(detail));
}

core::Result<Stmt> Sqlite::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, "prepare " + shortened(sql));
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Stmt(this, it->second);
}

Stmt Sqlite::prepare_or_abort(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) {
    MR_LOG_ERROR("event=sql_bug path={} error={}", core::quote(path_),
                 core::quote(stmt.status().log_detail()));
    std::abort();
  }
  return std::move(stmt).value();
}

void Sqlite::rollback() {
  // SQLite may have rolled back already (it does on some I/O and memory errors).
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

int64_t Sqlite::changes() const { return sqlite3_changes64(db_); }

void Sqlite::skip_checkpoint_on_close() {
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

core::Status Sqlite::sync_wal() {
  // SQLITE_FCNTL_JOURNAL_POINTER names the WAL file in WAL mode, which open() sets.
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc != SQLITE_OK || wal == nullptr || wal->pMethods == nullptr) {
    return errors_(SqliteFailure::io, path_ + ": no open WAL to fsync");
  }
  rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) {
    return errors_(classify(rc), path_ + ": fsync of the WAL: " + sqlite3_errstr(rc));
  }
  return core::Status::ok();
}

}  // namespace mailroom::db
