#include "auth/sql/sql_directory.h"

#include <array>
#include <cstdlib>
#include <optional>

#include "auth/password/password_hash.h"
#include "auth/sql/named_params.h"
#include "auth/sql/sql_options.h"
#include "auth/sync/sql_sync.h"
#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/db/mariadb_pool.h"

namespace mailroom::auth {

namespace sql {
namespace {

using db::MariaDbPool;
using db::PoolProblem;
using db::SqlRows;

// The values a lookup may bind; each compiled query picks the ones it names.
struct Params {
  std::string address, local, domain, login, id, since;
  const std::string& get(const std::string& name) const {
    if (name == "address") return address;
    if (name == "since") return since;
    if (name == "local") return local;
    if (name == "domain") return domain;
    if (name == "login") return login;
    return id;
  }
};

Params address_params(const std::string& address) {
  Params p;
  p.address = address;
  size_t at = address.rfind('@');
  if (at != std::string::npos) {
    p.local = address.substr(0, at);
    p.domain = address.substr(at + 1);
  } else {
    p.local = address;
  }
  return p;
}

const std::optional<std::string>* cell(const SqlRows& rows, size_t r, const char* name) {
  int c = rows.column(name);
  if (c < 0) return nullptr;
  return &rows.rows[r][static_cast<size_t>(c)];
}
std::string text(const SqlRows& rows, size_t r, const char* name) {
  auto v = cell(rows, r, name);
  return v && *v ? **v : std::string();
}
uint64_t number(const SqlRows& rows, size_t r, const char* name) {
  std::string s = text(rows, r, name);
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10);
}
bool flag(const SqlRows& rows, size_t r, const char* name, bool def) {
  std::string s = core::ascii_lower(text(rows, r, name));
  if (s.empty()) return def;
  return !(s == "0" || s == "false" || s == "no" || s == "off" || s == "n" || s == "f");
}
std::vector<std::string> list(const SqlRows& rows, size_t r, const char* name) {
  return split_list(text(rows, r, name));
}

// HR tables say active/disabled many ways; anything unrecognised is treated as disabled so a
// typo never opens an account.
AccountStatus parse_status(const std::string& raw, bool present) {
  if (!present) return AccountStatus::active;
  std::string s = core::ascii_lower(raw);
  if (s == "active" || s == "enabled" || s == "1" || s == "true" || s == "yes" || s == "y" ||
      s == "a") {
    return AccountStatus::active;
  }
  if (s == "deleted" || s == "removed" || s == "d") return AccountStatus::deleted;
  return AccountStatus::disabled;
}

GroupSendPolicy parse_policy(const std::string& raw) {
  std::string s = core::ascii_lower(raw);
  if (s.empty() || s == "anyone") return GroupSendPolicy::anyone;
  if (s == "domain") return GroupSendPolicy::domain;
  if (s == "moderators") return GroupSendPolicy::moderators;
  return GroupSendPolicy::members;  // unknown: the restrictive choice
}

Account account_from_row(const SqlRows& rows, size_t r) {
  Account a;
  a.id = text(rows, r, "id");
  a.address = core::ascii_lower(text(rows, r, "address"));
  a.login = text(rows, r, "login");
  if (a.login.empty()) a.login = a.address;
  a.display_name = text(rows, r, "display_name");
  a.password_hash = text(rows, r, "password_hash");
  a.password_changed = text(rows, r, "password_changed");
  a.manager = text(rows, r, "manager");  // an address or account id (offboarding)
  auto st = cell(rows, r, "status");
  a.status = parse_status(st && *st ? **st : "", st != nullptr);
  a.quota_bytes = number(rows, r, "quota_bytes");
  a.quota_messages = number(rows, r, "quota_messages");
  a.forward_to = list(rows, r, "forward_to");
  a.forward_keep_copy = flag(rows, r, "forward_keep_copy", true);
  a.send_as = list(rows, r, "send_as");
  for (auto& o : list(rows, r, "other_addresses")) {
    o = core::ascii_lower(o);
    if (o != a.address) a.other_addresses.push_back(std::move(o));
  }
  return a;
}

Domain domain_from_row(const SqlRows& rows, size_t r) {
  Domain d;
  d.name = core::ascii_lower(text(rows, r, "name"));
  d.alias_of = core::ascii_lower(text(rows, r, "alias_of"));
  d.kind = core::ascii_lower(text(rows, r, "kind")) == "alias" && !d.alias_of.empty()
               ? DomainKind::alias
               : DomainKind::local;
  d.catch_all = core::ascii_lower(text(rows, r, "catch_all"));
  return d;
}

class SqlDirectory final : public Directory, public SqlListing {
 public:
  SqlDirectory(std::unique_ptr<MariaDbPool> pool, std::array<int, kQueryCount> statement,
               std::array<CompiledSql, kQueryCount> compiled)
      : pool_(std::move(pool)), statement_(statement), compiled_(std::move(compiled)) {}

  std::string name() const override { return "sql"; }

  Result<Domain> find_domain(const std::string& domain) override {
    Params p;
    p.domain = domain;
    auto rows = run(QueryKind::find_domain, p);
    if (!rows) return rows.status();
    if (rows->rows.empty()) return core::not_found("no such domain");
    return domain_from_row(*rows, 0);
  }

  Result<std::vector<Domain>> list_domains() override {
    if (statement_[static_cast<size_t>(QueryKind::list_domains)] < 0) {
      return core::not_found("listing domains not supported");
    }
    auto rows = run(QueryKind::list_domains, Params{});
    if (!rows) return rows.status();
    std::vector<Domain> out;
    for (size_t r = 0; r < rows->rows.size(); ++r) out.push_back(domain_from_row(*rows, r));
    return out;
  }

  Result<Account> find_account_by_address(const std::string& address) override {
    return one_account(QueryKind::find_account_by_address, address_params(address), address);
  }

  Result<Account> find_account_by_login(const std::string& login) override {
    Params p = address_params(login);
    p.address.clear();
    p.login = login;
    return one_account(QueryKind::find_account_by_login, p, login);
  }

  Result<Account> find_account_by_id(const std::string& id) override {
    Params p;
    p.id = id;
    return one_account(QueryKind::find_account_by_id, p, id);
  }

  Result<Alias> find_alias(const std::string& address) override {
    auto rows = run(QueryKind::find_alias, address_params(address));
    if (!rows) return rows.status();
    if (rows->rows.empty()) return core::not_found("no such alias");
    Alias a;
    a.address = address;
    for (size_t r = 0; r < rows->rows.size(); ++r) {
      for (auto& t : list(*rows, r, "targets")) a.targets.push_back(std::move(t));
    }
    return a;
  }

  Result<Group> find_group(const std::string& address) override {
    auto rows = run(QueryKind::find_group, address_params(address));
    if (!rows) return rows.status();
    if (rows->rows.empty()) return core::not_found("no such group");
    Group g;
    g.address = address;
    g.display_name = text(*rows, 0, "display_name");
    g.send_policy = parse_policy(text(*rows, 0, "send_policy"));
    // A query may return one row per member instead of a concatenated list.
    for (size_t r = 0; r < rows->rows.size(); ++r) {
      for (auto& m : list(*rows, r, "members")) g.members.push_back(core::ascii_lower(m));
      for (auto& s : list(*rows, r, "allowed_senders")) {
        g.allowed_senders.push_back(core::ascii_lower(s));
      }
    }
    return g;
  }

  PasswordCheck check_password(const Account& account, const std::string& pw) override {
    if (account.password_hash.empty()) return PasswordCheck::mismatch;
    switch (password::verify(account.password_hash, pw)) {
      case password::Verify::ok:
        return PasswordCheck::ok;
      case password::Verify::mismatch:
        return PasswordCheck::mismatch;
      case password::Verify::unsupported:
        MR_LOG_WARN("event=sql_password_hash_unsupported account={}", core::quote(account.id));
        return PasswordCheck::mismatch;
      case password::Verify::malformed:
        MR_LOG_WARN("event=sql_password_hash_malformed account={}", core::quote(account.id));
        return PasswordCheck::mismatch;
    }
    return PasswordCheck::mismatch;
  }

  Result<std::string> scram_secret(const Account& account) override {
    if (statement_[static_cast<size_t>(QueryKind::scram_secret)] < 0) {
      return core::not_found("no SCRAM secret");
    }
    Params p;
    p.id = account.id;
    p.login = account.login;
    p.address = account.address;
    auto rows = run(QueryKind::scram_secret, p);
    if (!rows) return rows.status();
    if (rows->rows.empty()) return core::not_found("no SCRAM secret");
    std::string s = text(*rows, 0, "scram_secret");
    if (s.empty()) return core::not_found("no SCRAM secret");
    return s;
  }

  // --- SqlListing ---
  Result<std::vector<ListedAccount>> list_accounts(const std::string& since) override {
    Params p;
    p.since = since;
    auto rows = run(since.empty() ? QueryKind::list_accounts : QueryKind::list_changed_accounts, p);
    if (!rows) return rows.status();
    std::vector<ListedAccount> out;
    out.reserve(rows->rows.size());
    for (size_t r = 0; r < rows->rows.size(); ++r) {
      ListedAccount a;
      a.account = account_from_row(*rows, r);
      a.scram_secret = text(*rows, r, "scram_secret");
      a.changed_at = text(*rows, r, "changed_at");
      if (a.account.id.empty()) continue;  // cannot be keyed: skipped (and never removed)
      out.push_back(std::move(a));
    }
    return out;
  }

  Result<std::vector<Alias>> list_aliases() override {
    auto rows = run(QueryKind::list_aliases, Params{});
    if (!rows) return rows.status();
    std::vector<Alias> out;
    for (size_t r = 0; r < rows->rows.size(); ++r) {
      std::string addr = core::ascii_lower(text(*rows, r, "address"));
      if (out.empty() || out.back().address != addr) out.push_back(Alias{addr, {}});
      for (auto& t : list(*rows, r, "targets")) out.back().targets.push_back(std::move(t));
    }
    return out;
  }

  Result<std::vector<Group>> list_groups() override {
    auto rows = run(QueryKind::list_groups, Params{});
    if (!rows) return rows.status();
    std::vector<Group> out;
    for (size_t r = 0; r < rows->rows.size(); ++r) {
      std::string addr = core::ascii_lower(text(*rows, r, "address"));
      if (out.empty() || out.back().address != addr) {
        Group g;
        g.address = addr;
        g.display_name = text(*rows, r, "display_name");
        g.send_policy = parse_policy(text(*rows, r, "send_policy"));
        out.push_back(std::move(g));
      }
      for (auto& m : list(*rows, r, "members")) out.back().members.push_back(core::ascii_lower(m));
      for (auto& m : list(*rows, r, "allowed_senders")) {
        out.back().allowed_senders.push_back(core::ascii_lower(m));
      }
    }
    return out;
  }

 private:
  Result<SqlRows> run(QueryKind kind, const Params& p) {
    size_t k = static_cast<size_t>(kind);
    if (statement_[k] < 0) return SqlRows{};  // lookup disabled in the config: finds nothing
    std::vector<std::string> values;
    values.reserve(compiled_[k].params.size());
    for (const auto& name : compiled_[k].params) values.push_back(p.get(name));
    auto r = pool_->query(static_cast<size_t>(statement_[k]), values);
    if (!r) {
      MR_LOG_WARN("event=sql_lookup_failed query={} error={}", query_spec(kind).key,
                  core::quote(r.status().log_detail()));
    }
    return r;
  }

  Result<Account> one_account(QueryKind kind, const Params& p, const std::string& key) {
    auto rows = run(kind, p);
    if (!rows) return rows.status();
    if (rows->rows.empty()) return core::not_found("no such account");
    Account a = account_from_row(*rows, 0);
    for (size_t r = 1; r < rows->rows.size(); ++r) {
      if (text(*rows, r, "id") != a.id) {
        // Two accounts claim one key: refuse to guess (no login, mail deferred) and tell
        // the administrator.
        MR_LOG_ERROR("event=sql_ambiguous_account query={} key={}", query_spec(kind).key,
                     core::quote(key));
        return core::unavailable("directory inconsistency",
                                 std::string(query_spec(kind).key) + " returned several accounts");
      }
    }
    if (a.id.empty()) {
      MR_LOG_ERROR("event=sql_account_without_id query={}", query_spec(kind).key);
      return core::unavailable("directory inconsistency", "account row with an empty id");
    }
    return a;
  }

  std::unique_ptr<MariaDbPool> pool_;
  std::array<int, kQueryCount> statement_;
  std::array<CompiledSql, kQueryCount> compiled_;
};

// A configuration problem: which key and what is wrong.
struct OpenError {
  std::string key;  // relative to [directory.sql], e.g. "queries.find_group"
  std::string message;
};

bool is_listing(QueryKind k) {
  return k == QueryKind::list_accounts || k == QueryKind::list_changed_accounts ||
         k == QueryKind::list_aliases || k == QueryKind::list_groups;
}

Result<std::shared_ptr<SqlDirectory>> open_impl(const SqlDirectoryOptions& o, OpenError* err,
                                                bool with_listing) {
  std::array<CompiledSql, kQueryCount> compiled;
  std::array<int, kQueryCount> statement;
  statement.fill(-1);
  std::vector<std::string> texts;
  for (size_t i = 0; i < kQueryCount; ++i) {
    const QuerySpec& spec = query_spec(static_cast<QueryKind>(i));
    if (o.queries[i].find_first_not_of(" \t\r\n") == std::string::npos) continue;  // disabled
    if (is_listing(static_cast<QueryKind>(i)) && !with_listing) continue;
    auto c = compile_named_sql(o.queries[i], spec.params);
    if (!c) {
      *err = {std::string("queries.") + spec.key, c.status().client_message()};
      return core::invalid_argument(err->message);
    }
    compiled[i] = std::move(*c);
    statement[i] = static_cast<int>(texts.size());
    texts.push_back(compiled[i].text);
  }
  if (o.pool.servers.empty()) {
    *err = {"servers", "at least one server is required"};
    return core::invalid_argument(err->message);
  }
  auto pool = std::make_unique<MariaDbPool>(o.pool, texts);
  std::vector<std::vector<std::string>> columns;
  PoolProblem problem = pool->check(&columns);
  auto key_of_statement = [&](size_t index) {
    for (size_t i = 0; i < kQueryCount; ++i) {
      if (statement[i] == static_cast<int>(index)) {
        return std::string("queries.") + query_spec(static_cast<QueryKind>(i)).key;
      }
    }
    return std::string("queries");
  };
  switch (problem.kind) {
    case PoolProblem::Kind::none:
      break;
    case PoolProblem::Kind::credentials:
      *err = {"user", "the server refused user \"" + o.pool.user +
                          "\" with the configured password (user / password / password_file): " +
                          problem.message};
      return core::invalid_argument(err->message);
    case PoolProblem::Kind::database:
      *err = {"database", problem.message};
      return core::invalid_argument(err->message);
    case PoolProblem::Kind::statement:
      *err = {key_of_statement(problem.statement), problem.message};
      return core::invalid_argument(err->message);
    case PoolProblem::Kind::unreachable:
      if (o.require_server_at_start) {
        *err = {"servers", "no server answered: " + problem.message};
        return core::invalid_argument(err->message);
      }
      MR_LOG_WARN("event=sql_directory_unreachable_at_start error={} note={}",
                  core::quote(problem.message),
                  core::quote("lookups answer 'try later' until a server is back; queries are "
                              "checked on the first connection"));
      break;
  }
  // Result columns are matched by name: check the names now, not at the first login.
  for (size_t i = 0; problem.kind == PoolProblem::Kind::none && i < kQueryCount; ++i) {
    if (statement[i] < 0) continue;
    const QuerySpec& spec = query_spec(static_cast<QueryKind>(i));
    const auto& cols = columns[static_cast<size_t>(statement[i])];
    std::string key = std::string("queries.") + spec.key;
    for (const auto& req : spec.required) {
      bool found = false;
      for (const auto& c : cols) found = found || core::iequals(c, req);
      if (!found) {
        *err = {key, "the query must return a column named \"" + req + "\" (use AS " + req + ")"};
        return core::invalid_argument(err->message);
      }
    }
    for (const auto& c : cols) {
      bool known = false;
      for (const auto& n : spec.required) known = known || core::iequals(c, n);
      for (const auto& n : spec.optional) known = known || core::iequals(c, n);
      if (!known) {
        std::string names;
        for (const auto& n : spec.required) names += (names.empty() ? "" : ", ") + n;
        for (const auto& n : spec.optional) names += ", " + n;
        *err = {key, "column \"" + c + "\" is not one Mailroom reads (expected: " + names + ")"};
        return core::invalid_argument(err->message);
      }
    }
  }
  MR_LOG_INFO("event=sql_directory_open servers={} pool_size={}", o.pool.servers.size(),
              o.pool.pool_size);
  return std::make_shared<SqlDirectory>(std::move(pool), statement, std::move(compiled));
}

}  // namespace
}  // namespace sql

Result<std::shared_ptr<Directory>> open_sql_directory(const sql::SqlDirectoryOptions& opts) {
  sql::OpenError err;
  auto r = sql::open_impl(opts, &err, opts.sync_mode != "off");
  if (!r) return core::invalid_argument("directory.sql." + err.key + ": " + err.message);
  return std::shared_ptr<Directory>(*r);
}

Result<std::shared_ptr<sql::SqlListing>> sql::open_sql_listing(const SqlDirectoryOptions& opts) {
  OpenError err;
  auto r = open_impl(opts, &err, true);
  if (!r) return core::invalid_argument("directory.sql." + err.key + ": " + err.message);
  return std::shared_ptr<SqlListing>(*r);
}

Result<std::shared_ptr<Directory>> open_sql_directory(core::ConfigSection& section,
                                                      const std::string& data_dir,
                                                      bool start_sync) {
  core::ConfigErrors* errors = section.errors();
  size_t before = errors ? errors->messages().size() : 0;
  sql::SqlDirectoryOptions opts = sql::parse_sql_directory_options(section);
  if (errors && errors->messages().size() > before) {
    return core::invalid_argument(errors->messages()[before]);
  }
  sql::OpenError err;
  auto r = sql::open_impl(opts, &err, opts.sync_mode != "off");
  if (!r) {
    std::string where = err.key.rfind("queries.", 0) == 0
                            ? section.child("queries").where(err.key.substr(8))
                            : section.where(err.key);
    return core::invalid_argument(where + ": " + err.message);
  }
  if (opts.lookup == "replica" || opts.sync_mode != "off") {
    return sync::open_sql_replica(*r, *r, opts, data_dir, start_sync);
  }
  return std::shared_ptr<Directory>(*r);
}

}  // namespace mailroom::auth
