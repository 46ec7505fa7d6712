#include "src/service/app_passwords.h"

#include <algorithm>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {
namespace {

std::string revoke_reason(Actor actor) {
  return actor == Actor::admin ? "revoked_by_admin" : "revoked_by_user";
}

}  // namespace

core::Result<auth::Account> AppPasswords::find_user(const std::string& user) {
  if (user.empty()) return core::invalid_argument("no user given");
  auth::Directory& dir = resolver_.directory();
  // Login first (single-domain logins by local part), then address, then the immutable id;
  // "could not tell" stops the search: a directory outage is not "no such user".
  auto by_login = resolver_.find_login(user);
  if (by_login || by_login.code() != core::Code::not_found) return by_login;
  auto by_address = dir.find_account_by_address(core::ascii_lower(user));
  if (by_address || by_address.code() != core::Code::not_found) return by_address;
  auto by_id = dir.find_account_by_id(user);
  if (by_id || by_id.code() != core::Code::not_found) return by_id;
  return core::not_found("user " + user + " not found");
}

std::string AppPasswords::app_password_json(const auth::AppPassword& a,
                                            const std::string& address) {
  return tracking::JsonObject()
      .add("id", a.id)
      .add("account_id", a.account_id)
      .add("address", address)
      .add("name", a.name)
      .add("protocols", a.protocols)
      .add("created_at", static_cast<uint64_t>(a.created_at))
      .add("revoked_at", static_cast<uint64_t>(a.revoked_at))
      .add("revoked_reason", a.revoked_reason)
      .str();
}

std::string AppPasswords::public_json(const auth::AppPassword& a) {
  tracking::JsonObject o;
  o.add("id", a.id)
      .add("name", a.name)
      .add("protocols", a.protocols)
      .add("created_at", static_cast<uint64_t>(a.created_at))
      .add("last_used_at", static_cast<uint64_t>(a.last_used_at));
  if (a.revoked_at) {
    o.add("revoked_at", static_cast<uint64_t>(a.revoked_at))
        .add("revoked_reason", a.revoked_reason);
  }
  return o.str();
}

namespace {

JournalEntry app_password_entry(const ChangeContext& ctx, const std::string& operation,
                                const auth::Account& account, const auth::AppPassword* before,
                                const auth::AppPassword& after) {
  const std::string restore =
      tracking::encode_fields({{"id", after.id}, {"account_id", after.account_id}});
  return tracking::make_entry(
      ctx, operation, "app_password:" + account.address + ":" + after.name, after.id,
      before ? AppPasswords::app_password_json(*before, account.address) : "null",
      AppPasswords::app_password_json(after, account.address), before ? restore : "", restore);
}

}  // namespace

core::Result<NewAppPassword> AppPasswords::create(const std::string& user, const std::string& name,
                                                  const std::vector<std::string>& protocols) {
  auto account = find_user(user);
  if (!account) return account.status();
  // An old app password of a changed password must not survive next to the new one.
  if (!change_.dry_run) {
    if (auto r = store_.reconcile(account->id, account); !r) return r.status();
  }
  auto created = store_.create(*account, name, protocols, change_.dry_run);
  if (!created) return created.status();
  std::vector<JournalEntry> records;
  records.push_back(
      app_password_entry(change_, "app_password.create", *account, nullptr, created->record));
  if (auto st = tracking::finish_entries(change_, std::move(records)); !st) {
    // No unjournaled app password: nobody has seen its secret yet.
    (void)store_.revoke(account->id, created->record.id, "journal_failed");
    return st;
  }
  return NewAppPassword{*account, std::move(created->record), std::move(created->secret)};
}

core::Result<AppPasswordList> AppPasswords::list(const std::string& user, bool include_revoked) {
  auto account = find_user(user);
  if (!account) return account.status();
  if (auto r = store_.reconcile(account->id, account); !r) return r.status();
  auto all = store_.list(account->id, include_revoked);
  if (!all) return all.status();
  return AppPasswordList{*account, std::move(*all)};
}

core::Result<auth::AppPassword> AppPasswords::revoke(const std::string& user,
                                                     const std::string& name_or_id, Actor actor) {
  auto account = find_user(user);
  if (!account) return account.status();
  auto active = store_.list(account->id, /*include_revoked=*/false);
  if (!active) return active.status();
  auto it = std::find_if(active->begin(), active->end(), [&](const auth::AppPassword& a) {
    return a.name == name_or_id || a.id == name_or_id;
  });
  if (it == active->end()) {
    return core::not_found("no active app password '" + name_or_id + "' for " + account->address);
  }
  const auth::AppPassword before = *it;
  auth::AppPassword after = before;
  if (change_.dry_run) {
    after.revoked_at = change_.journal ? change_.journal->now() : core::real_clock().unix_seconds();
    after.revoked_reason = revoke_reason(actor);
  } else {
    auto r = store_.revoke(account->id, before.id, revoke_reason(actor));
    if (!r && r.code() == core::Code::not_found) {
      return core::not_found("no active app password '" + name_or_id + "' for " + account->address);
    }
    if (!r) return r;
    after = *r;
  }
  std::vector<JournalEntry> records;
  records.push_back(app_password_entry(change_, "app_password.revoke", *account, &before, after));
  if (auto st = tracking::finish_entries(change_, std::move(records)); !st) return st;
  return after;
}

core::Result<std::vector<auth::AppPassword>> AppPasswords::revoke_all(const std::string& user,
                                                                      Actor actor) {
  auto account = find_user(user);
  if (!account) return account.status();
  std::vector<auth::AppPassword> before;
  if (auto active = store_.list(account->id, false); active) {
    before = std::move(*active);
  } else {
    return active.status();
  }
  std::vector<auth::AppPassword> revoked;
  if (change_.dry_run) {
    for (auto a : before) {
      a.revoked_at = change_.journal ? change_.journal->now() : core::real_clock().unix_seconds();
      a.revoked_reason = revoke_reason(actor);
      revoked.push_back(std::move(a));
    }
  } else {
    auto r = store_.revoke_all(account->id, revoke_reason(actor));
    if (!r) return r;
    revoked = std::move(*r);
  }
  std::vector<JournalEntry> records;
  for (const auto& a : revoked) {
    auto was = std::find_if(before.begin(), before.end(),
                            [&](const auth::AppPassword& b) { return b.id == a.id; });
    records.push_back(app_password_entry(change_, "app_password.revoke", *account,
                                         was == before.end() ? nullptr : &*was, a));
  }
  if (auto st = tracking::finish_entries(change_, std::move(records)); !st) return st;
  return revoked;
}

}  // namespace mailroom::service
