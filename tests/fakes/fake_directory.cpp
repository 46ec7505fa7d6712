#include "tests/fakes/fake_directory.h"

#include "auth/password/password_hash.h"
#include "src/core/address.h"

namespace mailroom::testing {
namespace {

core::Status directory_down() { return core::unavailable("directory down", "injected fault"); }

std::string hash_of(const std::string& password) {
  if (password.empty()) return "";
  auto h = auth::password::hash(password, auth::password::Scheme::ssha512);
  return h ? *h : "";
}

}  // namespace

void FakeDirectory::add_domain(const std::string& name, const std::string& alias_of,
                               const std::string& catch_all) {
  std::lock_guard l(mu_);
  auth::Domain d;
  d.name = core::ascii_lower(name);
  d.kind = alias_of.empty() ? auth::DomainKind::local : auth::DomainKind::alias;
  d.alias_of = core::ascii_lower(alias_of);
  d.catch_all = core::ascii_lower(catch_all);
  domains_[d.name] = d;
}

auth::Account& FakeDirectory::add_account(const std::string& address, const std::string& password,
                                          const std::string& id) {
  std::lock_guard l(mu_);
  auth::Account a;
  a.address = core::ascii_lower(address);
  a.login = a.address;
  a.id = id.empty() ? "id-" + a.address : id;
  a.display_name = address;
  a.password_hash = hash_of(password);
  auto& stored = accounts_[a.id];
  stored = std::move(a);
  return stored;
}

void FakeDirectory::set_password(const std::string& id, const std::string& password) {
  std::lock_guard l(mu_);
  accounts_.at(id).password_hash = hash_of(password);
}

void FakeDirectory::set_scram_secret(const std::string& id, const std::string& secret) {
  std::lock_guard l(mu_);
  scram_[id] = secret;
}

void FakeDirectory::add_alias(const std::string& address, std::vector<std::string> targets) {
  std::lock_guard l(mu_);
  std::string key = core::ascii_lower(address);
  aliases_[key] = auth::Alias{key, std::move(targets)};
}

auth::Group& FakeDirectory::add_group(const std::string& address, std::vector<std::string> members,
                                      auth::GroupSendPolicy policy) {
  std::lock_guard l(mu_);
  auth::Group g;
  g.address = core::ascii_lower(address);
  g.members = std::move(members);
  g.send_policy = policy;
  auto& stored = groups_[g.address];
  stored = std::move(g);
  return stored;
}

auth::Account* FakeDirectory::account(const std::string& id) {
  std::lock_guard l(mu_);
  auto it = accounts_.find(id);
  return it == accounts_.end() ? nullptr : &it->second;
}

template <typename T>
core::Result<T> FakeDirectory::find_in(const std::map<std::string, T>& table,
                                       const std::string& key, const char* missing) {
  if (fails(key)) return directory_down();
  std::lock_guard l(mu_);
  auto it = table.find(key);
  if (it == table.end()) return core::not_found(missing + key);
  return it->second;
}

core::Result<auth::Domain> FakeDirectory::find_domain(const std::string& domain) {
  return find_in(domains_, domain, "no domain ");
}

core::Result<std::vector<auth::Domain>> FakeDirectory::list_domains() {
  if (fail_all) return directory_down();
  std::lock_guard l(mu_);
  std::vector<auth::Domain> out;
  for (const auto& [name, d] : domains_) out.push_back(d);
  return out;
}

core::Result<auth::Account> FakeDirectory::find_account_by_address(const std::string& address) {
  if (fails(address)) return directory_down();
  std::lock_guard l(mu_);
  for (const auto& [id, a] : accounts_) {
    if (a.address == address) return a;
    for (const auto& other : a.other_addresses) {
      if (other == address) return a;
    }
  }
  return core::not_found("no account " + address);
}

core::Result<auth::Account> FakeDirectory::find_account_by_login(const std::string& login) {
  if (fails(login)) return directory_down();
  std::lock_guard l(mu_);
  for (const auto& [id, a] : accounts_) {
    if (a.login == login) return a;
  }
  return core::not_found("no login " + login);
}

core::Result<auth::Account> FakeDirectory::find_account_by_id(const std::string& id) {
  return find_in(accounts_, id, "no account id ");
}

core::Result<auth::Alias> FakeDirectory::find_alias(const std::string& address) {
  return find_in(aliases_, address, "no alias ");
}

core::Result<auth::Group> FakeDirectory::find_group(const std::string& address) {
  return find_in(groups_, address, "no group ");
}

auth::PasswordCheck FakeDirectory::check_password(const auth::Account& account,
                                                  const std::string& password) {
  if (fail_all || fail_passwords) return auth::PasswordCheck::unavailable;
  std::string hash;
  {
    std::lock_guard l(mu_);
    auto it = accounts_.find(account.id);
    if (it == accounts_.end()) return auth::PasswordCheck::mismatch;
    hash = it->second.password_hash;
  }
  return auth::password::verify(hash, password) == auth::password::Verify::ok
             ? auth::PasswordCheck::ok
             : auth::PasswordCheck::mismatch;
}

core::Result<std::string> FakeDirectory::scram_secret(const auth::Account& account) {
  if (fail_all || fail_passwords) return directory_down();
  std::lock_guard l(mu_);
  auto it = scram_.find(account.id);
  if (it == scram_.end()) return core::not_found("no SCRAM secret");
  return it->second;
}

}  // namespace mailroom::testing
