// A thin RAII layer over the SQLite C API for auth/local (internal header).
// Errors map to core codes: BUSY/LOCKED -> unavailable, CONSTRAINT -> already_exists,
// IOERR/FULL/CANTOPEN -> io_error, anything else -> internal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "src/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mailroom::auth::sqlite {

core::Status error_status(sqlite3* db, int rc, const std::string& what);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();  // resets (statements are cached by Db, not finalized here)

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, int64_t value);
  // Runs one step: true = a row is available, false = done. Errors go to *status.
  bool step(core::Status* status);
  // Runs to completion (for statements without rows).
  core::Status run();

  std::string text(int column) const;
  int64_t integer(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  core::Status open(const std::string& path, int busy_timeout_ms, bool create);
  core::Status exec(const std::string& sql);
  // A cached prepared statement (reset and with bindings cleared on destruction of Stmt).
  core::Result<Stmt> prepare(const std::string& sql);
  int64_t changes() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace mailroom::auth::sqlite
