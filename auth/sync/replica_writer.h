// Internal to the sync engine (sync_engine.cpp): applies what a source read to the replica,
// or, in a dry run, only compares and lists what would change.
//
// One writer per pass (or persist session). Accounts are buffered and written in one
// transaction per batch; the accounts the pass saw are remembered, so the ones it did not see
// can be removed afterwards, which the engine asks for only after a complete, successful
// read. Removal follows on_removed (disable, the default, or delete); only rows of this
// source are touched. The account policy (account_policy.h) runs on every write: grace alias
// of an old primary address, start of inactivity.
//
// Errors: a replica that cannot be read or written (unavailable, io_error) ends the pass;
// one row the replica refuses is logged and counted in stats.errors.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "auth/sync/account_policy.h"
#include "auth/sync/sync_engine.h"
#include "auth/sync/sync_source.h"
#include "src/core/clock.h"

namespace mailroom::auth::sync {

struct WritePolicy {
  std::string source;  // rows' source tag and log prefix
  bool keep_empty_secrets = true;
  std::string on_removed = "disable";
  int64_t old_address_grace_s = 0;
};

class ReplicaWriter final : public AccountSink {
 public:
  // changes: where a dry run lists what it would do, and a real pass the groups and aliases
  // it removed (the counts tell the rest); may be null.
  ReplicaWriter(LocalDirectory& replica, const WritePolicy& policy, const core::Clock& clock,
                SyncStats& stats, bool dry_run, std::vector<SyncChange>* changes);

  Status account(AccountRecord record) override;
  void skipped(const std::string& entry, const std::string& reason) override;
  // Writes what is buffered, then remove(id).
  Status removed(const std::string& id) override;

  // Writes the buffered accounts; drops them after a failed read.
  Status flush();
  void discard() { pending_.clear(); }
  bool has_pending() const { return !pending_.empty(); }

  // Seen upstream (an account read, or an id of RFC 4533's present phase).
  void saw(const std::string& id) { seen_.insert(id); }
  // The accounts of this source not seen since the writer was made.
  Status remove_unseen();
  // One account deleted upstream (no-op for rows of another source or already disabled).
  Status remove(const std::string& id);
  bool has_account(const std::string& id);

  Status write_domains(const SourceDomains& domains);
  // Upserts the groups and aliases, removes the ones of this source not listed.
  Status write_objects(const SourceObjects& objects);

  // An account was updated since the last write_objects: group members (addresses) may be
  // stale, so groups are read again.
  bool groups_stale() const { return groups_stale_; }

 private:
  Status write_batch();
  Status diff_objects(const std::vector<std::string>& upstream, const char* kind,
                      Result<std::vector<std::string>> have);

  LocalDirectory& replica_;
  const WritePolicy& policy_;
  const core::Clock& clock_;
  SyncStats& stats_;
  bool dry_run_;
  std::vector<SyncChange>* changes_;
  std::vector<AccountRecord> pending_;
  std::set<std::string> seen_;
  bool groups_stale_ = false;
};

}  // namespace mailroom::auth::sync
