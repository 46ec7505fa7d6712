// Keeps the local directory replica (auth/local) in step with OpenLDAP or Active Directory.
//
// Idempotent diff keyed by the directory's immutable id (entryUUID / objectGUID): a rename,
// a new primary address or a new login updates the same local account (and so the same
// mailbox). Only rows whose source is "ldap" are touched. Users that vanish upstream are
// disabled (on_removed = "disable", the default; the mailbox stays) or their row deleted
// ("delete"; the mailbox is still the store's business), never on a failed read.
//
// Modes:
//  - persist: RFC 4533 refreshAndPersist against OpenLDAP's syncprov; the cookie is stored in
//    the replica's sync_state ("ldap.cookie") after every change, so a restart resumes.
//  - poll: Active Directory; entries with uSNChanged above the stored high-water mark
//    ("ldap.usn") every interval, plus a full compare (deletions) every full_compare_s.
//  - full_sync(): one complete pass (mailroomctl directory sync --now, the bench, dry-run).
//
// Threading: start() runs one background thread; full_sync() may run from any thread (writes
// are serialised by LocalDirectory). status() is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"

namespace mailroom::auth {
class LdapDirectory;
}

namespace mailroom::auth::sync {

inline constexpr const char* kSourceLdap = "ldap";

struct LdapSyncStats {
  uint64_t seen = 0;  // entries read from the directory
  uint64_t created = 0;
  uint64_t updated = 0;
  uint64_t unchanged = 0;
  uint64_t removed = 0;  // disabled or deleted because they vanished upstream
  uint64_t groups = 0;   // groups + aliases written
  uint64_t errors = 0;   // entries that could not be stored (logged)
  double seconds = 0;
};

// One line of a dry run: "create|update|remove <id> <address>".
using LdapSyncChange = SyncChange;

class LdapSync {
 public:
  LdapSync(std::shared_ptr<LdapDirectory> live, std::shared_ptr<LocalDirectory> replica);
  ~LdapSync();  // stops the thread

  // A complete pass. dry_run: writes nothing, fills `changes`.
  Result<LdapSyncStats> full_sync(bool dry_run = false,
                                  std::vector<LdapSyncChange>* changes = nullptr);

  // Starts the background thread for the configured mode (persist / poll); no-op for "off".
  void start();
  void stop();

  // Waits (up to timeout_ms) until the first refresh / pass has finished; false on timeout.
  bool wait_ready(int timeout_ms);

  // "key=value" lines: mode, last_sync, last_error, cookie, counts (also in sync_state).
  std::vector<std::pair<std::string, std::string>> status();

  // AD-style poll pass (public for tests and `sync --now` in poll mode).
  Result<LdapSyncStats> poll_once();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::auth::sync
