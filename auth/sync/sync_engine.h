// Keeps the local directory replica (auth/local) in step with an upstream directory: one
// engine, with LDAP / Active Directory (ldap_sync.h) and SQL (sql_sync.h) as sources
// (sync_source.h).
//
// An idempotent diff keyed by the directory's immutable id (entryUUID, objectGUID, SQL `id`):
// a rename, a new primary address or a new login updates the same local account, and so the
// same mailbox. Only rows whose source is the source's name ("ldap", "sql") are touched.
// Accounts that vanish upstream are disabled (on_removed = "disable", the default; the
// mailbox stays) or their row deleted ("delete"; the mailbox is the store's business), and
// only after a complete, successful read: a failed read never looks like "everyone left".
// Every write also applies the account policy (account_policy.h).
//
// Passes:
//  - full_sync(): domains, every account, groups and aliases; vanished rows are removed.
//  - poll_once(): the accounts changed since the stored marks, then groups and aliases when
//    they may have changed; a full pass instead when the source has no usable mark or the
//    last full pass is full_compare_s old (deletions are only seen by a full pass).
//  - dry_run(): what full_sync() would change, written nowhere.
//  - the background thread (start()): mode "poll" runs poll_once() every interval_s; mode
//    "persist" keeps the source's long-running search open (RFC 4533) and reconnects after
//    max(1, interval_s / 10) s; "off" runs nothing.
//
// What is recorded in the replica's sync_state, under the source's name: "<name>.last_sync"
// (unix seconds), ".last_error", ".last_counts", ".full_compare_at", and the source's marks,
// which are stored only after the pass wrote everything it read. So status() can be asked
// by any process (mailroomctl beside mailroomd).
//
// Time comes from the given clock (tests: core::ManualClock, advanced instead of sleeping).
//
// Threading: one background thread; full_sync(), poll_once() and dry_run() may run from any
// thread (LocalDirectory serialises writes); status() and wait_ready() are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"
#include "src/core/clock.h"

namespace mailroom::auth::sync {

class SyncSource;

struct SyncOptions {
  std::string mode = "poll";  // off | poll | persist (persist needs a source that can)
  int64_t interval_s = 30;
  int64_t full_compare_s = 3600;
  bool full_pass_first = false;        // the background thread starts with a full pass (SQL)
  std::string on_removed = "disable";  // disable | delete
  int64_t old_address_grace_s = 0;     // see account_policy.h
};

struct SyncStats {
  uint64_t seen = 0;  // accounts (entries) read upstream
  uint64_t created = 0;
  uint64_t updated = 0;
  uint64_t unchanged = 0;
  uint64_t removed = 0;  // disabled or deleted because they vanished upstream
  uint64_t groups = 0;   // groups + aliases written
  uint64_t errors = 0;   // entries that could not be stored (logged)
  double seconds = 0;
};

class SyncEngine {
 public:
  // `clock` must outlive the engine.
  SyncEngine(std::unique_ptr<SyncSource> source, std::shared_ptr<LocalDirectory> replica,
             SyncOptions options, const core::Clock& clock = core::real_clock());
  ~SyncEngine();  // stops the thread
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  // changes: the groups and aliases the pass removed (the counts tell the rest); may be null.
  Result<SyncStats> full_sync(std::vector<SyncChange>* changes = nullptr);
  Result<SyncStats> poll_once();
  // What full_sync() would change: "create|update|remove <id> <address>",
  // "create-group|remove-group|create-alias|remove-alias <address>" (mailroomctl --dry-run).
  Result<SyncStats> dry_run(std::vector<SyncChange>* changes);

  void start();
  void stop();
  // Waits (up to timeout_ms of real time) until the background thread's first pass or
  // refresh is over, whatever its outcome (status() tells); false on timeout.
  bool wait_ready(int timeout_ms);

  // "key value" pairs for `mailroomctl directory sync status`: mode, the source's own fields,
  // last sync, last error, last counts, the source's marks, lag_seconds.
  std::vector<std::pair<std::string, std::string>> status();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::auth::sync
