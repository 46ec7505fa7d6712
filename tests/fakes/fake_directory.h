// The in-memory auth::Directory for unit tests (STYLE.md example 7), with fault injection.
//
//   auto dir = std::make_shared<mailroom::testing::FakeDirectory>();
//   dir->add_domain("example.com");
//   dir->add_account("alice@example.com", "wonderland");  // stores a real (fast) hash
//   dir->fail_all = true;  // every answer is now Code::unavailable / PasswordCheck::unavailable
//
// check_password verifies against the account the fake holds under that id (as a live LDAP
// bind would), so set_password() takes effect for Account copies a test made earlier.
// Thread-safe, like every Directory; the fault switches may be flipped while in use, except
// fail_keys (set it before the calls it should affect).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "auth/directory.h"

namespace mailroom::testing {

class FakeDirectory : public auth::Directory {
 public:
  // --- setup (keys are lower-cased here, as the Resolver lower-cases lookups) ---
  void add_domain(const std::string& name, const std::string& alias_of = "",
                  const std::string& catch_all = "");
  // Returns the account: id "id-<address>" unless given, login = address. The password is
  // hashed with SSHA512 (fast); empty: no password matches.
  auth::Account& add_account(const std::string& address, const std::string& password = "",
                             const std::string& id = "");
  void set_password(const std::string& id, const std::string& password);
  void set_scram_secret(const std::string& id, const std::string& secret);
  void add_alias(const std::string& address, std::vector<std::string> targets);
  auth::Group& add_group(const std::string& address, std::vector<std::string> members,
                         auth::GroupSendPolicy policy = auth::GroupSendPolicy::anyone);
  // The stored account, to edit in place (status, login, forwarding...); nullptr if unknown.
  auth::Account* account(const std::string& id);

  // --- fault injection: Code::unavailable ("directory down") instead of the answer ---
  std::atomic<bool> fail_all{false};        // every call
  std::atomic<bool> fail_passwords{false};  // check_password and scram_secret only
  std::set<std::string> fail_keys;          // lookups of these keys (domain, address, login, id)

  // --- auth::Directory ---
  std::string name() const override { return "fake"; }
  core::Result<auth::Domain> find_domain(const std::string& domain) override;
  core::Result<std::vector<auth::Domain>> list_domains() override;
  core::Result<auth::Account> find_account_by_address(const std::string& address) override;
  core::Result<auth::Account> find_account_by_login(const std::string& login) override;
  core::Result<auth::Account> find_account_by_id(const std::string& id) override;
  core::Result<auth::Alias> find_alias(const std::string& address) override;
  core::Result<auth::Group> find_group(const std::string& address) override;
  auth::PasswordCheck check_password(const auth::Account& account,
                                     const std::string& password) override;
  core::Result<std::string> scram_secret(const auth::Account& account) override;

 private:
  bool fails(const std::string& key) const { return fail_all || fail_keys.count(key) > 0; }
  // The entry of `table` under `key`: injected fault, not_found (`missing` + key) or found.
  template <typename T>
  core::Result<T> find_in(const std::map<std::string, T>& table, const std::string& key,
                          const char* missing);

  std::mutex mu_;
  std::map<std::string, auth::Domain> domains_;
  std::map<std::string, auth::Account> accounts_;  // by id
  std::map<std::string, auth::Alias> aliases_;
  std::map<std::string, auth::Group> groups_;
  std::map<std::string, std::string> scram_;  // by account id
};

}  // namespace mailroom::testing
