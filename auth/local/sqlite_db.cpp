#include "auth/local/sqlite_db.h"

#include <sqlite3.h>

#include <chrono>

#include "src/core/sqlite_wal.h"

namespace mailroom::auth::sqlite {

core::Status error_status(sqlite3* db, int rc, const std::string& what) {
  std::string detail = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::unavailable("directory database busy", detail);
    case SQLITE_CONSTRAINT:
      return core::Status::error(core::Code::already_exists, "already exists", detail);
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return core::io_error("directory database error", detail);
    default:
      return core::internal_error(detail);
  }
}

Stmt::~Stmt() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

bool Stmt::step(core::Status* status) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  *status = error_status(db_, rc, sqlite3_sql(stmt_));
  return false;
}

core::Status Stmt::run() {
  core::Status st;
  while (step(&st)) {
  }
  return st;
}

std::string Stmt::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Stmt::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  if (db_) sqlite3_close_v2(db_);
}

core::Status Db::open(const std::string& path, int busy_timeout_ms, bool create) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto st = error_status(db_, rc, "open " + path);
    if (!create && (rc & 0xff) == SQLITE_CANTOPEN) {
      return core::not_found("directory database " + path + " does not exist");
    }
    return st;
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  sqlite3_extended_result_codes(db_, 1);
  // WAL: readers (mailroomd) never block the writer (mailroomctl) and vice versa. Retried:
  // two processes may create the directory database at once.
  rc = core::sqlite_enable_wal(db_, std::chrono::milliseconds(busy_timeout_ms));
  if (rc != SQLITE_OK) return error_status(db_, rc, "PRAGMA journal_mode=WAL on " + path);
  for (const char* pragma : {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    auto st = exec(pragma);
    if (!st) return st;
  }
  return core::Status::ok();
}

core::Status Db::exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return error_status(nullptr, rc, msg);
  }
  return core::Status::ok();
}

core::Result<Stmt> Db::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error_status(db_, rc, "prepare " + sql);
    it = cache_.emplace(sql, stmt).first;
  }
  return Stmt(db_, it->second);
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }

}  // namespace mailroom::auth::sqlite
