#include "src/service/admin_store.h"

#include <algorithm>
#include <filesystem>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/db/sqlite.h"
#include "src/service/api_tokens.h"
#include "src/service/role_grants.h"

namespace mailroom::service {
namespace {

core::Status admin_store_errors(db::SqliteFailure kind, std::string detail) {
  switch (kind) {
    case db::SqliteFailure::busy:
      return core::unavailable("administration database busy", std::move(detail));
    case db::SqliteFailure::io:
      return core::io_error("administration database error", std::move(detail));
    case db::SqliteFailure::missing:
      return core::not_found("administration database does not exist", std::move(detail));
    case db::SqliteFailure::constraint:
    case db::SqliteFailure::other:
      break;
  }
  return db::default_sqlite_errors(kind, std::move(detail));
}

// Migration N brings the schema from version N-1 to N. Append, never edit: a file in the
// field may be at any earlier version.
constexpr const char* kAdminMigrations[] = {
    // 1: API tokens (their grants in a child table) and role grants to accounts and groups.
    "CREATE TABLE api_tokens ("
    " id TEXT PRIMARY KEY,"                      // public id: the token's lookup key
    " name TEXT NOT NULL,"                       //
    " secret_sha256 BLOB NOT NULL,"              // SHA-256 of the whole token string
    " created_at INTEGER NOT NULL,"              //
    " expires_at INTEGER NOT NULL,"              //
    " last_used_at INTEGER NOT NULL DEFAULT 0,"  //
    " revoked_at INTEGER NOT NULL DEFAULT 0,"    //
    " created_by TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at = 0;"
    "CREATE TABLE api_token_grants ("
    " token_id TEXT NOT NULL REFERENCES api_tokens(id),"
    " seq INTEGER NOT NULL,"
    " role TEXT NOT NULL,"
    " domains TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (token_id, seq));"
    "CREATE TABLE role_grants ("
    " id TEXT PRIMARY KEY,"
    " role TEXT NOT NULL,"
    " domains TEXT NOT NULL DEFAULT '',"
    " principal_kind TEXT NOT NULL CHECK (principal_kind IN ('account', 'group')),"
    " principal TEXT NOT NULL,"         // account id or group address
    " label TEXT NOT NULL DEFAULT '',"  // the account's address when granted (display only)
    " created_at INTEGER NOT NULL,"
    " created_by TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX role_grants_unique ON role_grants(principal_kind, principal, role,"
    " domains);",
    // 2: member scope (issue 18): a grant limited to the members of a directory group ("" =
    // none, every existing grant). The uniqueness of a role grant includes it.
    "ALTER TABLE role_grants ADD COLUMN members_of TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE api_token_grants ADD COLUMN members_of TEXT NOT NULL DEFAULT '';"
    "DROP INDEX role_grants_unique;"
    "CREATE UNIQUE INDEX role_grants_unique ON role_grants(principal_kind, principal, role,"
    " domains, members_of);",
};
constexpr int kAdminMigrationCount = static_cast<int>(std::size(kAdminMigrations));
static_assert(kAdminMigrationCount == AdminStore::kSchemaVersion);

core::Status admin_migrate(db::Sqlite& db) {
  db::Transaction tx(db);
  if (auto st = tx.begin(); !st) return st;
  auto v = db.prepare("PRAGMA user_version");
  if (!v) return v.status();
  core::Status err;
  if (!v->step(&err)) return err.is_ok() ? core::internal_error("no user_version") : err;
  const int64_t version = v->i64(0);
  v->reset();
  if (version > kAdminMigrationCount) {
    return core::internal_error("admin.db has schema version " + std::to_string(version) +
                                ", newer than this program's " +
                                std::to_string(kAdminMigrationCount));
  }
  for (int64_t i = version; i < kAdminMigrationCount; ++i) {
    if (auto st = db.exec(kAdminMigrations[i]); !st) return st;
  }
  if (version < kAdminMigrationCount) {
    if (auto st = db.exec("PRAGMA user_version = " + std::to_string(kAdminMigrationCount)); !st) {
      return st;
    }
  }
  return tx.commit();
}

// RFC 1035 2.3.1 letters, digits and hyphens (plus '_', seen in real names), dot-separated
// labels of 1-63 bytes, 253 in all; an A-label for an IDN (RFC 5890).
bool admin_domain_ok(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

}  // namespace

AdminStore::~AdminStore() = default;

core::Result<std::shared_ptr<AdminStore>> AdminStore::open(const AdminStoreOptions& o) {
  std::error_code ec;
  auto parent = std::filesystem::path(o.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  db::SqliteOptions so;
  so.path = o.path;
  so.private_file = true;  // token digests: 0600
  so.busy_timeout_ms = o.busy_timeout_ms;
  so.synchronous = db::SqliteOptions::Sync::full;  // a revocation must survive a crash
  so.foreign_keys = true;
  so.errors = admin_store_errors;
  auto opened = db::Sqlite::open(so);
  if (!opened) return opened.status();
  std::shared_ptr<AdminStore> store(new AdminStore());
  store->db_ = std::move(opened).value();
  if (auto st = admin_migrate(*store->db_); !st) return st;
  return store;
}

core::Status AdminStore::with_db(const std::function<core::Status(db::Sqlite&)>& body) {
  std::lock_guard lock(mu_);
  return body(*db_);
}

core::Status normalize_grant(Grant& grant) {
  if (!grant.members_of.empty()) {
    grant.members_of = core::ascii_lower(grant.members_of);
    if (!core::parse_address(grant.members_of)) {
      return core::invalid_argument("'" + grant.members_of + "' is not a group address");
    }
    if (grant.role == Role::global_admin) {
      return core::invalid_argument("global_admin is not limited to a group's members");
    }
  }
  for (auto& d : grant.domains) {
    d = core::ascii_lower(d);
    if (!admin_domain_ok(d)) {
      return core::invalid_argument("'" + d + "' is not a domain name");
    }
  }
  std::sort(grant.domains.begin(), grant.domains.end());
  grant.domains.erase(std::unique(grant.domains.begin(), grant.domains.end()), grant.domains.end());
  if (grant.role == Role::global_admin && !grant.domains.empty()) {
    return core::invalid_argument("global_admin is not limited to domains: give no domain");
  }
  if (grant.role == Role::domain_admin && grant.domains.empty()) {
    return core::invalid_argument("domain_admin needs at least one domain");
  }
  return core::Status::ok();
}

core::Status check_grant_group(const Grant& grant, auth::Resolver* resolver) {
  if (grant.members_of.empty()) return core::Status::ok();
  if (!resolver) {
    return core::unavailable("no directory to look up the group " + grant.members_of);
  }
  auto g = resolver->directory().find_group(grant.members_of);
  if (g) return core::Status::ok();
  if (g.code() == core::Code::not_found) {
    return core::not_found("group " + grant.members_of + " not found");
  }
  return g.status();
}

std::string join_grant_domains(const std::vector<std::string>& domains) {
  std::string out;
  for (const auto& d : domains) out += (out.empty() ? "" : ",") + d;
  return out;
}

std::vector<std::string> split_grant_domains(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) out.emplace_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

core::Result<AdminAccess> open_admin_access(const std::string& data_dir,
                                            std::shared_ptr<auth::Resolver> resolver,
                                            const core::Clock& clock) {
  auto db = AdminStore::open({data_dir + "/admin.db"});
  if (!db) return db.status();
  AdminAccess out;
  out.db = *db;
  out.tokens = std::make_shared<ApiTokenStore>(out.db, clock, resolver);
  out.grants = std::make_shared<RoleGrants>(out.db, std::move(resolver), clock);
  return out;
}

}  // namespace mailroom::service
