// The one SQLite wrapper: a connection with cached prepared statements, explicit transactions
// and the set-up every Mailroom database shares (WAL, busy timeout, synchronous, optionally a
// private file). Its users: the local directory and the credential cache (auth/), the per-user
// mail index (src/store), the SQLite delivery log (src/queue).
//
// Errors: every failure is a core::Status whose log detail names SQLite's message and the
// statement or file. Its code and client-safe text come from the database's SqliteErrorStyle,
// because the callers' callers expect different ones (a busy mail index is Code::busy, which
// IMAP answers with [INUSE]; a busy directory is Code::unavailable, a 4xx "try later").
//
// Threading: a connection is used by one thread at a time; its owner locks (SQLite is opened
// without its own mutex). Several connections and processes may open one file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "src/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mailroom::db {

// The kinds of failure a caller tells apart.
enum class SqliteFailure {
  busy,        // SQLITE_BUSY / SQLITE_LOCKED: another connection held the lock past the timeout
  constraint,  // SQLITE_CONSTRAINT: a UNIQUE, NOT NULL, CHECK or trigger refused the write
  io,          // SQLITE_IOERR, FULL, CANTOPEN, READONLY, PERM: the disk or the file's modes
  missing,     // open() with create = false and no file
  other,       // anything else: corruption, an SQL error, out of memory
};

// Turns a failure into the Status a database's callers expect; `log_detail` is SQLite's words.
using SqliteErrorStyle = core::Status (*)(SqliteFailure kind, std::string log_detail);

// The default style: busy -> unavailable, constraint -> already_exists, io -> io_error,
// missing -> not_found, other -> internal.
core::Status default_sqlite_errors(SqliteFailure kind, std::string log_detail);

struct SqliteOptions {
  std::string path;
  bool create = true;  // false: a missing file is SqliteFailure::missing
  // Create the file 0600 before SQLite opens it (SQLite gives the -wal and -shm files the mode
  // of the database file) and narrow the three files to 0600 when they already exist wider.
  bool private_file = false;
  // How long a statement waits for another connection's lock; also how long open() retries
  // the switch to WAL, which SQLite refuses without waiting when connections race to make it.
  int busy_timeout_ms = 5000;
  enum class Sync { off, normal, full };
  Sync synchronous = Sync::normal;  // PRAGMA synchronous; every database runs in WAL mode
  bool foreign_keys = false;        // PRAGMA foreign_keys=ON
  // Keep the -wal and -shm files when the last connection closes (SQLITE_FCNTL_PERSIST_WAL; the
  // WAL is truncated to 0 bytes instead). For databases opened and closed by the thousand (the
  // store's per-user indexes): creating and unlinking two files per open was most of the cost.
  bool persist_wal = false;
  std::string vfs;  // the name of a registered SQLite VFS; empty: the default
  SqliteErrorStyle errors = default_sqlite_errors;
};

class Sqlite;

// A cached prepared statement, borrowed from its connection: the destructor resets it and
// clears its bindings, the connection finalizes it. Bind indexes and columns count as SQLite
// counts them (bind from 1, columns from 0).
class Stmt {
 public:
  Stmt(Stmt&& o) noexcept : owner_(o.owner_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view text);  // TEXT
  Stmt& bind_blob(int index, std::string_view bytes);
  Stmt& bind_null(int index);
  // One step: true when a row is available, false when done or failed (the failure goes to
  // *error when given).
  bool step(core::Status* error = nullptr);
  // Steps to completion (statements without rows).
  core::Status run();
  // Ends the current use now instead of at destruction (a read that leaves a transaction
  // alone); the next step() starts again with no bindings.
  void reset();

  int64_t i64(int column) const;
  std::string text(int column) const;  // the bytes of a TEXT or BLOB column; "" for NULL
  bool is_null(int column) const;

 private:
  friend class Sqlite;
  Stmt(const Sqlite* owner, sqlite3_stmt* stmt) : owner_(owner), stmt_(stmt) {}

  const Sqlite* owner_;
  sqlite3_stmt* stmt_;
};

class Sqlite {
 public:
  static core::Result<std::unique_ptr<Sqlite>> open(const SqliteOptions& options);
  ~Sqlite();
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  // Runs one or more statements without results (DDL, PRAGMA, migrations).
  core::Status exec(const char* sql);
  core::Status exec(const std::string& sql) { return exec(sql.c_str()); }

  // The statement for `sql`, prepared on first use and cached by its text: one Stmt per text
  // may be alive at a time. A failure (a busy or damaged file, a bug in the SQL) is a Status.
  core::Result<Stmt> prepare(std::string_view sql);
  // For SQL fixed in the source, where a failure is a bug: logged, then abort() (STYLE.md
  // "Errors").
  Stmt prepare_or_abort(std::string_view sql);

  // BEGIN IMMEDIATE takes the write lock at once, so a transaction that read first never
  // fails at its first write (use Transaction for the usual begin / commit / roll back).
  core::Status begin_immediate() { return exec("BEGIN IMMEDIATE"); }
  core::Status commit() { return exec("COMMIT"); }
  void rollback();  // a no-op without an open transaction

  int64_t changes() const;  // rows changed by the last INSERT, UPDATE or DELETE

  // fsyncs the write-ahead log: after synchronous=NORMAL commits, makes them durable.
  core::Status sync_wal();

  // Closing leaves the WAL as it is (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): no checkpoint, no
  // fsyncs, no truncation. Committed transactions are in the WAL, durable as committed; the next
  // connection recovers the WAL and a later checkpoint copies it into the database.
  void skip_checkpoint_on_close();

 private:
  friend class Stmt;
  // The Status for SQLite result code `rc` on this connection; `what` leads the log detail.
  core::Status error(int rc, std::string_view what) const;
  Sqlite(std::string path, SqliteErrorStyle errors) : path_(std::move(path)), errors_(errors) {}
  core::Status set_up(const SqliteOptions& options);

  sqlite3* db_ = nullptr;
  std::string path_;
  SqliteErrorStyle errors_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// A write transaction that rolls back unless committed:
//   Transaction tx(db);
//   if (auto s = tx.begin(); !s) return s;
//   ... statements ...
//   return tx.commit();  // a failed COMMIT is rolled back too
class Transaction {
 public:
  explicit Transaction(Sqlite& db) : db_(db) {}
  ~Transaction() {
    if (open_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

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
  Sqlite& db_;
  bool open_ = false;
};

}  // namespace mailroom::db
