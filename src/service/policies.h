// Policy bundles (auth/policy/policy.h): add, change, remove, list, show, assign, unassign,
// and an account's effective policy with the bundle each value came from.
//
// Bundles and assignments live in directory.db (also the replica of an LDAP / SQL directory:
// bundles are Mailroom's own, never synced, so they are writable whatever the backend). A
// group is assigned by its immutable id, resolved from the address (or id) given; an account
// by its id; a domain by name (it must be a local domain).
//
// Errors: not_found for an unknown bundle, group, account, domain or assignment;
// already_exists for a taken name or a repeated assignment; invalid_argument for a bad name,
// value, scope or login method, and for removing a bundle still assigned without `force`.
// Messages name the bundle and the target.
//
// Writes are journaled ("policy.add", "policy.change", "policy.remove", "policy.assign",
// "policy.unassign"; object "policy:<name>") and may be dry runs (journal.h). They cannot be
// reverted by `mailroomctl journal revert` (a policy change is undone by the opposite command).
//
// Threading: one Policies is called from one thread; every call blocks on SQLite.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "auth/policy/policy.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service {

// A change: fields left nullopt keep their value; `values` set what they hold; `unset` names
// attributes to clear ("quota_bytes", ..., "login_methods": see policy_attribute_names()).
struct PolicyChange {
  std::string name;
  std::optional<std::string> description;
  std::optional<int> priority;
  auth::PolicyValues values;
  std::vector<std::string> unset;
};
// The value attributes of a bundle, in display order.
const std::vector<std::string>& policy_attribute_names();

struct AssignmentView {
  auth::PolicyAssignment assignment;
  std::string current;  // the group's / account's address now; "" when it is gone
};

struct PolicyView {
  auth::PolicyBundle bundle;
  std::vector<AssignmentView> assignments;
};

class Policies {
 public:
  explicit Policies(auth::LocalDirectory& directory) : directory_(directory) {}
  Policies(auth::LocalDirectory& directory, ChangeContext change)
      : directory_(directory), change_(std::move(change)) {}

  core::Result<auth::PolicyBundle> add(const auth::PolicyBundle& bundle);
  core::Result<auth::PolicyBundle> change(const PolicyChange& request);
  // invalid_argument while assigned, unless `force` (the assignments are removed with it).
  core::Status remove(const std::string& name, bool force);
  core::Result<std::vector<auth::PolicyBundle>> list();
  core::Result<PolicyView> show(const std::string& name);
  // `target`: a group address or id, an account address / login / id, a domain, or "" for
  // scope everyone.
  core::Result<auth::PolicyAssignment> assign(const std::string& name, auth::PolicyScope scope,
                                              const std::string& target);
  core::Status unassign(const std::string& name, auth::PolicyScope scope,
                        const std::string& target);

 private:
  core::Result<auth::PolicyAssignment> resolve_target(const std::string& name,
                                                      auth::PolicyScope scope,
                                                      const std::string& target);
  core::Status journaled(const std::string& operation, const std::string& name,
                         const std::function<core::Status()>& write);
  auth::LocalDirectory& directory_;
  ChangeContext change_;
};

// The effective policy of `account` (as stored: its own quota is precedence rule 1).
core::Result<auth::EffectivePolicy> effective_policy(auth::LocalDirectory& directory,
                                                     const auth::Account& account);

}  // namespace mailroom::service
