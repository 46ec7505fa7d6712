#include "src/service/app_passwords.h"

#include "auth/resolver.h"
#include "src/core/address.h"

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

core::Result<NewAppPassword> AppPasswords::create(const std::string& user, const std::string& name,
                                                  const std::vector<std::string>& protocols) {
  auto account = find_user(user);
  if (!account) return account.status();
  // An old app password of a changed password must not survive next to the new one.
  if (auto r = store_.reconcile(account->id, account); !r) return r.status();
  auto created = store_.create(*account, name, protocols);
  if (!created) return created.status();
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
  auto r = store_.revoke(account->id, name_or_id, revoke_reason(actor));
  if (!r && r.code() == core::Code::not_found) {
    return core::not_found("no active app password '" + name_or_id + "' for " + account->address);
  }
  return r;
}

core::Result<std::vector<auth::AppPassword>> AppPasswords::revoke_all(const std::string& user,
                                                                      Actor actor) {
  auto account = find_user(user);
  if (!account) return account.status();
  return store_.revoke_all(account->id, revoke_reason(actor));
}

}  // namespace mailroom::service
