#include "auth/sql/sql_options.h"

#include <fstream>
#include <sstream>

#include "src/core/config_section.h"

namespace mailroom::auth::sql {

namespace {
const std::vector<std::string> kAddressParams = {"address", "local", "domain"};
const std::vector<std::string> kAccountColumns = {
    "login",       "display_name",    "password_hash", "status",
    "quota_bytes", "quota_messages",  "forward_to",    "forward_keep_copy",
    "send_as",     "other_addresses", "scram_secret"};

const std::vector<std::string> kListColumns = [] {
  auto v = kAccountColumns;
  v.push_back("changed_at");
  return v;
}();

const std::array<QuerySpec, kQueryCount>& specs() {
  static const std::array<QuerySpec, kQueryCount> s = {{
      {"find_domain", {"domain"}, {"name"}, {"kind", "alias_of", "catch_all"}},
      {"list_domains", {}, {"name"}, {"kind", "alias_of", "catch_all"}},
      {"find_account_by_address", kAddressParams, {"id", "address"}, kAccountColumns},
      {"find_account_by_login", {"login", "local", "domain"}, {"id", "address"}, kAccountColumns},
      {"find_account_by_id", {"id"}, {"id", "address"}, kAccountColumns},
      {"find_alias", kAddressParams, {"targets"}, {"address"}},
      {"find_group",
       kAddressParams,
       {"address"},
       {"display_name", "members", "send_policy", "allowed_senders"}},
      {"scram_secret", {"id", "login", "address"}, {"scram_secret"}, {}},
      {"list_accounts", {}, {"id", "address"}, kListColumns},
      {"list_changed_accounts", {"since"}, {"id", "address", "changed_at"}, kListColumns},
      {"list_aliases", {}, {"address", "targets"}, {}},
      {"list_groups",
       {},
       {"address"},
       {"display_name", "members", "send_policy", "allowed_senders"}},
  }};
  return s;
}

// The account columns of the shipped schema; WHERE clauses differ per lookup.
#define MR_ACCOUNT_COLUMNS                                                       \
  "SELECT a.id, a.login, a.address, a.display_name, a.password_hash, a.status, " \
  "a.quota_bytes, a.quota_messages, a.forward_keep_copy, "                       \
  "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "      \
  "WHERE x.account_id = a.id AND x.kind = 'other') AS other_addresses, "         \
  "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "      \
  "WHERE x.account_id = a.id AND x.kind = 'forward') AS forward_to, "            \
  "(SELECT GROUP_CONCAT(x.address SEPARATOR ',') FROM account_addresses x "      \
  "WHERE x.account_id = a.id AND x.kind = 'send_as') AS send_as "
#define MR_ACCOUNT_SELECT MR_ACCOUNT_COLUMNS "FROM accounts a "
#define MR_LIST_SELECT                                                                      \
  MR_ACCOUNT_COLUMNS                                                                        \
  ", a.scram_secret, DATE_FORMAT(a.changed_at, '%Y-%m-%d %H:%i:%s.%f') AS changed_at FROM " \
  "accounts a "

const char* const kDefaults[kQueryCount] = {
    "SELECT name, kind, alias_of, catch_all FROM domains WHERE name = :domain",
    "SELECT name, kind, alias_of, catch_all FROM domains ORDER BY name",
    // A UNION of two index lookups: "address = x OR id IN (...)" made MariaDB scan every
    // account (bench/sql: 13 lookups/s at 100k accounts).
    MR_ACCOUNT_SELECT
    "JOIN (SELECT id FROM accounts WHERE address = :address UNION "
    "SELECT o.account_id FROM account_addresses o WHERE o.address = :address AND o.kind = 'other') "
    "k "
    "ON a.id = k.id",
    MR_ACCOUNT_SELECT "WHERE a.login = :login",
    MR_ACCOUNT_SELECT "WHERE a.id = :id",
    "SELECT address, target AS targets FROM aliases WHERE address = :address",
    "SELECT g.address, g.display_name, g.send_policy, "
    "(SELECT GROUP_CONCAT(m.member SEPARATOR ',') FROM group_members m "
    "WHERE m.group_address = g.address) AS members, "
    "(SELECT GROUP_CONCAT(s.sender SEPARATOR ',') FROM group_senders s "
    "WHERE s.group_address = g.address) AS allowed_senders "
    "FROM `groups` g WHERE g.address = :address",
    "SELECT scram_secret FROM accounts WHERE id = :id",
    MR_LIST_SELECT "ORDER BY a.id",
    MR_LIST_SELECT "WHERE a.changed_at >= :since ORDER BY a.changed_at",
    "SELECT address, target AS targets FROM aliases ORDER BY address",
    "SELECT g.address, g.display_name, g.send_policy, "
    "(SELECT GROUP_CONCAT(m.member SEPARATOR ',') FROM group_members m "
    "WHERE m.group_address = g.address) AS members, "
    "(SELECT GROUP_CONCAT(s.sender SEPARATOR ',') FROM group_senders s "
    "WHERE s.group_address = g.address) AS allowed_senders "
    "FROM `groups` g ORDER BY g.address",
};
#undef MR_LIST_SELECT
#undef MR_ACCOUNT_SELECT
#undef MR_ACCOUNT_COLUMNS

std::string read_secret_file(core::ConfigSection& section, const std::string& key,
                             const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    section.error(key, "cannot read " + path);
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}
}  // namespace

const QuerySpec& query_spec(QueryKind kind) { return specs()[static_cast<size_t>(kind)]; }
const char* default_query(QueryKind kind) { return kDefaults[static_cast<size_t>(kind)]; }

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    size_t b = cur.find_first_not_of(" \t\r");
    size_t e = cur.find_last_not_of(" \t\r");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : value) {
    if (c == ',' || c == '\n' || c == ';') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

PoolOptions parse_pool_options(core::ConfigSection& section, const std::string& default_database,
                               const std::string& default_user) {
  PoolOptions p;
  for (const auto& s : section.get_strings("servers", {"127.0.0.1:3306"})) {
    auto a = parse_server_address(s);
    if (!a) {
      section.error("servers", "\"" + s + "\" is not host, host:port, [ipv6]:port or /socket");
      continue;
    }
    p.servers.push_back(*a);
  }
  if (p.servers.empty()) section.error("servers", "at least one server is required");
  p.database = section.get_string("database", default_database);
  p.user = section.get_string("user", default_user);
  p.password = section.get_string("password", "");
  if (auto file = section.get_optional_string("password_file")) {
    if (section.has("password"))
      section.error("password_file", "set password or password_file, not both");
    p.password = read_secret_file(section, "password_file", *file);
  }
  p.pool_size = static_cast<size_t>(section.get_int("pool_size", 4, 1, 256));
  p.connect_timeout = std::chrono::seconds(section.get_seconds("connect_timeout", 5));
  p.read_timeout = std::chrono::seconds(section.get_seconds("read_timeout", 10));
  p.write_timeout = std::chrono::seconds(section.get_seconds("write_timeout", 10));
  p.pool_wait = std::chrono::seconds(section.get_seconds("pool_wait", 10));
  p.retry_after = std::chrono::seconds(section.get_seconds("retry_after", 30));
  p.max_connection_age = std::chrono::seconds(section.get_seconds("max_connection_age", 600));
  for (const char* k : {"connect_timeout", "read_timeout", "write_timeout"}) {
    if (section.has(k) && section.get_seconds(k, 1) < 1) section.error(k, "must be at least 1s");
  }
  p.tls = section.get_bool("tls", false);
  p.tls_ca = section.get_string("tls_ca", "");
  return p;
}

SqlDirectoryOptions parse_sql_directory_options(core::ConfigSection& section) {
  SqlDirectoryOptions o;
  o.pool = parse_pool_options(section, "mailroom", "mailroom");
  o.require_server_at_start = section.get_bool("require_server_at_start", false);
  o.lookup = section.get_choice("lookup", "live", {"live", "replica"});
  core::ConfigSection sync = section.child("sync");
  o.sync_mode = sync.get_choice("mode", o.lookup == "replica" ? "poll" : "off", {"off", "poll"});
  o.sync_interval_s = sync.get_seconds("interval", 30);
  o.full_compare_s = sync.get_seconds("full_compare_interval", 3600);
  o.on_removed = sync.get_choice("on_removed", "disable", {"disable", "delete"});
  o.old_address_grace_s = sync.get_seconds("old_address_grace", 0);
  sync.finish();
  if (o.lookup == "replica" && o.sync_mode == "off") {
    section.error("lookup", "lookup = \"replica\" needs [directory.sql.sync] mode = \"poll\"");
  }

  core::ConfigSection q = section.child("queries");
  for (size_t i = 0; i < kQueryCount; ++i) {
    auto kind = static_cast<QueryKind>(i);
    o.queries[i] = q.get_string(query_spec(kind).key, default_query(kind));
  }
  q.finish();
  section.finish();
  return o;
}

}  // namespace mailroom::auth::sql
