#include "src/service/domains.h"

#include "src/core/address.h"

namespace mailroom::service {

core::Result<auth::Domain> Domains::add(const NewDomain& request) {
  auth::Domain d;
  d.name = request.name;
  d.kind = request.alias_of.empty() ? auth::DomainKind::local : auth::DomainKind::alias;
  d.alias_of = request.alias_of;
  d.catch_all = request.catch_all;
  if (auto st = directory_.add_domain(d); !st) return st;
  return directory_.find_domain(core::ascii_lower(request.name));
}

core::Result<auth::Domain> Domains::change(const DomainChange& request) {
  auto d = directory_.find_domain(core::ascii_lower(request.name));
  if (!d) return d;
  if (!request.alias_of.empty()) {
    d->kind = auth::DomainKind::alias;
    d->alias_of = request.alias_of;
  }
  if (request.make_local) d->kind = auth::DomainKind::local;
  if (request.catch_all) d->catch_all = *request.catch_all;
  if (auto st = directory_.change_domain(*d); !st) return st;
  return directory_.find_domain(d->name);
}

core::Status Domains::remove(const std::string& name, bool force) {
  return directory_.remove_domain(name, force);
}

core::Result<std::vector<auth::Domain>> Domains::list() { return directory_.list_domains(); }

core::Result<auth::Domain> Domains::show(const std::string& name) {
  return directory_.find_domain(core::ascii_lower(name));
}

}  // namespace mailroom::service
