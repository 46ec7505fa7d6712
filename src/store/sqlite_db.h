// A thin RAII layer over the SQLite C API for the per-user index: one connection, prepared
// statements cached by SQL text, explicit transactions. Not thread-safe: the owner locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "src/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mailroom::store {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt();  // resets and clears bindings (the statement stays cached)
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);  // TEXT
  Stmt& bind_blob(int i, std::string_view v);
  Stmt& bind_null(int i);
  // true: a row is available; false: done. Errors set *error (when given) and return false.
  bool step(core::Status* error = nullptr);
  core::Status run();  // steps to completion
  int64_t i64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3_stmt* s_;
};

class Db {
 public:
  ~Db();
  // Opens (creating) the database at `path`; durable=true: WAL + synchronous=FULL.
  // `vfs`: the name of a registered SQLite VFS, empty for the default (StoreOptions::sqlite_vfs).
  static core::Result<std::unique_ptr<Db>> open(const std::string& path, bool durable,
                                                const std::string& vfs = "");

  core::Status exec(const char* sql);
  // A cached prepared statement (keyed by the literal's address); aborts on a bug in the SQL.
  std::unique_ptr<Stmt> prepare(const char* sql);
  core::Status begin_immediate() { return exec("BEGIN IMMEDIATE"); }
  core::Status commit() { return exec("COMMIT"); }
  void rollback();
  int64_t changes() const;
  std::string last_error() const;
  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> cache_;
};

// Rolls back unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction() {
    if (open_) db_.rollback();
  }
  core::Status begin() {
    auto s = db_.begin_immediate();
    open_ = s.is_ok();
    return s;
  }
  core::Status commit() {
    auto s = db_.commit();
    if (s.is_ok()) open_ = false;
    return s;
  }

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace mailroom::store
