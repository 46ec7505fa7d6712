// <data_dir>/admin.db: the state of delegated administration (issue 17), shared by the API
// tokens (api_tokens.h) and the role grants (role_grants.h).
//
// Why a file of its own: like app-passwords.db it must work with every directory backend
// (a live LDAP or SQL directory has no local file to put it in; directory.db is the sync's
// replica and is rebuilt), and mailroomctl writes it beside a running mailroomd (SQLite WAL).
// Mode 0600 (it holds token digests), created on first use, synchronous=FULL: a revocation
// acknowledged to the administrator survives a crash.
//
// Schema migrations are numbered (PRAGMA user_version); each runs once, in a transaction. A
// file written by a newer Mailroom (a higher version) is refused rather than misread.
//
// Threading: thread-safe. One connection behind a mutex, shared by every worker of the HTTP
// API; each call holds the mutex for one short SQLite transaction (an indexed read or a few
// writes), never across a directory lookup.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "src/core/clock.h"
#include "src/core/status.h"
#include "src/service/admin_access.h"

namespace mailroom::db {
class Sqlite;
}
namespace mailroom::auth {
class Resolver;
}

namespace mailroom::service {

class ApiTokenStore;
class RoleGrants;

struct AdminStoreOptions {
  std::string path;  // <data_dir>/admin.db
  int busy_timeout_ms = 5000;
};

class AdminStore {
 public:
  // Opens or creates the file (and its folder) and brings its schema up to date. io_error
  // when it cannot be created; internal when it was written by a newer schema version.
  static core::Result<std::shared_ptr<AdminStore>> open(const AdminStoreOptions& options);
  ~AdminStore();
  AdminStore(const AdminStore&) = delete;
  AdminStore& operator=(const AdminStore&) = delete;

  // Runs `body` with the connection, under the store's mutex.
  core::Status with_db(const std::function<core::Status(db::Sqlite&)>& body);

  static constexpr int kSchemaVersion = 2;

 private:
  AdminStore() = default;
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

// Checks a grant and brings it to its stored form: domains lower-cased, syntax-checked,
// sorted, without duplicates; members_of lower-cased. invalid_argument: a domain_admin grant
// without a domain, a global_admin grant with domains or a member scope (it is never scoped),
// a malformed domain name or group address. Whether the group exists is the stores' check.
core::Status normalize_grant(Grant& grant);
// For a grant limited to a group's members (after normalize_grant): not_found when the
// directory knows no group of that address (an account's or an alias's address is no group),
// unavailable when it cannot tell or there is no directory to ask. ok for any other grant.
core::Status check_grant_group(const Grant& grant, auth::Resolver* resolver);
// The stored form of a grant's domains: "a.example,b.example" ("" = every domain), and back.
std::string join_grant_domains(const std::vector<std::string>& domains);
std::vector<std::string> split_grant_domains(std::string_view text);

// Both stores on one admin.db, as mailroomd's HTTP API and mailroomctl open them.
struct AdminAccess {
  std::shared_ptr<AdminStore> db;
  std::shared_ptr<ApiTokenStore> tokens;
  std::shared_ptr<RoleGrants> grants;
};
// `resolver` answers account and group lookups for the role grants; `clock` dates tokens and
// grants and must outlive the objects.
core::Result<AdminAccess> open_admin_access(const std::string& data_dir,
                                            std::shared_ptr<auth::Resolver> resolver,
                                            const core::Clock& clock = core::real_clock());

}  // namespace mailroom::service
