// Policy bundles (issue 22, G6): what an administrator decides for a whole group of people
// at once — quota, maximum message size, mail to and from outside the company, retention,
// allowed login methods, POP3 — and the one rule that turns the bundles that apply to an
// account into its effective policy.
//
// Where bundles live: in directory.db (schema/sql/sqlite/004_policies.sql), written by
// mailroomctl / the admin API through src/service/policies.h (journaled), read by mailroomd on
// every lookup, so a change applies at once and group membership changes apply with the
// directory sync that brings them. See NOTES-policy.md for why not the config file.
//
// Precedence (resolve_policy), per attribute, first rule that decides wins:
//   1. a value set on the account itself (today: quota_bytes / quota_messages non-zero);
//   2. among the bundles that set the attribute, the closest scope:
//      user > group (nested groups included) > domain > everyone;
//   3. within one scope, the highest `priority`;
//   4. at equal priority, the most permissive value: unlimited over any limit and the larger
//      limit, "allowed" over "refused", the longer retention (0 = forever), the union of
//      login methods. Group grants add up, as directory admins expect of group membership;
//      a restriction that must win over other groups gets a higher priority.
//   5. no bundle sets it: the built-in default (unlimited, allowed, all methods, the
//      server's [directory] retention).
//
// Threading: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/directory.h"

namespace mailroom::auth {

// The login methods a bundle may allow. A SASL mechanism or a plain login maps to one:
// PLAIN / LOGIN / SCRAM-* / IMAP LOGIN / POP3 USER+PASS with the account's password =
// "password"; the same with an app password = "app-password"; OAUTHBEARER / XOAUTH2 = "sso";
// GSSAPI = "kerberos".
inline constexpr const char* kLoginMethods[] = {"password", "app-password", "sso", "kerberos"};
// "oauthbearer" is accepted as another name of "sso". invalid_argument for anything else.
Result<std::string> parse_login_method(const std::string& text);
// The method of a successful login by `mechanism` ("" or "LOGIN" for a plain login).
std::string login_method_of(const std::string& mechanism, bool app_password);

// Every value optional: nullopt = "this bundle does not set it".
struct PolicyValues {
  std::optional<uint64_t> quota_bytes;        // 0 = unlimited
  std::optional<uint64_t> quota_messages;     // 0 = unlimited
  std::optional<uint64_t> max_message_bytes;  // 0 = unlimited (the listener's limit still holds)
  std::optional<bool> send_outside;           // submission to domains not hosted here
  std::optional<bool> receive_outside;        // port 25 mail from senders of other domains
  std::optional<bool> pop3;
  std::optional<int64_t> retention_seconds;  // mailbox kept after the account goes; 0 = forever
  std::optional<std::vector<std::string>> login_methods;  // kLoginMethods names
  bool operator==(const PolicyValues&) const = default;
};

struct PolicyBundle {
  std::string name;  // [A-Za-z0-9._-]{1,64}, compared case-insensitively
  std::string description;
  int priority = 0;
  PolicyValues values;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};
// invalid_argument naming the name when it is not [A-Za-z0-9._-]{1,64}.
Status check_policy_name(const std::string& name);

// Strongest first (the order of precedence rule 2).
enum class PolicyScope { user, group, domain, everyone };
const char* policy_scope_name(PolicyScope s);
Result<PolicyScope> parse_policy_scope(const std::string& text);

struct PolicyAssignment {
  std::string policy;
  PolicyScope scope = PolicyScope::everyone;
  std::string target;  // account id, group id, domain name, "" for everyone
  std::string label;   // the address / name given at assignment
  int64_t created_at = 0;
};

// A bundle that applies to an account, and through what.
struct AppliedBundle {
  PolicyBundle bundle;
  PolicyScope scope = PolicyScope::everyone;
  std::string via;  // the group's address, the domain, "" for user / everyone
};

// What applies to one account, each value with where it came from: "default", "account" or
// "policy <name> (group staff@example.com)" — several names when tied bundles were merged.
struct EffectivePolicy {
  uint64_t quota_bytes = 0;
  uint64_t quota_messages = 0;
  uint64_t max_message_bytes = 0;
  bool send_outside = true;
  bool receive_outside = true;
  bool pop3 = true;
  std::optional<int64_t> retention_seconds;  // nullopt: the server's [directory] retention
  std::vector<std::string> login_methods;    // empty: every method
  struct Source {
    std::string attribute;
    std::string from;
  };
  std::vector<Source> sources;       // one per attribute, in the order of the fields above
  std::vector<std::string> bundles;  // every bundle that applied, strongest first

  std::string source_of(const std::string& attribute) const;
  bool allows_login_method(const std::string& method) const;
};

// Precedence rules 1-5 above. `applied` in any order.
EffectivePolicy resolve_policy(const Account& account, const std::vector<AppliedBundle>& applied);

}  // namespace mailroom::auth
