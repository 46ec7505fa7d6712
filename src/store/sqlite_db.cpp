#include "src/store/sqlite_db.h"

#include <sqlite3.h>

#include <cstdlib>

#include "src/core/log.h"
#include "src/core/sqlite_wal.h"

namespace mailroom::store {

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view v) {
  sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

bool Stmt::step(core::Status* error) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  auto code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? core::Code::busy : core::Code::io_error;
  std::string detail = std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(s_));
  if (rc == SQLITE_CONSTRAINT) code = core::Code::already_exists;
  if (error) *error = core::Status::error(code, "mail store error", detail);
  return false;
}

core::Status Stmt::run() {
  core::Status st;
  while (step(&st)) {
  }
  return st;
}

int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }
std::string Stmt::text(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  if (db_) sqlite3_close(db_);
}

core::Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool durable,
                                           const std::string& vfs) {
  auto db = std::unique_ptr<Db>(new Db());
  int rc = sqlite3_open_v2(path.c_str(), &db->db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    return core::io_error("cannot open mail index",
                          path + ": " + (db->db_ ? sqlite3_errmsg(db->db_) : "out of memory"));
  }
  sqlite3_busy_timeout(db->db_, 10000);
  core::Status st;
  rc = core::sqlite_enable_wal(db->db_);  // retried: concurrent first opens of a new user
  if (rc != SQLITE_OK) {
    st = core::Status::error((rc & 0xff) == SQLITE_BUSY ? core::Code::busy : core::Code::io_error,
                             "mail store error",
                             path + ": PRAGMA journal_mode=WAL: " + sqlite3_errstr(rc));
  }
  if (st.is_ok()) st = db->exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
  if (!st.is_ok()) return st;
  return db;
}

core::Status Db::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return core::Status::ok();
  std::string detail = std::string("sqlite: ") + (err ? err : sqlite3_errstr(rc)) + " in " + sql;
  sqlite3_free(err);
  auto code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? core::Code::busy : core::Code::io_error;
  return core::Status::error(code, "mail store error", detail);
}

std::unique_ptr<Stmt> Db::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return std::make_unique<Stmt>(it->second);
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    // A bug in our own SQL: cannot happen after start-up (STYLE.md "Errors").
    MR_LOG_ERROR("event=store_sql_error error={} sql={}", core::quote(sqlite3_errmsg(db_)),
                 core::quote(sql));
    std::abort();
  }
  cache_[sql] = s;
  return std::make_unique<Stmt>(s);
}

void Db::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
int64_t Db::changes() const { return sqlite3_changes(db_); }
std::string Db::last_error() const { return sqlite3_errmsg(db_); }

}  // namespace mailroom::store
