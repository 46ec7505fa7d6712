// Mail domains of the local directory: add, change, remove, list, show.
//
// Errors: not_found for an unknown domain; already_exists when adding one that exists;
// invalid_argument for a malformed name, an alias domain whose target is not a local domain,
// or removing a domain still in use without `force`; unavailable / io_error from SQLite.
// Messages name the domain and are safe to show to the administrator.
//
// Threading: one Domains is called from one thread; every call blocks on SQLite.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service {

struct NewDomain {
  std::string name;
  std::string alias_of;   // non-empty: an alias domain of this local domain
  std::string catch_all;  // non-empty: unknown addresses go here
};

struct DomainChange {
  std::string name;
  std::string alias_of;                  // non-empty: make it an alias of this domain
  bool make_local = false;               // make it a local domain again (wins over alias_of)
  std::optional<std::string> catch_all;  // set: replace ("" removes it)
};

class Domains {
 public:
  explicit Domains(auth::LocalDirectory& directory) : directory_(directory) {}
  // Writes are journaled and may be dry runs as `change` says (src/service/journal.h).
  Domains(auth::LocalDirectory& directory, ChangeContext change)
      : directory_(directory), change_(std::move(change)) {}

  // The domain as stored (lower-cased).
  core::Result<auth::Domain> add(const NewDomain& request);
  core::Result<auth::Domain> change(const DomainChange& request);
  // `force`: also removes its accounts, aliases and groups.
  core::Status remove(const std::string& name, bool force);
  core::Result<std::vector<auth::Domain>> list();
  core::Result<auth::Domain> show(const std::string& name);

 private:
  auth::LocalDirectory& directory_;
  ChangeContext change_;
};

}  // namespace mailroom::service
