#include "src/service/role_grants.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <set>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/base64.h"
#include "src/core/log.h"
#include "src/db/sqlite.h"
#include "src/service/admin_store.h"

namespace mailroom::service {
namespace {

constexpr const char* kRoleGrantColumns =
    "id, role, domains, principal_kind, principal, label, created_at, created_by, members_of";

std::string role_grant_new_id() {
  unsigned char raw[6];
  if (RAND_bytes(raw, sizeof(raw)) != 1) std::abort();  // no randomness: nothing is safe
  return core::hex_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof(raw)));
}

const char* role_grant_kind_name(RoleGrant::Kind k) {
  return k == RoleGrant::Kind::account ? "account" : "group";
}

// A row; false when its role is unknown to this program (a newer writer): it grants nothing.
bool role_grant_row(const db::Stmt& s, RoleGrant& g) {
  auto role = parse_role(s.text(1));
  if (!role) return false;
  g.id = s.text(0);
  g.role = *role;
  g.domains = split_grant_domains(s.text(2));
  g.kind = s.text(3) == "group" ? RoleGrant::Kind::group : RoleGrant::Kind::account;
  g.principal = s.text(4);
  g.label = s.text(5);
  g.created_at = s.i64(6);
  g.created_by = s.text(7);
  g.members_of = s.text(8);
  return true;
}

void role_grant_log(const char* event, const RoleGrant& g, const std::string& by) {
  MR_LOG_INFO("event={} id={} role={} domains={} members_of={} principal={} by={}", event, g.id,
              role_name(g.role), core::quote(join_grant_domains(g.domains)),
              core::quote(g.members_of), core::quote(g.principal_text()), core::quote(by));
}

// The addresses that make `account` a member of a group (lower-case).
std::set<std::string> role_grant_member_keys(const auth::Account& account) {
  std::set<std::string> out;
  if (!account.address.empty()) out.insert(core::ascii_lower(account.address));
  for (const auto& a : account.other_addresses) out.insert(core::ascii_lower(a));
  if (account.login.find('@') != std::string::npos) out.insert(core::ascii_lower(account.login));
  return out;
}

}  // namespace

std::string RoleGrant::principal_text() const {
  return std::string(role_grant_kind_name(kind)) + ":" + (label.empty() ? principal : label);
}

RoleGrants::RoleGrants(std::shared_ptr<AdminStore> db, std::shared_ptr<auth::Resolver> resolver,
                       const core::Clock& clock)
    : db_(std::move(db)), resolver_(std::move(resolver)), clock_(clock) {}

core::Result<auth::Account> RoleGrants::find_account(const std::string& user) {
  auth::Directory& dir = resolver_->directory();
  // As service::AppPasswords: login, address, immutable id; "could not tell" stops the search.
  auto by_login = resolver_->find_login(user);
  if (by_login || by_login.code() != core::Code::not_found) return by_login;
  auto by_address = dir.find_account_by_address(core::ascii_lower(user));
  if (by_address || by_address.code() != core::Code::not_found) return by_address;
  auto by_id = dir.find_account_by_id(user);
  if (by_id || by_id.code() != core::Code::not_found) return by_id;
  return core::not_found("account " + user + " not found");
}

core::Result<RoleGrants::Principal> RoleGrants::parse_principal(const std::string& text,
                                                                bool must_exist) {
  auto colon = text.find(':');
  std::string kind = core::ascii_lower(text.substr(0, colon == std::string::npos ? 0 : colon));
  std::string name = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (name.empty() || (kind != "account" && kind != "group")) {
    return core::invalid_argument("principal '" + text +
                                  "' is neither account:<address> nor group:<address>");
  }
  if (kind == "group") {
    std::string address = core::ascii_lower(name);
    if (must_exist) {
      auto g = resolver_->directory().find_group(address);
      if (!g) {
        if (g.code() == core::Code::not_found)
          return core::not_found("group " + address + " not found");
        return g.status();
      }
    }
    return Principal{RoleGrant::Kind::group, address, address};
  }
  auto account = find_account(name);
  if (account) return Principal{RoleGrant::Kind::account, account->id, account->address};
  if (must_exist || account.code() != core::Code::not_found) return account.status();
  return Principal{RoleGrant::Kind::account, name, core::ascii_lower(name)};
}

core::Result<RoleGrant> RoleGrants::grant(Role role, std::vector<std::string> domains,
                                          const std::string& principal,
                                          const std::string& created_by,
                                          const std::string& members_of) {
  Grant shape{role, std::move(domains), "", members_of};
  if (auto st = normalize_grant(shape); !st) return st;
  auto p = parse_principal(principal, /*must_exist=*/true);
  if (!p) return p.status();
  if (auto st = check_grant_group(shape, resolver_.get()); !st) return st;
  RoleGrant g;
  g.id = role_grant_new_id();
  g.role = role;
  g.domains = shape.domains;
  g.kind = p->kind;
  g.principal = p->key;
  g.label = p->label;
  g.created_at = clock_.unix_seconds();
  g.created_by = created_by;
  g.members_of = shape.members_of;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    auto ins = db.prepare(
        "INSERT INTO role_grants(id, role, domains, principal_kind, principal, label, created_at,"
        " created_by, members_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!ins) return ins.status();
    ins->bind(1, g.id).bind(2, role_name(g.role)).bind(3, join_grant_domains(g.domains));
    ins->bind(4, role_grant_kind_name(g.kind)).bind(5, g.principal).bind(6, g.label);
    ins->bind(7, g.created_at).bind(8, g.created_by).bind(9, g.members_of);
    auto s = ins->run();
    if (!s && s.code() == core::Code::already_exists) {
      return core::Status::error(
          core::Code::already_exists,
          g.principal_text() + " already has this " + role_name(g.role) + " grant", s.log_detail());
    }
    return s;
  });
  if (!st) return st;
  role_grant_log("admin.role_granted", g, created_by);
  return g;
}

core::Result<std::vector<RoleGrant>> RoleGrants::list(const std::string& principal) {
  std::optional<Principal> p;
  if (!principal.empty()) {
    auto parsed = parse_principal(principal, /*must_exist=*/false);
    if (!parsed) return parsed.status();
    p = *parsed;
  }
  std::vector<RoleGrant> out;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    std::string sql = std::string("SELECT ") + kRoleGrantColumns + " FROM role_grants";
    if (p) sql += " WHERE principal_kind = ?1 AND (principal = ?2 OR label = ?3)";
    sql += " ORDER BY principal_kind, label, role, domains, members_of";
    auto q = db.prepare(sql);
    if (!q) return q.status();
    if (p) q->bind(1, role_grant_kind_name(p->kind)).bind(2, p->key).bind(3, p->label);
    core::Status err;
    while (q->step(&err)) {
      RoleGrant g;
      if (role_grant_row(*q, g)) out.push_back(std::move(g));
    }
    return err;
  });
  if (!st) return st;
  return out;
}

core::Result<std::vector<RoleGrant>> RoleGrants::revoke(Role role, const std::string& principal,
                                                        const std::string& revoked_by) {
  auto p = parse_principal(principal, /*must_exist=*/false);
  if (!p) return p.status();
  std::vector<RoleGrant> out;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    db::Transaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    auto q = db.prepare(std::string("SELECT ") + kRoleGrantColumns +
                        " FROM role_grants WHERE principal_kind = ?1 AND"
                        " (principal = ?2 OR label = ?3) AND role = ?4");
    if (!q) return q.status();
    q->bind(1, role_grant_kind_name(p->kind)).bind(2, p->key).bind(3, p->label);
    q->bind(4, role_name(role));
    core::Status err;
    while (q->step(&err)) {
      RoleGrant g;
      if (role_grant_row(*q, g)) out.push_back(std::move(g));
    }
    if (!err) return err;
    q->reset();
    if (out.empty()) {
      return core::not_found(std::string(role_grant_kind_name(p->kind)) + ":" + p->label +
                             " has no " + role_name(role) + " grant");
    }
    for (const auto& g : out) {
      auto del = db.prepare("DELETE FROM role_grants WHERE id = ?1");
      if (!del) return del.status();
      del->bind(1, g.id);
      if (auto s = del->run(); !s) return s;
    }
    return tx.commit();
  });
  if (!st) return st;
  for (const auto& g : out) role_grant_log("admin.role_revoked", g, revoked_by);
  return out;
}

core::Result<RoleGrant> RoleGrants::revoke_id(const std::string& id,
                                              const std::string& revoked_by) {
  RoleGrant g;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    db::Transaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    auto q =
        db.prepare(std::string("SELECT ") + kRoleGrantColumns + " FROM role_grants WHERE id = ?1");
    if (!q) return q.status();
    q->bind(1, id);
    core::Status err;
    if (!q->step(&err)) {
      return err.is_ok() ? core::not_found("role grant " + id + " not found") : err;
    }
    role_grant_row(*q, g);
    g.id = q->text(0);
    q->reset();
    auto del = db.prepare("DELETE FROM role_grants WHERE id = ?1");
    if (!del) return del.status();
    del->bind(1, id);
    if (auto s = del->run(); !s) return s;
    return tx.commit();
  });
  if (!st) return st;
  role_grant_log("admin.role_revoked", g, revoked_by);
  return g;
}

core::Result<bool> RoleGrants::holds_account(const auth::Account& account,
                                             const std::string& group) {
  const auto keys = role_grant_member_keys(account);
  const auth::ResolverOptions& limits = resolver_->options();
  auth::Directory& dir = resolver_->directory();
  // Breadth first from the granted group: depth 1 is the group itself.
  std::set<std::string> visited{group};
  std::vector<std::string> level{group};
  size_t lookups = 0;
  for (size_t depth = 1; !level.empty(); ++depth) {
    if (depth > limits.max_group_depth) {
      MR_LOG_WARN("event=admin.group_too_deep group={} account={} max_depth={}", core::quote(group),
                  core::quote(account.id), limits.max_group_depth);
      return false;
    }
    std::vector<std::string> next;
    for (const auto& address : level) {
      if (++lookups > limits.max_expansion) {
        MR_LOG_WARN("event=admin.group_too_large group={} account={} max_expansion={}",
                    core::quote(group), core::quote(account.id), limits.max_expansion);
        return false;
      }
      auto g = dir.find_group(address);
      if (!g) {
        if (g.code() == core::Code::not_found) continue;  // a member that is not a group
        return g.status();
      }
      for (const auto& m : g->members) {
        std::string key = core::ascii_lower(m);
        if (keys.count(key)) return true;
        if (visited.insert(key).second) next.push_back(std::move(key));
      }
    }
    level = std::move(next);
  }
  return false;
}

core::Result<Caller> RoleGrants::caller_for_account(const auth::Account& account) {
  Caller caller;
  caller.name = account.address;
  if (account.status != auth::AccountStatus::active) return caller;
  std::vector<RoleGrant> direct, by_group;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    auto q = db.prepare(std::string("SELECT ") + kRoleGrantColumns +
                        " FROM role_grants WHERE (principal_kind = 'account' AND principal = ?1)"
                        " OR principal_kind = 'group' ORDER BY principal_kind, principal, role");
    if (!q) return q.status();
    q->bind(1, account.id);
    core::Status err;
    while (q->step(&err)) {
      RoleGrant g;
      if (!role_grant_row(*q, g)) continue;
      (g.kind == RoleGrant::Kind::account ? direct : by_group).push_back(std::move(g));
    }
    return err;
  });
  if (!st) return st;
  for (const auto& g : direct) {
    caller.grants.push_back(Grant{g.role, g.domains, "account:" + account.address, g.members_of});
  }
  std::string checked_group;  // rows are ordered by group: one walk per group
  bool member = false;
  for (const auto& g : by_group) {
    if (g.principal != checked_group || checked_group.empty()) {
      auto held = holds_account(account, g.principal);
      if (!held) return held.status();
      checked_group = g.principal;
      member = *held;
    }
    if (member) {
      caller.grants.push_back(Grant{g.role, g.domains, "group:" + g.principal, g.members_of});
    }
  }
  return caller;
}

core::Result<Caller> RoleGrants::caller_for_user(const std::string& user) {
  auto account = find_account(user);
  if (!account) return account.status();
  return caller_for_account(*account);
}

}  // namespace mailroom::service
