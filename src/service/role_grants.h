// Role grants (issue 17): roles (admin_access.h) given to a directory account or to a
// directory group, kept in admin.db (admin_store.h) beside the API tokens.
//
// Principals, as an administrator names them:
//   account:<login | address | id>  looked up as a login, then an address, then an immutable
//                                   id; stored by the account's immutable id (a rename or a
//                                   new primary address keeps the grant), with the address
//                                   at grant time as a label for listings.
//   group:<group address>           stored by address (groups have no immutable id); held by
//                                   every account that is a member, directly or through
//                                   nested groups.
// A grant is (role, domains, member scope, principal); the same one twice is already_exists.
// The member scope (admin_access.h, issue 18) names a directory group: the grant then covers
// only the mail and mailboxes of that group's members (the group is looked up, not expanded,
// when granted; services expand it when they use the grant). Revoked grants are deleted; the
// audit record is the log line
//   event=admin.role_granted / admin.role_revoked id= role= domains= members_of= principal= by=
//
// caller_for_account(): the account's own grants plus those of every granted group it belongs
// to. Membership follows the resolver's rules for group expansion: an account is a member
// when one of its addresses (primary, secondary, or a login written as an address) is a
// member, or when a member group holds it; nesting deeper than ResolverOptions::
// max_group_depth and walks longer than max_expansion group lookups are not followed (logged),
// loops are cut. A directory that cannot answer makes the whole answer `unavailable`, never
// "no roles". A disabled or deleted account has no roles.
//
// Threading: thread-safe; every call blocks (SQLite, the directory): call from the worker
// pool. admin.db's mutex is never held across a directory lookup.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/directory.h"
#include "src/core/clock.h"
#include "src/core/status.h"
#include "src/service/admin_access.h"

namespace mailroom::auth {
class Resolver;
}

namespace mailroom::service {

class AdminStore;

struct RoleGrant {
  enum class Kind { account, group };
  std::string id;  // public, 12 hex digits
  Role role = Role::auditor;
  std::vector<std::string> domains;  // lower-case, sorted; empty: every domain
  Kind kind = Kind::account;
  std::string principal;  // the account's immutable id, or the group's address
  std::string label;      // the account's address when granted; the group's address
  int64_t created_at = 0;
  std::string created_by;
  std::string members_of;  // lower-case group address; "" = no member scope

  // "account:alice@example.com" or "group:admins@example.com" (Grant::source).
  std::string principal_text() const;
};

class RoleGrants {
 public:
  RoleGrants(std::shared_ptr<AdminStore> db, std::shared_ptr<auth::Resolver> resolver,
             const core::Clock& clock = core::real_clock());

  // `members_of`: "" or the address of a directory group whose members' mail alone the grant
  // covers (stored lower-case). invalid_argument: a principal not of the forms above, a bad
  // grant (normalize_grant); not_found: no such account or group (principal or members_of);
  // already_exists: the same grant exists; unavailable: the directory cannot answer.
  core::Result<RoleGrant> grant(Role role, std::vector<std::string> domains,
                                const std::string& principal, const std::string& created_by,
                                const std::string& members_of = "");

  // Every grant, or those of one principal (as grant() takes it; an account the directory
  // no longer knows may be named by its stored id or label). Ordered by principal, role.
  core::Result<std::vector<RoleGrant>> list(const std::string& principal = "");

  // Deletes every grant of `role` to `principal` (any domains, any member scope); not_found
  // when none.
  core::Result<std::vector<RoleGrant>> revoke(Role role, const std::string& principal,
                                              const std::string& revoked_by);
  // Deletes one grant by its id; not_found when none.
  core::Result<RoleGrant> revoke_id(const std::string& id, const std::string& revoked_by);

  // The administrative caller an account is: name = its address, its grants (sources
  // "account:<address>" / "group:<group>", each with its member scope); no grants when it has
  // none or is not active.
  // unavailable when the directory cannot tell which groups hold it.
  core::Result<Caller> caller_for_account(const auth::Account& account);
  // The same for an account named by login, address or id; not_found when unknown.
  core::Result<Caller> caller_for_user(const std::string& user);

 private:
  struct Principal {
    RoleGrant::Kind kind;
    std::string key;    // account id or group address
    std::string label;  // account address or group address
  };
  // `must_exist`: an account or group the directory does not know is not_found; otherwise an
  // unknown account is taken as a stored id or label (listing and revoking after removal).
  core::Result<Principal> parse_principal(const std::string& text, bool must_exist);
  core::Result<auth::Account> find_account(const std::string& user);
  core::Result<bool> holds_account(const auth::Account& account, const std::string& group);

  std::shared_ptr<AdminStore> db_;
  std::shared_ptr<auth::Resolver> resolver_;
  const core::Clock& clock_;
};

}  // namespace mailroom::service
