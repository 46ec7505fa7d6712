// SQL (MariaDB) as a source of the directory sync engine (sync_engine.h), which keeps the
// local replica in step so mail keeps flowing and users keep logging in while MariaDB is
// down. Accounts are keyed by the immutable `id` column; password hashes and SCRAM secrets
// are copied (SQL is their authority: an emptied hash upstream empties the replica's).
//
//  - a poll pass reads the accounts with changed_at >= the stored high-water mark
//    ("sql.changed_at" in the replica's sync_state), then all aliases and groups;
//  - a full pass reads domains, every account, aliases and groups. The background thread
//    runs one at start and every full_compare_s (deletions are only seen by a full pass,
//    unless rows are marked status = 'deleted' instead of deleted).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/sync/sync_engine.h"

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

// The engine (mode "poll") over `live` (listings) and `live_directory` (domains). Nothing is
// read before a pass or start(); both may be null for status() only. `clock` must outlive
// the engine.
std::unique_ptr<SyncEngine> make_sql_sync(std::shared_ptr<sql::SqlListing> live,
                                          std::shared_ptr<Directory> live_directory,
                                          std::shared_ptr<LocalDirectory> replica,
                                          const SqlSyncOptions& options,
                                          const core::Clock& clock = core::real_clock());

// Opens <data_dir>/directory.db and, with `start_sync`, starts the sync. With lookup = "replica"
// the returned Directory answers from the replica (passwords included: SQL hashes are copied); with
// lookup = "live" it answers from `live` and the replica is a warm standby that answers the
// lookups MariaDB cannot (outage); passwords are then left to the credential cache.
Result<std::shared_ptr<Directory>> open_sql_replica(std::shared_ptr<Directory> live,
                                                    std::shared_ptr<sql::SqlListing> listing,
                                                    const sql::SqlDirectoryOptions& options,
                                                    const std::string& data_dir,
                                                    bool start_sync = true,
                                                    const core::Clock& clock = core::real_clock());

}  // namespace mailroom::auth::sync
