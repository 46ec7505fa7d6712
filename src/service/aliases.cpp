#include "src/service/aliases.h"

#include "src/core/address.h"

namespace mailroom::service {

core::Result<AddedAlias> Aliases::add(const auth::Alias& alias) {
  if (auto st = directory_.add_alias(alias); !st) return st;
  auto stored = directory_.find_alias(core::ascii_lower(alias.address));
  if (!stored) return stored.status();
  AddedAlias out{*stored, {}};
  auto account = directory_.find_account_by_address(stored->address);
  if (account) out.winning_account = account->address;
  return out;
}

core::Result<auth::Alias> Aliases::change(const std::string& address,
                                          const std::vector<std::string>& targets) {
  if (auto st = directory_.set_alias_targets(address, targets); !st) return st;
  return directory_.find_alias(core::ascii_lower(address));
}

core::Status Aliases::remove(const std::string& address) {
  return directory_.remove_alias(address);
}

core::Result<std::vector<auth::Alias>> Aliases::list(const std::string& domain) {
  return directory_.list_aliases(domain);
}

core::Result<auth::Alias> Aliases::show(const std::string& address) {
  return directory_.find_alias(core::ascii_lower(address));
}

core::Result<std::vector<auth::Conflict>> Aliases::conflicts() { return directory_.conflicts(); }

}  // namespace mailroom::service
