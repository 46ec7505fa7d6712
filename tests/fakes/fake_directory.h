// An in-memory Directory for unit tests (STYLE.md example 7), and a fault-injecting decorator.
//
//   auto dir = std::make_shared<mailroom::testing::FakeDirectory>();
//   dir->add_domain("example.com");
//   dir->add_account("alice@example.com", "wonderland");   // {PLAIN}-free: stores a real hash
//   auto faulty = std::make_shared<mailroom::testing::FaultyDirectory>(dir);
//   faulty->fail_all = true;   // every lookup answers Code::unavailable
//
// Header-only; the FakeDirectory verifies passwords with auth/password (link mailroom_auth).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "auth/directory.h"
#include "auth/password/password_hash.h"
#include "src/core/address.h"

namespace mailroom::testing {

class FakeDirectory : public auth::Directory {
 public:
  std::string name() const override { return "fake"; }

  // --- setup ---
  void add_domain(const std::string& name, const std::string& alias_of = "",
                  const std::string& catch_all = "") {
    std::lock_guard l(mu_);
    auth::Domain d;
    d.name = core::ascii_lower(name);
    d.kind = alias_of.empty() ? auth::DomainKind::local : auth::DomainKind::alias;
    d.alias_of = core::ascii_lower(alias_of);
    d.catch_all = core::ascii_lower(catch_all);
    domains_[d.name] = d;
  }
  // Returns the account (id "id-<address>" unless given). Password hashed with SSHA512 (fast).
  auth::Account& add_account(const std::string& address, const std::string& password = "",
                             const std::string& id = "") {
    std::lock_guard l(mu_);
    auth::Account a;
    a.address = core::ascii_lower(address);
    a.login = a.address;
    a.id = id.empty() ? "id-" + a.address : id;
    a.display_name = address;
    if (!password.empty()) {
      auto h = auth::password::hash(password, auth::password::Scheme::ssha512);
      if (h) a.password_hash = *h;
    }
    accounts_[a.id] = a;
    return accounts_[a.id];
  }
  void set_scram_secret(const std::string& id, const std::string& secret) {
    std::lock_guard l(mu_);
    scram_[id] = secret;
  }
  void add_alias(const std::string& address, std::vector<std::string> targets) {
    std::lock_guard l(mu_);
    aliases_[core::ascii_lower(address)] =
        auth::Alias{core::ascii_lower(address), std::move(targets)};
  }
  auth::Group& add_group(const std::string& address, std::vector<std::string> members,
                         auth::GroupSendPolicy policy = auth::GroupSendPolicy::anyone) {
    std::lock_guard l(mu_);
    auth::Group g;
    g.address = core::ascii_lower(address);
    g.members = std::move(members);
    g.send_policy = policy;
    groups_[g.address] = g;
    return groups_[g.address];
  }
  auth::Account* account(const std::string& id) {
    auto it = accounts_.find(id);
    return it == accounts_.end() ? nullptr : &it->second;
  }

  // --- Directory ---
  core::Result<auth::Domain> find_domain(const std::string& domain) override {
    std::lock_guard l(mu_);
    ++lookups;
    auto it = domains_.find(domain);
    if (it == domains_.end()) return core::not_found("no domain " + domain);
    return it->second;
  }
  core::Result<std::vector<auth::Domain>> list_domains() override {
    std::lock_guard l(mu_);
    std::vector<auth::Domain> out;
    for (const auto& [k, d] : domains_) out.push_back(d);
    return out;
  }
  core::Result<auth::Account> find_account_by_address(const std::string& address) override {
    std::lock_guard l(mu_);
    ++lookups;
    for (const auto& [id, a] : accounts_) {
      if (a.address == address) return a;
      for (const auto& o : a.other_addresses) {
        if (o == address) return a;
      }
    }
    return core::not_found("no account " + address);
  }
  core::Result<auth::Account> find_account_by_login(const std::string& login) override {
    std::lock_guard l(mu_);
    ++lookups;
    for (const auto& [id, a] : accounts_) {
      if (a.login == login) return a;
    }
    return core::not_found("no login " + login);
  }
  core::Result<auth::Account> find_account_by_id(const std::string& id) override {
    std::lock_guard l(mu_);
    auto it = accounts_.find(id);
    if (it == accounts_.end()) return core::not_found("no account id " + id);
    return it->second;
  }
  core::Result<auth::Alias> find_alias(const std::string& address) override {
    std::lock_guard l(mu_);
    ++lookups;
    auto it = aliases_.find(address);
    if (it == aliases_.end()) return core::not_found("no alias " + address);
    return it->second;
  }
  core::Result<auth::Group> find_group(const std::string& address) override {
    std::lock_guard l(mu_);
    ++lookups;
    auto it = groups_.find(address);
    if (it == groups_.end()) return core::not_found("no group " + address);
    return it->second;
  }
  auth::PasswordCheck check_password(const auth::Account& a, const std::string& pw) override {
    return auth::password::verify(a.password_hash, pw) == auth::password::Verify::ok
               ? auth::PasswordCheck::ok
               : auth::PasswordCheck::mismatch;
  }
  core::Result<std::string> scram_secret(const auth::Account& a) override {
    std::lock_guard l(mu_);
    auto it = scram_.find(a.id);
    if (it == scram_.end()) return core::not_found("no SCRAM secret");
    return it->second;
  }

  std::atomic<int> lookups{0};

 private:
  std::recursive_mutex mu_;
  std::map<std::string, auth::Domain> domains_;
  std::map<std::string, auth::Account> accounts_;
  std::map<std::string, auth::Alias> aliases_;
  std::map<std::string, auth::Group> groups_;
  std::map<std::string, std::string> scram_;
};

// Wraps a Directory; answers Code::unavailable for everything (fail_all) or for lookups
// whose key is in fail_keys, and PasswordCheck::unavailable when fail_passwords.
class FaultyDirectory : public auth::Directory {
 public:
  explicit FaultyDirectory(std::shared_ptr<auth::Directory> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return "faulty(" + inner_->name() + ")"; }

  std::atomic<bool> fail_all{false};
  std::atomic<bool> fail_passwords{false};
  std::set<std::string> fail_keys;  // set before use (not synchronized)

  core::Result<auth::Domain> find_domain(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_domain(k);
  }
  core::Result<std::vector<auth::Domain>> list_domains() override {
    if (fail_all) return down();
    return inner_->list_domains();
  }
  core::Result<auth::Account> find_account_by_address(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_account_by_address(k);
  }
  core::Result<auth::Account> find_account_by_login(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_account_by_login(k);
  }
  core::Result<auth::Account> find_account_by_id(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_account_by_id(k);
  }
  core::Result<auth::Alias> find_alias(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_alias(k);
  }
  core::Result<auth::Group> find_group(const std::string& k) override {
    if (fails(k)) return down();
    return inner_->find_group(k);
  }
  auth::PasswordCheck check_password(const auth::Account& a, const std::string& pw) override {
    if (fail_all || fail_passwords) return auth::PasswordCheck::unavailable;
    return inner_->check_password(a, pw);
  }
  core::Result<std::string> scram_secret(const auth::Account& a) override {
    if (fail_all || fail_passwords) return down();
    return inner_->scram_secret(a);
  }

 private:
  bool fails(const std::string& k) const { return fail_all || fail_keys.count(k) > 0; }
  static core::Status down() { return core::unavailable("directory down", "injected fault"); }
  std::shared_ptr<auth::Directory> inner_;
};

}  // namespace mailroom::testing
