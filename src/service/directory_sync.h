// Directory synchronization (LDAP / Active Directory or SQL into the local replica) and the
// retention of the mailboxes of users the directory removed or disabled.
//
// DirectorySync reads the configuration file itself and opens the replica
// (<data_dir>/directory.db) and, to synchronize, the upstream directory. It needs nothing
// else of the server and works while mailroomd runs: the replica is SQLite in WAL mode and a
// sync is an idempotent diff (auth/sync/sync_engine.h, with auth/sync/ldap_sync.h and
// auth/sync/sql_sync.h as sources).
//
// Errors: invalid_argument for a configuration that cannot be read or lacks what the
// operation needs (no [server] data_dir, no [directory.ldap] / [directory.sql] section, a
// backend that has nothing to synchronize or is not built in); unavailable when the upstream
// directory cannot be reached or its configuration check fails; the replica's errors.
//
// Threading: one DirectorySync is called from one thread; every call blocks (SQLite, LDAP,
// MariaDB, and the store for retention).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/sync/account_policy.h"
#include "src/core/clock.h"
#include "src/core/status.h"

namespace mailroom::service {

struct SyncStatus {
  std::string backend;  // [directory] backend
  // What the sync recorded in the replica: mode, last sync, lag, last error, counts ...
  std::vector<std::pair<std::string, std::string>> fields;
};

struct SyncReport {
  std::string backend;
  bool dry_run = false;
  // seen, created, updated, unchanged, removed, groups, errors (in this order).
  std::vector<std::pair<std::string, uint64_t>> counts;
  std::vector<auth::sync::SyncChange> changes;  // what changed, or would (dry run)
};

struct RetentionAccount {
  std::string account_id;
  std::string address;  // "" when the row is gone from the replica
  int64_t inactive_since = 0;
  int64_t due_at = 0;
  // "would archive", "archive <file> messages=<n>", "delete", "... (no mailbox)",
  // or "failed: <why>".
  std::string result;
  bool failed = false;
};

struct RetentionReport {
  bool dry_run = false;
  std::string action;  // keep | archive | delete ([directory] retention_action)
  int64_t retention_s = 0;
  std::vector<RetentionAccount> accounts;
  int failures = 0;  // accounts whose archive or removal failed (the others went ahead)
};

class DirectorySync {
 public:
  // Reads the configuration file and opens the replica. `clock` (which must outlive the
  // DirectorySync) dates what a sync records and decides what retention finds due.
  static core::Result<std::unique_ptr<DirectorySync>> open(
      const std::string& config_path, const core::Clock& clock = core::real_clock());
  ~DirectorySync();
  DirectorySync(const DirectorySync&) = delete;
  DirectorySync& operator=(const DirectorySync&) = delete;

  const std::string& backend() const;

  // The last sync as recorded in the replica (any process may ask; no upstream connection).
  core::Result<SyncStatus> status();
  // One complete pass now; with dry_run nothing is written and `changes` says what would be.
  core::Result<SyncReport> run(bool dry_run);

  // Archives ([directory] retention_action = "archive": an mboxrd file of every folder in
  // <data_dir>/archive/, mode 0600) or deletes the mailboxes whose retention is over by the
  // clock given to open(), once each; logs every action (event=retention_applied). A failure
  // for one account is reported in its entry and counted; the others go ahead. dry_run:
  // lists them, changes nothing.
  core::Result<RetentionReport> retention(bool dry_run);

  struct Setup;  // directory_sync.cpp

 private:
  explicit DirectorySync(std::unique_ptr<Setup> setup);
  std::unique_ptr<Setup> setup_;
};

}  // namespace mailroom::service
