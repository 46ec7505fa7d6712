// Delegated administration: who may do what to which domain's objects, for every front end
// (the HTTP admin API, SCIM; mailroomctl runs as the server's owner and is a global admin).
//
// Roles (issue 17):
//   global_admin  everything, every domain, the server itself (queue, block lists, sync,
//                 API tokens, role grants, domains).
//   domain_admin  for its domains: read, write (accounts, aliases, groups, quotas, app
//                 passwords, mailboxes, export), reset passwords, unlock, kick sessions, audit
//                 (delivery log, journal, recall searches) of mail from or to those domains,
//                 recall of copies in those domains' mailboxes.
//   helpdesk      for its domains (or all): read, reset passwords, unlock, kick sessions.
//   auditor       for its domains (or all): read and audit; never a write.
// A grant names its domains; an empty list means every domain (a global helpdesk or auditor;
// a domain_admin grant with no domain grants nothing).
//
// Scope rule of the API: an object in a domain the caller cannot see answers 404 (as if it did
// not exist); an object the caller sees but may not act on answers 403.
//
// Grants come from: an API token's own scope; a grant to an account (by immutable id); a
// grant to a directory group (by address), held by every account that is a member, directly
// or through nested groups, as the resolver expands them.
//
// Member scope (issue 18, "a group-scoped auditor"): a grant may be limited to the members of
// one directory group (Grant::members_of), e.g. the compliance officer of the sales team
// audits the mail and mailboxes of sales@example.com's members only. Such a grant is not a
// domain grant: can(), can_see() and visible_domains() ignore it, so it grants nothing on
// domain objects (accounts, aliases, groups, the journal, the queue, ...). The services that
// honour it (mail recall) ask member_grants() and expand the group themselves. A global_admin
// grant with a member scope is malformed and grants nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::service {

enum class Role { global_admin, domain_admin, helpdesk, auditor };
const char* role_name(Role role);                       // "global_admin", ...
std::optional<Role> parse_role(std::string_view name);  // the names above

enum class Action {
  read,            // list/show domains, accounts, aliases, groups, quotas, app passwords,
                   // mailboxes, sessions, sync status
  audit,           // delivery-log searches, the change journal, the queue listing
  write,           // create/change/remove accounts, aliases, groups; quotas; app passwords;
                   // mailbox create/delete/rename/export/import
  reset_password,  // set an account's password
  unlock,          // clear an account's login lockouts
  kick_session,    // close an account's open sessions
  recall,          // mail recall: take copies of a message out of mailboxes, undo it (issue 18)
  manage_domains,  // add, change, remove domains
  manage_server,   // queue flush/hold/release/delete, block lists, directory sync, API tokens,
                   // role grants
};
const char* action_name(Action action);

struct Grant {
  Role role = Role::auditor;
  std::vector<std::string> domains;  // lower-case; empty: every domain
  std::string source;                // "token:<name>", "account:<address>", "group:<address>"
  std::string members_of;            // a group address, lower-case: the grant covers only the
                                     // mail and mailboxes of its members; "" = no member scope
};

// The authenticated caller of an administrative front end.
struct Caller {
  std::string name;       // "token:ci-provisioning", "alice@example.com", "mailroomctl"
  std::string front_end;  // "api", "scim", "cli"
  std::vector<Grant> grants;

  bool is_global_admin() const;
  // Whether objects of `domain` exist for this caller (lower-case; "" = a server-wide object,
  // visible only to global admins).
  bool can_see(std::string_view domain) const;
  // Whether the caller may do `action` on an object of `domain` ("" = server-wide).
  bool can(Action action, std::string_view domain) const;
  // The domains the caller sees; nullopt: every domain.
  std::optional<std::vector<std::string>> visible_domains() const;

  // The grants limited to a group's members whose role allows `action` on `domain` (the grant's
  // domains, or every domain when it names none; "" never). A domain_admin member grant that
  // names no domain, like a domain grant, covers none. Pointers into `grants`.
  std::vector<const Grant*> member_grants(Action action, std::string_view domain) const;
  // Whether `action` is allowed somewhere: can(action, d) for some domain d of a domain grant
  // (any domain, for one that names none), or some member grant's role allows it. What a
  // listing of the admin API asks before it filters to what the caller may see.
  bool can_anywhere(Action action) const;
};

// mailroomctl: the server's owner.
Caller cli_caller();

}  // namespace mailroom::service
