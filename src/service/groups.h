// Groups (distribution lists) of the local directory: add, change, members, remove, list,
// show. Members are addresses: accounts, aliases or other groups (auth/resolver expands
// them, loop-safe).
//
// Errors: not_found for an unknown group, or a member that is not in it; already_exists for
// an existing group or member; invalid_argument for a malformed address, a domain that is
// not local, or an unknown policy; unavailable / io_error from SQLite. Messages name the
// group and member.
//
// Threading: one Groups is called from one thread; every call blocks on SQLite.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service {

// "anyone" | "domain" | "members" | "moderators", and back.
core::Result<auth::GroupSendPolicy> parse_group_policy(const std::string& text);
const char* group_policy_name(auth::GroupSendPolicy policy);

// Fields left empty (nullopt) keep their value.
struct GroupChange {
  std::string address;
  std::optional<std::string> display_name;
  std::optional<auth::GroupSendPolicy> send_policy;
  std::optional<std::vector<std::string>> allowed_senders;  // replaces
};

class Groups {
 public:
  explicit Groups(auth::LocalDirectory& directory) : directory_(directory) {}
  // Writes are journaled and may be dry runs as `change` says (src/service/journal.h).
  Groups(auth::LocalDirectory& directory, ChangeContext change)
      : directory_(directory), change_(std::move(change)) {}

  // Each returns the group as stored afterwards.
  core::Result<auth::Group> add(const auth::Group& group);
  core::Result<auth::Group> change(const GroupChange& request);
  core::Result<auth::Group> add_member(const std::string& group, const std::string& member);
  core::Result<auth::Group> remove_member(const std::string& group, const std::string& member);

  core::Status remove(const std::string& address);
  // Every group, or those of `domain`.
  core::Result<std::vector<auth::Group>> list(const std::string& domain);
  core::Result<auth::Group> show(const std::string& address);

 private:
  auth::LocalDirectory& directory_;
  ChangeContext change_;
};

}  // namespace mailroom::service
