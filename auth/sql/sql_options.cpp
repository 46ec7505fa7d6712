#include "auth/sql/sql_options.h"

#include "src/core/config_section.h"

namespace mailroom::auth::sql {

namespace {
const std::vector<std::string> kAddressParams = {"address", "local", "domain"};
const std::vector<std::string> kAccountColumns = {
    "login",       "display_name",    "password_hash", "status",
    "quota_bytes", "quota_messages",  "forward_to",    "forward_keep_copy",
    "send_as",     "other_addresses", "scram_secret",  "password_changed",
    "manager"};

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

SqlDirectoryOptions parse_sql_directory_options(core::ConfigSection& section) {
  SqlDirectoryOptions o;
  o.pool = db::parse_mariadb_options(section, "mailroom", "mailroom");
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
