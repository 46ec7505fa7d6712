// Options of the SQL directory ([directory.sql] in the configuration) and its queries.
//
// Every lookup is one configurable SELECT with named parameters. Each query has a fixed set of
// parameters it may use and a fixed set of result columns it may return (matched by name, so
// `SELECT emp_no AS id, ...` maps any existing table). See auth/sql/README.md.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "src/db/mariadb_options.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth::sql {

enum class QueryKind {
  find_domain,
  list_domains,
  find_account_by_address,
  find_account_by_login,
  find_account_by_id,
  find_alias,
  find_group,
  scram_secret,
  // Listings for the sync into the local replica (auth/sync/sql_sync.h).
  list_accounts,
  list_changed_accounts,
  list_aliases,
  list_groups,
  count,
};
constexpr size_t kQueryCount = static_cast<size_t>(QueryKind::count);

struct QuerySpec {
  const char* key;                    // config key in [directory.sql.queries]
  std::vector<std::string> params;    // named parameters it may use
  std::vector<std::string> required;  // result columns it must return
  std::vector<std::string> optional;  // result columns it may return
};
const QuerySpec& query_spec(QueryKind kind);

// The queries for schema/sql/mariadb/001_directory.sql.
const char* default_query(QueryKind kind);

struct SqlDirectoryOptions {
  db::MariaDbOptions pool;
  // Named-parameter SQL per query; "" disables a lookup (it then answers not_found).
  std::array<std::string, kQueryCount> queries;
  // Fail at open when no server answers (default: start anyway, lookups answer unavailable
  // until a server is back, so mail is deferred and never bounced).
  bool require_server_at_start = false;
  // lookup = "live" (ask MariaDB) | "replica" (answer from <data_dir>/directory.db, which the
  // sync keeps in step, so mail flows while MariaDB is down).
  std::string lookup = "live";
  // [directory.sql.sync]
  std::string sync_mode = "off";       // off | poll
  int64_t sync_interval_s = 30;        // poll period (changed_at > high-water mark)
  int64_t full_compare_s = 3600;       // full pass: finds accounts deleted upstream
  std::string on_removed = "disable";  // disable | delete (same policy as the LDAP sync)
  int64_t old_address_grace_s = 0;     // old primary address kept as an alias (0 = not)
};

// Reads [directory.sql] and its [directory.sql.queries] sub-table. Errors go to the section's
// ConfigErrors and name the key; the result holds defaults for keys in error.
SqlDirectoryOptions parse_sql_directory_options(core::ConfigSection& section);

// Splits a multi-valued column ("a@x, b@y" or one value per line), dropping empty items.
std::vector<std::string> split_list(const std::string& value);

}  // namespace mailroom::auth::sql
