// The administrator's block lists (IPs / CIDR blocks, senders, sender domains):
// add, remove, list. The file and its format are src/filter/blocklist.h's; the server
// re-reads it when it changes, so an edit applies without a restart.
//
// Errors: invalid_argument for an unknown kind or a malformed value; already_exists when
// adding an entry that is there; not_found when removing one that is not; io_error when the
// file cannot be read or written. Messages name the entry.
//
// Threading: called from one thread; blocks on disk I/O. Edits by several processes are
// serialized by a lock file beside the list.
#pragma once

#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/filter/blocklist.h"
#include "src/service/journal.h"

namespace mailroom::service {

class Blocklists {
 public:
  explicit Blocklists(const std::string& data_dir);
  // Edits are journaled ("blocklist.add", "blocklist.remove"; object "blocklist:<kind>:<value>")
  // and may be dry runs as `change` says (src/service/journal.h). A journal that cannot be
  // written undoes the edit.
  Blocklists(const std::string& data_dir, ChangeContext change);

  static std::string entry_json(const filter::BlockEntry& entry);  // {"kind":..,"value":..}

  // The entry as stored (normalized: lower-case).
  core::Result<filter::BlockEntry> add(const std::string& kind, const std::string& value);
  core::Result<filter::BlockEntry> remove(const std::string& kind, const std::string& value);
  core::Result<std::vector<filter::BlockEntry>> list();

 private:
  core::Result<filter::BlockEntry> change(const std::string& kind, const std::string& value,
                                          bool add);
  std::string path_;
  ChangeContext change_;
};

}  // namespace mailroom::service
