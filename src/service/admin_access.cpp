// The role rules of admin_access.h. Each grant is judged on its own (a caller may act when one
// of its grants allows the action on the domain); grants never combine into more than each
// allows alone.
#include "src/service/admin_access.h"

#include <algorithm>

#include "src/core/address.h"

namespace mailroom::service {
namespace {

struct AccessRoleName {
  Role role;
  const char* name;
};
constexpr AccessRoleName kAccessRoleNames[] = {
    {Role::global_admin, "global_admin"},
    {Role::domain_admin, "domain_admin"},
    {Role::helpdesk, "helpdesk"},
    {Role::auditor, "auditor"},
};

// What a role may do inside the domains its grant covers. global_admin is not here: it is
// not scoped by domains at all.
bool access_role_allows(Role role, Action action) {
  switch (role) {
    case Role::global_admin:
      return true;
    case Role::domain_admin:
      return action == Action::read || action == Action::audit || action == Action::write ||
             action == Action::reset_password || action == Action::unlock ||
             action == Action::kick_session || action == Action::recall;
    case Role::helpdesk:
      return action == Action::read || action == Action::reset_password ||
             action == Action::unlock || action == Action::kick_session;
    case Role::auditor:
      return action == Action::read || action == Action::audit;
  }
  return false;
}

// A global_admin grant is valid only without domains and without a member scope, a
// domain_admin grant only with some domains: the stores refuse the other shapes, and a
// malformed grant read from anywhere grants nothing (fail closed rather than guess which half
// of it was meant).
bool access_grant_is_global(const Grant& g) {
  return g.role == Role::global_admin && g.domains.empty() && g.members_of.empty();
}

// Whether the (non-global) grant's domains include `domain`, whatever its member scope.
// Server-wide objects ("") are in no scoped grant's domains, not even an all-domains
// helpdesk's or auditor's.
bool access_grant_domains_cover(const Grant& g, std::string_view domain) {
  if (g.role == Role::global_admin || domain.empty()) return false;
  if (g.domains.empty()) return g.role != Role::domain_admin;
  return std::any_of(g.domains.begin(), g.domains.end(),
                     [&](const std::string& d) { return core::iequals(d, domain); });
}

// Whether the grant covers objects of `domain` as a domain grant: a grant limited to a
// group's members covers no domain object.
bool access_grant_covers(const Grant& g, std::string_view domain) {
  return g.members_of.empty() && access_grant_domains_cover(g, domain);
}

// Whether the grant, limited to a group's members, covers some domain at all (a global_admin
// or a domain_admin without domains does not).
bool access_member_grant_valid(const Grant& g) {
  if (g.members_of.empty() || g.role == Role::global_admin) return false;
  return !(g.role == Role::domain_admin && g.domains.empty());
}

}  // namespace

const char* role_name(Role role) {
  for (const auto& r : kAccessRoleNames) {
    if (r.role == role) return r.name;
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (const auto& r : kAccessRoleNames) {
    if (core::iequals(name, r.name)) return r.role;
  }
  return std::nullopt;
}

const char* action_name(Action action) {
  switch (action) {
    case Action::read:
      return "read";
    case Action::audit:
      return "audit";
    case Action::write:
      return "write";
    case Action::reset_password:
      return "reset_password";
    case Action::unlock:
      return "unlock";
    case Action::kick_session:
      return "kick_session";
    case Action::recall:
      return "recall";
    case Action::manage_domains:
      return "manage_domains";
    case Action::manage_server:
      return "manage_server";
  }
  return "unknown";
}

bool Caller::is_global_admin() const {
  return std::any_of(grants.begin(), grants.end(), access_grant_is_global);
}

bool Caller::can_see(std::string_view domain) const {
  if (is_global_admin()) return true;
  return std::any_of(grants.begin(), grants.end(),
                     [&](const Grant& g) { return access_grant_covers(g, domain); });
}

bool Caller::can(Action action, std::string_view domain) const {
  if (is_global_admin()) return true;
  // Domains and the server itself belong to global admins only, whatever the scope.
  if (action == Action::manage_domains || action == Action::manage_server) return false;
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    return access_grant_covers(g, domain) && access_role_allows(g.role, action);
  });
}

std::optional<std::vector<std::string>> Caller::visible_domains() const {
  if (is_global_admin()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& g : grants) {
    if (g.role == Role::global_admin) continue;  // malformed: grants nothing
    if (!g.members_of.empty()) continue;         // no domain object: only its members' mail
    if (g.domains.empty()) {
      if (g.role != Role::domain_admin) return std::nullopt;
      continue;
    }
    for (const auto& d : g.domains) out.push_back(core::ascii_lower(d));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const Grant*> Caller::member_grants(Action action, std::string_view domain) const {
  std::vector<const Grant*> out;
  for (const auto& g : grants) {
    if (!access_member_grant_valid(g)) continue;
    if (access_grant_domains_cover(g, domain) && access_role_allows(g.role, action)) {
      out.push_back(&g);
    }
  }
  return out;
}

bool Caller::can_anywhere(Action action) const {
  // As a listing asked before member scopes: a grant for every domain is asked about a name
  // no real domain has.
  for (const auto& g : grants) {
    if (!g.members_of.empty()) continue;
    if (g.domains.empty() && can(action, "any.invalid")) return true;
    for (const auto& d : g.domains) {
      if (can(action, d)) return true;
    }
  }
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    return access_member_grant_valid(g) && access_role_allows(g.role, action);
  });
}

Caller cli_caller() {
  Caller c;
  c.name = "mailroomctl";
  c.front_end = "cli";
  c.grants.push_back(Grant{Role::global_admin, {}, "cli"});
  return c;
}

}  // namespace mailroom::service
