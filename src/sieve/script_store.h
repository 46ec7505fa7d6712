// A user's Sieve scripts and Sieve's per-user records on disk, under the user's mail
// directory (keyed by the account's immutable id, never the login name):
//
//   <store root>/<account id>/sieve/          0700
//     scripts/<hex of the name>.sieve         0600, one file per script (names are UTF-8)
//     active                                  the active script's name (absent: none)
//     vacation.rec, duplicate.rec, notice.rec "<expiry unix seconds> <key hash>" lines
//
// Writes are temp file, fsync, rename (a crash leaves the old or the new script, never half).
// Several nodes: the files live with the mailbox on the shared store; the owning node writes.
//
// Threading: each call is independent; two writers of the same account (two ManageSieve
// sessions) are serialised by a process-wide mutex per store (single-node shortcut).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::sieve {

struct ScriptInfo {
  std::string name;
  bool active = false;
  uint64_t size = 0;
};

struct StoreLimits {
  std::size_t max_scripts = 32;
  uint64_t max_script_bytes = 64 * 1024;
  uint64_t max_total_bytes = 1024 * 1024;
  std::size_t max_name_bytes = 128;
};

class ScriptStore {
 public:
  ScriptStore(std::string mail_root, StoreLimits limits);

  const StoreLimits& limits() const { return limits_; }
  std::string dir(const std::string& account_id) const;

  core::Result<std::vector<ScriptInfo>> list(const std::string& account_id);
  // not_found when there is no such script.
  core::Result<std::string> get(const std::string& account_id, const std::string& name);
  // The active script's name and text; not_found when none is active.
  core::Result<std::pair<std::string, std::string>> active(const std::string& account_id);
  // Whether a script of `size` octets named `name` fits (RFC 5804 HAVESPACE): over_quota with
  // "too many scripts" / "scripts too large", too_large for one script over the limit.
  core::Status have_space(const std::string& account_id, const std::string& name, uint64_t size);
  core::Status put(const std::string& account_id, const std::string& name, const std::string& text);
  // Name "" deactivates. not_found for an unknown name.
  core::Status set_active(const std::string& account_id, const std::string& name);
  // permission_denied (RFC 5804 "ACTIVE") for the active script; not_found when missing.
  core::Status remove(const std::string& account_id, const std::string& name);
  // already_exists when `to` exists; the active mark follows the script.
  core::Status rename(const std::string& account_id, const std::string& from,
                      const std::string& to);

  // RFC 5804 1.6: names are UTF-8 without controls (and not too long).
  bool valid_name(const std::string& name) const;

 private:
  std::string script_path(const std::string& account_id, const std::string& name) const;
  core::Status write_file(const std::string& path, const std::string& text);
  std::string mail_root_;
  StoreLimits limits_;
  std::mutex mu_;
};

// Keys with an expiry, one file per kind (vacation replies sent, duplicate ids, notices
// given): bounded (the oldest entries go first past max_entries), expired lines dropped on
// every write. Keys are stored as a hash, so no address or Message-ID is written in clear.
class RecordFile {
 public:
  RecordFile(std::string path, std::size_t max_entries = 10000);
  // Whether `key` is recorded with an expiry after `now`.
  bool contains(const std::string& key, int64_t now);
  core::Status add(const std::string& key, int64_t expiry, int64_t now);

 private:
  std::string path_;
  std::size_t max_entries_;
};

}  // namespace mailroom::sieve
