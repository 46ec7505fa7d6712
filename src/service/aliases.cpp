#include "src/service/aliases.h"

#include "src/core/address.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {

core::Result<AddedAlias> Aliases::add(const auth::Alias& alias) {
  const std::string key = tracking::address_key(alias.address);
  AddedAlias out;
  auto st = tracking::run_tracked(
      directory_, change_, "alias.add", tracking::fixed_keys({{tracking::ObjectKind::alias, key}}),
      [&]() -> core::Status {
        if (auto s = directory_.add_alias(alias); !s) return s;
        auto stored = directory_.find_alias(key);
        if (!stored) return stored.status();
        out.alias = *stored;
        auto account = directory_.find_account_by_address(stored->address);
        if (account) out.winning_account = account->address;
        return core::Status::ok();
      });
  if (!st) return st;
  return out;
}

core::Result<auth::Alias> Aliases::change(const std::string& address,
                                          const std::vector<std::string>& targets) {
  const std::string key = tracking::address_key(address);
  auth::Alias out;
  auto st = tracking::run_tracked(directory_, change_, "alias.change",
                                  tracking::fixed_keys({{tracking::ObjectKind::alias, key}}),
                                  [&]() -> core::Status {
                                    if (auto s = directory_.set_alias_targets(address, targets); !s)
                                      return s;
                                    auto stored = directory_.find_alias(key);
                                    if (!stored) return stored.status();
                                    out = *stored;
                                    return core::Status::ok();
                                  });
  if (!st) return st;
  return out;
}

core::Status Aliases::remove(const std::string& address) {
  return tracking::run_tracked(
      directory_, change_, "alias.remove",
      tracking::fixed_keys({{tracking::ObjectKind::alias, tracking::address_key(address)}}),
      [&] { return directory_.remove_alias(address); });
}

core::Result<std::vector<auth::Alias>> Aliases::list(const std::string& domain) {
  return directory_.list_aliases(domain);
}

core::Result<auth::Alias> Aliases::show(const std::string& address) {
  return directory_.find_alias(core::ascii_lower(address));
}

core::Result<std::vector<auth::Conflict>> Aliases::conflicts() { return directory_.conflicts(); }

}  // namespace mailroom::service
