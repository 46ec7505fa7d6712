// The Directory: who a user is, which addresses exist, which domains are local.
//
// Protocol servers never decide identity themselves; they ask the Resolver (resolver.h), which
// applies the identity rules once on top of a Directory backend. Backends answer single keys.
//
// Every lookup has three outcomes (STYLE.md example 2): found, not found, could not tell.
// Code::not_found is an authoritative "no"; Code::unavailable means the backend is down or
// timed out and MUST become a temporary failure (SMTP 4xx), never a bounce.
//
// Threading: implementations are thread-safe. Calls may block (SQLite, LDAP, SQL): call them
// from the worker pool, never from an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::auth {

using core::Code;
using core::Result;
using core::Status;

enum class AccountStatus { active, disabled, deleted };
const char* account_status_name(AccountStatus s);

struct Account {
  std::string id;       // immutable: UUID (local), entryUUID / objectGUID (LDAP)
  std::string login;    // login name as stored (local part or full address)
  std::string address;  // primary address, local@domain
  std::vector<std::string> other_addresses;  // secondary addresses (not aliases)
  std::string display_name;                  // UTF-8
  std::string password_hash;  // "{SCHEME}..." (empty for backends that verify by bind)
  // When the directory last changed the password, as the directory writes it (LDAP
  // pwdChangedTime, AD pwdLastSet, the SQL column password_changed); "" when not reported.
  // Compared for equality only: a different value revokes app passwords (app_passwords.h).
  std::string password_changed;
  AccountStatus status = AccountStatus::active;
  uint64_t quota_bytes = 0;             // 0 = unlimited
  uint64_t quota_messages = 0;          // 0 = unlimited
  std::vector<std::string> forward_to;  // forwarding targets
  bool forward_keep_copy = true;        // also deliver locally when forwarding
  std::vector<std::string> send_as;     // extra addresses this account may send as
  // The manager as the directory names them: an account id (LDAP `manager` DN resolved by the
  // sync for accounts that are not active), an address (SQL), or the raw DN when it could not
  // be resolved. "" = none. Read by the offboarding workflow (auth/offboarding.h).
  std::string manager;
};

enum class DomainKind { local, alias };

struct Domain {
  std::string name;  // lower-case
  DomainKind kind = DomainKind::local;
  std::string alias_of;   // for DomainKind::alias: the target domain
  std::string catch_all;  // empty: none; else an address to deliver unknown users to
};

struct Alias {
  std::string address;               // lower-case local@domain
  std::vector<std::string> targets;  // addresses (local or remote)
};

enum class GroupSendPolicy {
  anyone,      // anyone, including external senders
  domain,      // senders of local domains (authenticated or not)
  members,     // only members of the group
  moderators,  // only the listed allowed senders
};

struct Group {
  std::string address;  // lower-case
  std::string display_name;
  std::vector<std::string> members;  // addresses: accounts, aliases or other groups
  GroupSendPolicy send_policy = GroupSendPolicy::anyone;
  std::vector<std::string> allowed_senders;  // for moderators
  // Immutable: entryUUID / objectGUID when synced from LDAP, a random UUID for local groups;
  // policies are assigned by it (auth/policy/policy.h). "" when the backend has none.
  std::string id;
};

// Outcome of checking a password (distinct from Result: "wrong password" is not an error).
enum class PasswordCheck { ok, mismatch, unavailable };

class Directory {
 public:
  virtual ~Directory() = default;

  // A short name for logs ("local", "ldap", "sql").
  virtual std::string name() const = 0;

  // Keys are lower-cased by the caller (Resolver).
  virtual Result<Domain> find_domain(const std::string& domain) = 0;
  virtual Result<Account> find_account_by_address(const std::string& address) = 0;
  virtual Result<Account> find_account_by_login(const std::string& login) = 0;
  virtual Result<Account> find_account_by_id(const std::string& id) = 0;
  virtual Result<Alias> find_alias(const std::string& address) = 0;
  virtual Result<Group> find_group(const std::string& address) = 0;

  // Verifies a password for an account found earlier. Local/SQL backends compare the hash;
  // LDAP binds as the user.
  virtual PasswordCheck check_password(const Account& account, const std::string& password) = 0;

  // Every domain (local and alias kinds), for rules that need the whole list (a bare login
  // in multi-domain mode is accepted only when exactly one local domain exists). Backends
  // that cannot list return not_found ("listing not supported"), never an empty list.
  virtual Result<std::vector<Domain>> list_domains() {
    return core::not_found("listing domains not supported");
  }

  // SCRAM-SHA-256 secrets when the backend stores them (RFC 5802/7677 format
  // "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>"); not_found otherwise.
  virtual Result<std::string> scram_secret(const Account& /*account*/) {
    return core::not_found("no SCRAM secret");
  }
};

}  // namespace mailroom::auth
