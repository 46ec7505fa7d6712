// Keeps the local directory replica (auth/local) in step with the SQL directory, so mail keeps
// flowing and users keep logging in while MariaDB is down.
//
// Idempotent diff keyed by the account's immutable id (the `id` column): a rename or a new
// primary address updates the same local account and so the same mailbox. Only rows whose
// source is "sql" are touched. Same removal policy as the LDAP sync: accounts that vanish
// upstream are disabled (on_removed = "disable", the default; the mailbox stays) or deleted
// ("delete"), and never because a read failed.
//
//  - poll_once(): accounts with changed_at >= the stored high-water mark ("sql.changed_at" in
//    the replica's sync_state), then all aliases and groups (small next to accounts).
//  - full_sync(): domains, every account, aliases and groups; vanished rows are removed. The
//    background thread runs one at start and every full_compare_s (deletions are only seen
//    by a full pass unless rows are marked status = 'deleted' instead of deleted).
//
// Threading: start() runs one background thread; full_sync()/poll_once() may run from any
// thread (LocalDirectory serialises writes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"

namespace mailroom::auth::sql {
class SqlListing;
struct SqlDirectoryOptions;
}  // namespace mailroom::auth::sql

namespace mailroom::auth::sync {

inline constexpr const char* kSourceSql = "sql";

struct SqlSyncOptions {
  int64_t interval_s = 30;
  int64_t full_compare_s = 3600;
  std::string on_removed = "disable";  // disable | delete
  int64_t old_address_grace_s = 0;     // see account_policy.h
};

struct SqlSyncStats {
  uint64_t seen = 0;  // accounts read from SQL
  uint64_t created = 0;
  uint64_t updated = 0;
  uint64_t unchanged = 0;
  uint64_t removed = 0;  // disabled or deleted because they vanished upstream
  uint64_t groups = 0;   // groups + aliases written
  uint64_t errors = 0;   // rows that could not be stored (logged)
};

class SqlSync {
 public:
  SqlSync(std::shared_ptr<sql::SqlListing> live, std::shared_ptr<Directory> live_directory,
          std::shared_ptr<LocalDirectory> replica, SqlSyncOptions options);
  ~SqlSync();  // stops the thread

  Result<SqlSyncStats> full_sync();
  Result<SqlSyncStats> poll_once();
  // What full_sync() would change, written nowhere: "create|update|remove <id> <address>",
  // "create-alias|remove-alias|create-group|remove-group <address>" (mailroomctl --dry-run).
  Result<SqlSyncStats> dry_run(std::vector<SyncChange>* changes);
  // "key value" pairs for `mailroomctl directory sync status`: last sync, lag, last error,
  // high-water mark, counts (read from the replica's sync_state, so any process can ask).
  std::vector<std::pair<std::string, std::string>> status();

  void start();
  void stop();
  // Waits up to timeout_ms for the first pass; false on timeout.
  bool wait_ready(int timeout_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Opens <data_dir>/directory.db and starts the sync. With lookup = "replica" the returned
// Directory answers from the replica (passwords included: SQL hashes are copied); with
// lookup = "live" it answers from `live` and the replica is a warm standby that answers the
// lookups MariaDB cannot (outage); passwords are then left to the credential cache.
Result<std::shared_ptr<Directory>> open_sql_replica(std::shared_ptr<Directory> live,
                                                    std::shared_ptr<sql::SqlListing> listing,
                                                    const sql::SqlDirectoryOptions& options,
                                                    const std::string& data_dir);

}  // namespace mailroom::auth::sync
