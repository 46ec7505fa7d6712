// The base of the Directory decorators (STYLE.md example 7, as LevelDB's EnvWrapper): every
// call goes to `inner`, so a wrapper overrides only what it changes (the credential cache:
// check_password; the LDAP and SQL replicas: where lookups are answered).
//
// A new virtual in Directory gets its forward here, once, instead of in every wrapper.
//
// Ownership: shares `inner`. Threading: as thread-safe as `inner`.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"

namespace mailroom::auth {

class ForwardingDirectory : public Directory {
 public:
  explicit ForwardingDirectory(std::shared_ptr<Directory> inner) : inner_(std::move(inner)) {}

  std::string name() const override { return inner_->name(); }
  Result<Domain> find_domain(const std::string& domain) override {
    return inner_->find_domain(domain);
  }
  Result<Account> find_account_by_address(const std::string& address) override {
    return inner_->find_account_by_address(address);
  }
  Result<Account> find_account_by_login(const std::string& login) override {
    return inner_->find_account_by_login(login);
  }
  Result<Account> find_account_by_id(const std::string& id) override {
    return inner_->find_account_by_id(id);
  }
  Result<Alias> find_alias(const std::string& address) override {
    return inner_->find_alias(address);
  }
  Result<Group> find_group(const std::string& address) override {
    return inner_->find_group(address);
  }
  PasswordCheck check_password(const Account& account, const std::string& password) override {
    return inner_->check_password(account, password);
  }
  Result<std::vector<Domain>> list_domains() override { return inner_->list_domains(); }
  Result<std::string> scram_secret(const Account& account) override {
    return inner_->scram_secret(account);
  }

 protected:
  Directory& inner() const { return *inner_; }

 private:
  std::shared_ptr<Directory> inner_;
};

}  // namespace mailroom::auth
