// Where policy bundles (policy.h) take effect without each protocol knowing about them.
//
// PolicySource: the effective policy of an account, computed on every call from directory.db
// (the local directory, or the replica the LDAP / SQL sync writes; group membership is the
// replica's, so a membership change applies with the sync that brings it, a bundle change at
// once). No cache: a few indexed SQLite reads per call.
//
// with_policies(): a Directory decorator whose accounts carry the effective quota
// (Account::quota_bytes / quota_messages), so every existing quota path — SMTP RCPT, queue
// delivery, Sieve, IMAP APPEND / COPY / GETQUOTA — enforces the group's quota unchanged.
//
// with_login_policies(): an Authenticator decorator that refuses, after the credential
// checked out, a login whose method (policy.h kLoginMethods) or protocol (POP3) the account's
// policy does not allow. The client sees the plain authentication failure of a wrong
// password (no hint that the password was right); the log says why
// (event=auth.policy_refused).
//
// Errors: a policy that cannot be read (directory.db busy) makes lookups answer unavailable
// (a 4xx, never a bounce) and logins a temporary failure.
//
// Threading: thread-safe (LocalDirectory is); calls block: use the worker pool.
#pragma once

#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "auth/forwarding_directory.h"
#include "auth/policy/policy.h"

namespace mailroom::auth {

class LocalDirectory;

class PolicySource {
 public:
  explicit PolicySource(std::shared_ptr<LocalDirectory> store) : store_(std::move(store)) {}
  // `account` as the directory answered it (its own quota is precedence rule 1); the
  // memberships and bundles are looked up by its id.
  Result<EffectivePolicy> effective(const Account& account);
  LocalDirectory& store() { return *store_; }

 private:
  std::shared_ptr<LocalDirectory> store_;
};

class PolicyDirectory : public ForwardingDirectory {
 public:
  PolicyDirectory(std::shared_ptr<Directory> inner, std::shared_ptr<PolicySource> policies)
      : ForwardingDirectory(inner), inner_(std::move(inner)), policies_(std::move(policies)) {}
  Result<Account> find_account_by_address(const std::string& address) override;
  Result<Account> find_account_by_login(const std::string& login) override;
  Result<Account> find_account_by_id(const std::string& id) override;
  // The undecorated directory (administrative writes go to it: src/service/writable_directory).
  const std::shared_ptr<Directory>& undecorated() const { return inner_; }

 private:
  Result<Account> apply(Result<Account> found);
  std::shared_ptr<Directory> inner_;
  std::shared_ptr<PolicySource> policies_;
};

std::shared_ptr<Directory> with_policies(std::shared_ptr<Directory> inner,
                                         std::shared_ptr<PolicySource> policies);

std::shared_ptr<Authenticator> with_login_policies(std::shared_ptr<Authenticator> inner,
                                                   std::shared_ptr<PolicySource> policies);

// The refusal with_login_policies applies, for its tests and the admin view: "" when the
// account may log in by `method` over `protocol`, else the reason (for the log only).
std::string login_refusal(const EffectivePolicy& policy, const std::string& method,
                          const std::string& protocol);

}  // namespace mailroom::auth
