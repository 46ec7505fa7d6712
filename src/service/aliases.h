// Aliases of the local directory (an address delivered to other addresses), and the
// conflicts between accounts and aliases or groups.
//
// A real account always wins over an alias or group of the same address (docs/DESIGN.md):
// such an alias can be stored but never resolves; add() says so and conflicts() lists them.
//
// Errors: not_found for an unknown alias; already_exists when adding one that exists;
// invalid_argument for a malformed address or a domain that is not local; unavailable /
// io_error from SQLite. Messages name the alias.
//
// Threading: one Aliases is called from one thread; every call blocks on SQLite.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service {

struct AddedAlias {
  auth::Alias alias;            // as stored (lower-cased)
  std::string winning_account;  // non-empty: the account that has this address and wins
};

class Aliases {
 public:
  explicit Aliases(auth::LocalDirectory& directory) : directory_(directory) {}
  // Writes are journaled and may be dry runs as `change` says (src/service/journal.h).
  Aliases(auth::LocalDirectory& directory, ChangeContext change)
      : directory_(directory), change_(std::move(change)) {}

  core::Result<AddedAlias> add(const auth::Alias& alias);
  // Replaces the targets; returns the alias as stored.
  core::Result<auth::Alias> change(const std::string& address,
                                   const std::vector<std::string>& targets);
  core::Status remove(const std::string& address);
  // Every alias, or those of `domain`.
  core::Result<std::vector<auth::Alias>> list(const std::string& domain);
  core::Result<auth::Alias> show(const std::string& address);

  // Addresses that are both an account (primary or secondary) and an alias or group.
  core::Result<std::vector<auth::Conflict>> conflicts();

 private:
  auth::LocalDirectory& directory_;
  ChangeContext change_;
};

}  // namespace mailroom::service
