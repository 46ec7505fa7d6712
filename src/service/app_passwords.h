// App passwords (auth/app_passwords.h): create, list and revoke, for the administrator
// (mailroomctl app-password) and, later, for users themselves (the HTTP API), with one set of
// rules. Works with every directory backend: the account is only looked up, never written.
//
// A user is named by login (the identity rules of auth/resolver.h), address or immutable id.
// Before listing, the account's app passwords are reconciled with the directory (removed,
// disabled, new password: revoked), so a list never shows one that can no longer log in.
//
// Errors (client-safe, naming the object): not_found for an unknown user or app password;
// already_exists for a name in use; invalid_argument for a bad name, protocol, an inactive
// account or too many app passwords; unavailable when the directory cannot answer.
//
// Threading: one AppPasswords is called from one thread; every call blocks (directory,
// SQLite): a server front end calls it from the worker pool.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "auth/app_passwords.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::auth {
class Resolver;
}

namespace mailroom::service {

// Who asked for a revocation; it becomes the reason "revoked_by_<actor>" in the audit line.
enum class Actor { admin, user };

struct AppPasswordList {
  auth::Account account;
  std::vector<auth::AppPassword> app_passwords;
};

struct NewAppPassword {
  auth::Account account;
  auth::AppPassword record;
  std::string secret;  // display form: print it once, store it nowhere
};

class AppPasswords {
 public:
  AppPasswords(auth::Resolver& resolver, auth::AppPasswordStore& store)
      : resolver_(resolver), store_(store) {}
  // create and revoke are journaled ("app_password.create", "app_password.revoke"; object
  // "app_password:<address>:<name>", object_id the app password's id) and may be dry runs as
  // `change` says (src/service/journal.h). A dry run neither reconciles nor returns a secret.
  AppPasswords(auth::Resolver& resolver, auth::AppPasswordStore& store, ChangeContext change)
      : resolver_(resolver), store_(store), change_(std::move(change)) {}

  // The journal document of an app password (never its secret or hash).
  static std::string app_password_json(const auth::AppPassword& a, const std::string& address);

  // What a front end shows of an app password (the admin API, the web client's settings):
  // {"id","name","protocols","created_at","last_used_at"[,"revoked_at","revoked_reason"]}.
  static std::string public_json(const auth::AppPassword& a);

  // protocols: a subset of imap, pop3, smtp; empty: all.
  core::Result<NewAppPassword> create(const std::string& user, const std::string& name,
                                      const std::vector<std::string>& protocols);
  core::Result<AppPasswordList> list(const std::string& user, bool include_revoked);
  // name_or_id: the app password's name or public id.
  core::Result<auth::AppPassword> revoke(const std::string& user, const std::string& name_or_id,
                                         Actor actor);
  core::Result<std::vector<auth::AppPassword>> revoke_all(const std::string& user, Actor actor);

 private:
  core::Result<auth::Account> find_user(const std::string& user);

  auth::Resolver& resolver_;
  auth::AppPasswordStore& store_;
  ChangeContext change_;
};

}  // namespace mailroom::service
