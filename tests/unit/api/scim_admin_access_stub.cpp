// Stand-in for src/service/admin_access.cpp (implemented on another branch) with the rules
// admin_access.h documents; compiled only while that file is absent.
#include <algorithm>

#include "src/service/admin_access.h"

namespace mailroom::service {

namespace {
bool scim_stub_covers(const Grant& g, std::string_view domain) {
  if (g.role == Role::global_admin) return true;
  if (g.domains.empty()) return g.role != Role::domain_admin && !domain.empty();
  return std::find(g.domains.begin(), g.domains.end(), domain) != g.domains.end();
}
bool scim_stub_allows(Role role, Action action) {
  switch (role) {
    case Role::global_admin:
      return true;
    case Role::domain_admin:
      return action != Action::manage_domains && action != Action::manage_server;
    case Role::helpdesk:
      return action == Action::read || action == Action::reset_password ||
             action == Action::unlock || action == Action::kick_session;
    case Role::auditor:
      return action == Action::read || action == Action::audit;
  }
  return false;
}
}  // namespace

bool Caller::is_global_admin() const {
  return std::any_of(grants.begin(), grants.end(),
                     [](const Grant& g) { return g.role == Role::global_admin; });
}
bool Caller::can_see(std::string_view domain) const {
  return std::any_of(grants.begin(), grants.end(),
                     [&](const Grant& g) { return scim_stub_covers(g, domain); });
}
bool Caller::can(Action action, std::string_view domain) const {
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    return scim_stub_covers(g, domain) && scim_stub_allows(g.role, action);
  });
}
std::optional<std::vector<std::string>> Caller::visible_domains() const {
  std::vector<std::string> out;
  for (const auto& g : grants) {
    if (g.role == Role::global_admin || (g.domains.empty() && g.role != Role::domain_admin))
      return std::nullopt;
    for (const auto& d : g.domains)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

}  // namespace mailroom::service
