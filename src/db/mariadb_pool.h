// A pool of MariaDB connections with prepared statements, failover and reconnection.
//
// The pool owns up to `pool_size` connections. Each connection is opened to the first server
// of `servers` that answers (servers that failed recently are tried last), and prepares every
// statement of the pool once. A query runs on an idle connection; when the connection turns
// out to be dead (server restarted, network cut, Galera node left the cluster) the pool drops
// every connection made to that server before the failure and retries on a fresh connection,
// which may land on the next server. Only after every server has failed does a query return
// Code::unavailable. SQL errors that are not about the connection (a dropped table) also give
// Code::unavailable: a directory that cannot answer is "could not tell", never "not found".
//
// Threading: thread-safe; every call blocks up to the configured timeouts. Call from the
// worker pool. mysql.h stays in mariadb_pool.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/core/status.h"
#include "src/db/mariadb_options.h"

namespace mailroom::db {

// Rows of one result; every value as text (NULL = nullopt).
struct SqlRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  uint64_t affected_rows = 0;
  uint64_t insert_id = 0;
  // Index of `name` in columns (case-insensitive), or -1.
  int column(const std::string& name) const;
};

// Why the first connection could not be made or a statement could not be prepared.
struct PoolProblem {
  enum class Kind { none, unreachable, credentials, database, statement };
  Kind kind = Kind::none;
  size_t statement = 0;  // for Kind::statement: which one
  std::string message;   // the server's words, for the admin
};

class MariaDbPool {
 public:
  // `statements` are '?'-form SQL texts; query() refers to them by index.
  MariaDbPool(MariaDbOptions options, std::vector<std::string> statements);
  ~MariaDbPool();
  MariaDbPool(const MariaDbPool&) = delete;
  MariaDbPool& operator=(const MariaDbPool&) = delete;

  // Opens one connection now and prepares every statement on it. On success `columns` (if
  // given) receives the result columns of each statement (empty for statements without a
  // result set) and the connection stays in the pool.
  PoolProblem check(std::vector<std::vector<std::string>>* columns);

  // Runs statement `index` with `params` bound as strings, in order.
  core::Result<SqlRows> query(size_t index, const std::vector<std::string>& params);

  // Runs `sql` ('?' placeholders) with `params`, preparing it on the connection the first time
  // (statements built at run time, e.g. searches with optional conditions; cached per
  // connection). Same retry and error rules as query().
  core::Result<SqlRows> query_sql(const std::string& sql, const std::vector<std::string>& params);

  // Runs the statements in one transaction on one connection: all or none. A connection lost
  // before COMMIT is retried on a fresh connection; one lost during COMMIT is not (the
  // outcome is unknown) and gives Code::unavailable.
  using Statement = std::pair<std::string, std::vector<std::string>>;
  core::Status transaction(const std::vector<Statement>& statements);

  // Runs a fixed statement without parameters through the text protocol (DDL at start-up:
  // never with user input).
  core::Status execute_text(const std::string& sql);

  // Number of connections currently open (for tests and metrics).
  size_t open_connections() const;

  const MariaDbOptions& options() const { return options_; }

 private:
  struct Impl;
  template <class Attempt>
  core::Result<SqlRows> with_connection(Attempt&& attempt);
  MariaDbOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::db
