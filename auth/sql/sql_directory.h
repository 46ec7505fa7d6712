// The SQL directory backend ([directory] backend = "sql"): accounts, aliases, groups and
// domains read from MariaDB (or MySQL) with configurable queries. See auth/sql/README.md.
//
// open_sql_directory compiles every query, connects to the first reachable server and
// prepares every statement there, so wrong credentials, a missing table or a wrong column are
// reported at start-up (and by --check-config) naming the setting. When no server answers at
// start-up the directory opens anyway (unless require_server_at_start) and lookups answer
// Code::unavailable until one is back: a directory outage defers mail, never bounces it.
//
// Threading: the returned Directory is thread-safe and blocking (worker pool only).
#pragma once

#include <memory>
#include <string>

#include "auth/directory.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth {

namespace sql {
struct SqlDirectoryOptions;

// An account as listed for the sync, with what the Directory read API does not expose.
struct ListedAccount {
  Account account;
  std::string scram_secret;
  std::string changed_at;  // as the database formats it; compared as text by the sync
};

// Listings the sync into the local replica uses (auth/sync/sql_sync.h). Implemented by the
// live SQL directory; the list_* queries are prepared only when [directory.sql.sync] is on.
class SqlListing {
 public:
  virtual ~SqlListing() = default;
  // Every account (since empty), or those with changed_at >= since.
  virtual Result<std::vector<ListedAccount>> list_accounts(const std::string& since) = 0;
  virtual Result<std::vector<Alias>> list_aliases() = 0;
  virtual Result<std::vector<Group>> list_groups() = 0;
};

// Opens the live SQL directory itself (never the replica wrapper), for the sync and tools.
Result<std::shared_ptr<SqlListing>> open_sql_listing(const SqlDirectoryOptions& opts);
}  // namespace sql

// Reads [directory.sql] (calls section.finish()) and opens the directory. Problems found while
// parsing are added to the section's ConfigErrors like every section's (the returned status
// repeats the first); problems found while connecting (credentials, database, a query the
// server rejects, a missing result column) are only returned. Both are Code::invalid_argument
// whose message starts with "file:line: directory.sql.<key>".
// `start_sync` false: a replica without its background sync (auth/directory_registry.h).
core::Result<std::shared_ptr<Directory>> open_sql_directory(core::ConfigSection& sql_section,
                                                            const std::string& data_dir,
                                                            bool start_sync = true);

// Opens from parsed options (tests, tools). Errors name the option key without file:line.
core::Result<std::shared_ptr<Directory>> open_sql_directory(const sql::SqlDirectoryOptions& opts);

}  // namespace mailroom::auth
