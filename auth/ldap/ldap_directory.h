// The LDAP directory backend: OpenLDAP or Active Directory as the source of identity.
//
// Lookups are single searches with escaped filters (ldap_options.h profiles); passwords are
// verified by binding as the user's DN (never by reading hashes). A lookup that cannot reach
// any server, or times out, answers Code::unavailable (451 in SMTP), never not_found.
//
// open_ldap_directory() parses [directory.ldap], then checks the configuration against the
// server (URIs, TLS, service bind, bases, filters, mapped attributes) and fails with an error
// naming the setting and the LDAP result. With lookup = "replica" the returned Directory
// answers from the local replica (<data_dir>/directory.db) kept in step by the sync engine
// (auth/sync/sync_engine.h; this backend's source: auth/sync/ldap_sync.h) and verifies
// passwords by LDAP bind.
//
// Threading: thread-safe; every call blocks (use the worker pool).
#pragma once

#include <memory>
#include <string>

#include "auth/directory.h"
#include "src/core/status.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth {

namespace ldap {
struct LdapOptions;
class LdapClient;
}  // namespace ldap

class LdapDirectory : public Directory {
 public:
  // Does not contact the server; open_ldap_directory() does the checks.
  explicit LdapDirectory(std::shared_ptr<ldap::LdapClient> client);
  ~LdapDirectory() override;

  std::string name() const override { return "ldap"; }
  Result<Domain> find_domain(const std::string& domain) override;
  Result<std::vector<Domain>> list_domains() override;
  Result<Account> find_account_by_address(const std::string& address) override;
  Result<Account> find_account_by_login(const std::string& login) override;
  Result<Account> find_account_by_id(const std::string& id) override;
  Result<Alias> find_alias(const std::string& address) override;
  Result<Group> find_group(const std::string& address) override;
  // Binds as the account's DN (found by id; cached).
  PasswordCheck check_password(const Account& account, const std::string& password) override;

  // The DN of an account id (for binds and tests); not_found / unavailable.
  Result<std::string> dn_of(const std::string& id);
  // The primary address of the entry at `dn` (a user, contact or group), "" when it has none.
  Result<std::string> address_of_dn(const std::string& dn);
  std::shared_ptr<ldap::LdapClient> client() const { return client_; }

 private:
  struct Impl;
  std::shared_ptr<ldap::LdapClient> client_;
  std::unique_ptr<Impl> impl_;
};

// Parses [directory.ldap], checks it against the server and returns the backend (the live
// LdapDirectory, or the replica-backed one when lookup = "replica"). Errors name the setting
// ("directory.ldap.bind_dn: ... Invalid credentials (49)") and are also added to the
// section's ConfigErrors.
// `start_sync` false: a replica without its background sync (auth/directory_registry.h).
core::Result<std::shared_ptr<Directory>> open_ldap_directory(core::ConfigSection& ldap_section,
                                                             const std::string& data_dir,
                                                             bool start_sync = true);

}  // namespace mailroom::auth
