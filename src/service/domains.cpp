#include "src/service/domains.h"

#include "src/core/address.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {

using tracking::ObjectKey;
using tracking::ObjectKind;

core::Result<auth::Domain> Domains::add(const NewDomain& request) {
  auth::Domain d;
  d.name = request.name;
  d.kind = request.alias_of.empty() ? auth::DomainKind::local : auth::DomainKind::alias;
  d.alias_of = request.alias_of;
  d.catch_all = request.catch_all;
  const std::string name = core::ascii_lower(request.name);
  auth::Domain stored;
  auto st = tracking::run_tracked(directory_, change_, "domain.add",
                                  tracking::fixed_keys({{ObjectKind::domain, name}}),
                                  [&]() -> core::Status {
                                    if (auto s = directory_.add_domain(d); !s) return s;
                                    auto found = directory_.find_domain(name);
                                    if (!found) return found.status();
                                    stored = *found;
                                    return core::Status::ok();
                                  });
  if (!st) return st;
  return stored;
}

core::Result<auth::Domain> Domains::change(const DomainChange& request) {
  const std::string name = core::ascii_lower(request.name);
  auth::Domain stored;
  auto st = tracking::run_tracked(directory_, change_, "domain.change",
                                  tracking::fixed_keys({{ObjectKind::domain, name}}),
                                  [&]() -> core::Status {
                                    auto d = directory_.find_domain(name);
                                    if (!d) return d.status();
                                    if (!request.alias_of.empty()) {
                                      d->kind = auth::DomainKind::alias;
                                      d->alias_of = request.alias_of;
                                    }
                                    if (request.make_local) d->kind = auth::DomainKind::local;
                                    if (request.catch_all) d->catch_all = *request.catch_all;
                                    if (auto s = directory_.change_domain(*d); !s) return s;
                                    auto found = directory_.find_domain(d->name);
                                    if (!found) return found.status();
                                    stored = *found;
                                    return core::Status::ok();
                                  });
  if (!st) return st;
  return stored;
}

core::Status Domains::remove(const std::string& name, bool force) {
  const std::string n = core::ascii_lower(name);
  // Everything the removal may take with it, dependents first: a revert restores in the
  // reverse order, the domain before its accounts.
  auto keys = [&]() -> core::Result<std::vector<ObjectKey>> {
    auto keys = tracking::groups_with_members(directory_, {}, n);
    if (!keys) return keys.status();
    std::vector<ObjectKey> out = std::move(*keys);
    auto accounts = directory_.list_accounts(n);
    if (!accounts) return accounts.status();
    for (const auto& a : *accounts) out.push_back({ObjectKind::user, a.id});
    auto aliases = directory_.list_aliases(n);
    if (!aliases) return aliases.status();
    for (const auto& a : *aliases) out.push_back({ObjectKind::alias, a.address});
    auto groups = directory_.list_groups(n);
    if (!groups) return groups.status();
    for (const auto& g : *groups) out.push_back({ObjectKind::group, g.address});
    auto domains = directory_.list_domains();
    if (!domains) return domains.status();
    for (const auto& d : *domains) {
      if (d.alias_of == n) out.push_back({ObjectKind::domain, d.name});
    }
    out.push_back({ObjectKind::domain, n});
    return out;
  };
  return tracking::run_tracked(directory_, change_, "domain.remove", keys,
                               [&] { return directory_.remove_domain(name, force); });
}

core::Result<std::vector<auth::Domain>> Domains::list() { return directory_.list_domains(); }

core::Result<auth::Domain> Domains::show(const std::string& name) {
  return directory_.find_domain(core::ascii_lower(name));
}

}  // namespace mailroom::service
