// LocalDirectory: domains, aliases, groups, sync state and conflicts.
#include <algorithm>

#include "auth/local/local_directory.h"
#include "auth/local/local_directory_impl.h"
#include "src/core/address.h"

namespace mailroom::auth {

using namespace local_detail;

// --- domains ---

namespace {
Domain read_domain(const db::Stmt& q) {
  Domain d;
  d.name = q.text(0);
  d.kind = q.text(1) == "alias" ? DomainKind::alias : DomainKind::local;
  d.alias_of = q.text(2);
  d.catch_all = q.text(3);
  return d;
}

// Validates a domain against the stored ones (alias targets must exist and be local).
Status check_domain(LocalDirectory& dir, Domain& d) {
  auto n = normalize_domain(d.name);
  if (!n) return n.status();
  d.name = *n;
  if (d.kind == DomainKind::alias) {
    auto t = normalize_domain(d.alias_of);
    if (!t) return t.status();
    d.alias_of = *t;
    if (d.alias_of == d.name)
      return core::invalid_argument("domain " + d.name + " cannot alias itself");
    auto target = dir.find_domain(d.alias_of);
    if (!target) {
      return target.code() == Code::not_found
                 ? core::invalid_argument("alias target domain " + d.alias_of + " does not exist")
                 : target.status();
    }
    if (target->kind != DomainKind::local) {
      return core::invalid_argument("alias target " + d.alias_of + " is itself an alias domain");
    }
  } else {
    d.alias_of.clear();
  }
  if (!d.catch_all.empty()) {
    auto c = normalize_address(d.catch_all, "catch-all");
    if (!c) return c.status();
    d.catch_all = *c;
  }
  return Status::ok();
}
}  // namespace

Result<Domain> LocalDirectory::find_domain(const std::string& domain) {
  std::lock_guard lock(impl_->mu);
  auto q =
      impl_->db->prepare("SELECT name, kind, alias_of, catch_all FROM domains WHERE name = ?1");
  if (!q) return q.status();
  q->bind(1, core::ascii_lower(domain));
  Status st;
  if (!q->step(&st)) return st.is_ok() ? core::not_found("domain " + domain + " not found") : st;
  return read_domain(*q);
}

Result<std::vector<Domain>> LocalDirectory::list_domains() {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare("SELECT name, kind, alias_of, catch_all FROM domains ORDER BY name");
  if (!q) return q.status();
  std::vector<Domain> out;
  Status st;
  while (q->step(&st)) out.push_back(read_domain(*q));
  if (!st) return st;
  return out;
}

Status LocalDirectory::add_domain(const Domain& domain) {
  Domain d = domain;
  return impl_->write([&]() -> Status {
    auto st = check_domain(*this, d);
    if (!st) return st;
    auto q = impl_->db->prepare(
        "INSERT INTO domains(name, kind, alias_of, catch_all, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?5)");
    if (!q) return q.status();
    q->bind(1, d.name).bind(2, d.kind == DomainKind::alias ? "alias" : "local");
    q->bind(3, d.alias_of).bind(4, d.catch_all).bind(5, now());
    st = q->run();
    if (st.code() == Code::already_exists) {
      return Status::error(Code::already_exists, "domain " + d.name + " already exists");
    }
    return st;
  });
}

Status LocalDirectory::change_domain(const Domain& domain) {
  Domain d = domain;
  return impl_->write([&]() -> Status {
    auto st = check_domain(*this, d);
    if (!st) return st;
    if (d.kind == DomainKind::alias) {
      // A domain that others alias cannot itself become an alias (one level only).
      auto q = impl_->db->prepare("SELECT count(*) FROM domains WHERE alias_of = ?1");
      if (!q) return q.status();
      q->bind(1, d.name);
      if (q->step(&st) && q->i64(0) > 0) {
        return core::invalid_argument("domain " + d.name +
                                      " has alias domains; it must stay local");
      }
      if (!st) return st;
    }
    auto q = impl_->db->prepare(
        "UPDATE domains SET kind = ?2, alias_of = ?3, catch_all = ?4, updated_at = ?5 "
        "WHERE name = ?1");
    if (!q) return q.status();
    q->bind(1, d.name).bind(2, d.kind == DomainKind::alias ? "alias" : "local");
    q->bind(3, d.alias_of).bind(4, d.catch_all).bind(5, now());
    st = q->run();
    if (!st) return st;
    if (impl_->db->changes() == 0) return core::not_found("domain " + d.name + " not found");
    return Status::ok();
  });
}

Status LocalDirectory::remove_domain(const std::string& name, bool force) {
  auto n = normalize_domain(name);
  if (!n) return n.status();
  return impl_->write([&]() -> Status {
    auto dom = find_domain(*n);
    if (!dom) return dom.status();
    static const char* kUsers[][2] = {
        {"accounts", "SELECT count(*) FROM accounts WHERE domain = ?1"},
        {"aliases", "SELECT count(*) FROM aliases WHERE domain = ?1"},
        {"groups", "SELECT count(*) FROM mail_groups WHERE domain = ?1"},
        {"alias domains", "SELECT count(*) FROM domains WHERE alias_of = ?1"},
    };
    Status st;
    for (const auto& u : kUsers) {
      auto q = impl_->db->prepare(u[1]);
      if (!q) return q.status();
      q->bind(1, *n);
      int64_t count = q->step(&st) ? q->i64(0) : 0;
      if (!st) return st;
      if (count > 0 && !force) {
        return core::invalid_argument("domain " + *n + " still has " + std::to_string(count) + " " +
                                      u[0] + " (use --force to remove them too)");
      }
    }
    for (const char* sql :
         {"DELETE FROM group_members WHERE member LIKE '%@' || ?1",
          "DELETE FROM accounts WHERE domain = ?1", "DELETE FROM aliases WHERE domain = ?1",
          "DELETE FROM mail_groups WHERE domain = ?1", "DELETE FROM domains WHERE alias_of = ?1",
          "DELETE FROM domains WHERE name = ?1"}) {
      auto q = impl_->db->prepare(sql);
      if (!q) return q.status();
      st = q->bind(1, *n).run();
      if (!st) return st;
    }
    return Status::ok();
  });
}

// --- aliases ---

Result<Alias> LocalDirectory::find_alias(const std::string& address) {
  std::lock_guard lock(impl_->mu);
  auto q =
      impl_->db->prepare("SELECT target FROM alias_targets WHERE alias = ?1 ORDER BY position");
  if (!q) return q.status();
  Alias a;
  a.address = core::ascii_lower(address);
  q->bind(1, a.address);
  Status st;
  while (q->step(&st)) a.targets.push_back(q->text(0));
  if (!st) return st;
  if (a.targets.empty()) return core::not_found("alias " + address + " not found");
  return a;
}

namespace {
Status write_alias_targets(db::Sqlite& db, const Alias& a) {
  auto del = db.prepare("DELETE FROM alias_targets WHERE alias = ?1");
  if (!del) return del.status();
  auto st = del->bind(1, a.address).run();
  if (!st) return st;
  int64_t pos = 0;
  for (const auto& t : a.targets) {
    auto q = db.prepare("INSERT INTO alias_targets(alias, position, target) VALUES(?1, ?2, ?3)");
    if (!q) return q.status();
    st = q->bind(1, a.address).bind(2, pos++).bind(3, t).run();
    if (!st) return st;
  }
  return Status::ok();
}

Result<Alias> normalized_alias(const Alias& in) {
  Alias a;
  auto n = normalize_address(in.address, "alias");
  if (!n) return n.status();
  a.address = *n;
  auto t = normalize_addresses(in.targets, "alias target");
  if (!t) return t.status();
  if (t->empty())
    return core::invalid_argument("alias " + a.address + " needs at least one target");
  a.targets = *t;
  return a;
}
}  // namespace

Status LocalDirectory::add_alias(const Alias& alias) {
  auto a = normalized_alias(alias);
  if (!a) return a.status();
  return impl_->write([&]() -> Status {
    auto dom = find_domain(domain_of(a->address));
    if (!dom) {
      return dom.code() == Code::not_found
                 ? core::invalid_argument("domain " + domain_of(a->address) + " is not local")
                 : dom.status();
    }
    auto q = impl_->db->prepare(
        "INSERT INTO aliases(address, domain, source, created_at, updated_at) "
        "VALUES(?1, ?2, 'local', ?3, ?3)");
    if (!q) return q.status();
    auto st = q->bind(1, a->address).bind(2, domain_of(a->address)).bind(3, now()).run();
    if (st.code() == Code::already_exists) {
      return Status::error(Code::already_exists, "alias " + a->address + " already exists");
    }
    if (!st) return st;
    return write_alias_targets(*impl_->db, *a);
  });
}

Status LocalDirectory::set_alias_targets(const std::string& address,
                                         const std::vector<std::string>& targets) {
  auto a = normalized_alias(Alias{address, targets});
  if (!a) return a.status();
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare("UPDATE aliases SET updated_at = ?2 WHERE address = ?1");
    if (!q) return q.status();
    auto st = q->bind(1, a->address).bind(2, now()).run();
    if (!st) return st;
    if (impl_->db->changes() == 0) return core::not_found("alias " + a->address + " not found");
    return write_alias_targets(*impl_->db, *a);
  });
}

Status LocalDirectory::remove_alias(const std::string& address) {
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare("DELETE FROM aliases WHERE address = ?1");
    if (!q) return q.status();
    auto st = q->bind(1, core::ascii_lower(address)).run();
    if (!st) return st;
    if (impl_->db->changes() == 0) return core::not_found("alias " + address + " not found");
    return Status::ok();
  });
}

Result<std::vector<Alias>> LocalDirectory::list_aliases(const std::string& domain) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mu);
    auto q = impl_->db->prepare(
        "SELECT address FROM aliases WHERE (?1 = '' OR domain = ?1) ORDER BY address");
    if (!q) return q.status();
    q->bind(1, core::ascii_lower(domain));
    Status st;
    while (q->step(&st)) names.push_back(q->text(0));
    if (!st) return st;
  }
  std::vector<Alias> out;
  for (const auto& n : names) {
    auto a = find_alias(n);
    if (a)
      out.push_back(std::move(*a));
    else if (a.code() != Code::not_found)
      return a.status();
  }
  return out;
}

Result<UpsertResult> LocalDirectory::upsert_alias(const Alias& alias, const std::string& source) {
  auto a = normalized_alias(alias);
  if (!a) return a.status();
  UpsertResult result = UpsertResult::unchanged;
  auto st = impl_->write([&]() -> Status {
    auto old = find_alias(a->address);
    if (old && old->targets == a->targets) return Status::ok();
    if (!old && old.code() != Code::not_found) return old.status();
    result = old ? UpsertResult::updated : UpsertResult::created;
    auto q = impl_->db->prepare(
        "INSERT INTO aliases(address, domain, source, created_at, updated_at) "
        "VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(address) DO UPDATE SET source = ?3, "
        "updated_at = ?4");
    if (!q) return q.status();
    auto s =
        q->bind(1, a->address).bind(2, domain_of(a->address)).bind(3, source).bind(4, now()).run();
    if (!s) return s;
    return write_alias_targets(*impl_->db, *a);
  });
  if (!st) return st;
  return result;
}

Result<std::vector<std::string>> LocalDirectory::list_alias_addresses(const std::string& source) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare("SELECT address FROM aliases WHERE source = ?1 ORDER BY address");
  if (!q) return q.status();
  q->bind(1, source);
  std::vector<std::string> out;
  Status st;
  while (q->step(&st)) out.push_back(q->text(0));
  if (!st) return st;
  return out;
}

// --- groups ---

Result<Group> LocalDirectory::find_group(const std::string& address) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "SELECT address, display_name, send_policy, allowed_senders, id FROM mail_groups "
      "WHERE address = ?1");
  if (!q) return q.status();
  q->bind(1, core::ascii_lower(address));
  Status st;
  if (!q->step(&st)) return st.is_ok() ? core::not_found("group " + address + " not found") : st;
  Group g;
  g.address = q->text(0);
  g.display_name = q->text(1);
  g.send_policy = parse_policy(q->text(2));
  g.allowed_senders = split_lines(q->text(3));
  g.id = q->text(4);
  auto m = impl_->db->prepare(
      "SELECT member FROM group_members WHERE group_address = ?1 ORDER BY member");
  if (!m) return m.status();
  m->bind(1, g.address);
  while (m->step(&st)) g.members.push_back(m->text(0));
  if (!st) return st;
  return g;
}

namespace {
Result<Group> normalized_group(const Group& in) {
  Group g = in;
  auto n = normalize_address(in.address, "group");
  if (!n) return n.status();
  g.address = *n;
  auto m = normalize_addresses(in.members, "member");
  if (!m) return m.status();
  g.members = *m;
  auto s = normalize_addresses(in.allowed_senders, "allowed sender");
  if (!s) return s.status();
  g.allowed_senders = *s;
  return g;
}

Status write_group(db::Sqlite& db, const Group& g, const std::string& source, bool insert_only) {
  std::string sql =
      "INSERT INTO mail_groups(address, domain, display_name, send_policy, allowed_senders, "
      "source, created_at, updated_at, id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, "
      "CASE WHEN ?8 = '' THEN ?9 ELSE ?8 END)";
  if (!insert_only) {
    // A group without an id of its own (mailroomctl, SQL) keeps the one it has.
    sql +=
        " ON CONFLICT(address) DO UPDATE SET display_name = ?3, send_policy = ?4, "
        "allowed_senders = ?5, source = ?6, updated_at = ?7, "
        "id = CASE WHEN ?8 = '' THEN id ELSE ?8 END";
  }
  auto q = db.prepare(sql);
  if (!q) return q.status();
  q->bind(1, g.address).bind(2, domain_of(g.address)).bind(3, g.display_name);
  q->bind(4, policy_name(g.send_policy)).bind(5, join_lines(g.allowed_senders));
  q->bind(6, source).bind(7, now()).bind(8, core::ascii_lower(g.id));
  q->bind(9, LocalDirectory::new_uuid());
  auto st = q->run();
  if (st.code() == Code::already_exists) {
    return Status::error(Code::already_exists, "group " + g.address + " already exists");
  }
  if (!st) return st;
  auto del = db.prepare("DELETE FROM group_members WHERE group_address = ?1");
  if (!del) return del.status();
  st = del->bind(1, g.address).run();
  if (!st) return st;
  for (const auto& m : g.members) {
    auto ins = db.prepare("INSERT INTO group_members(group_address, member) VALUES(?1, ?2)");
    if (!ins) return ins.status();
    st = ins->bind(1, g.address).bind(2, m).run();
    if (!st) return st;
  }
  return Status::ok();
}
}  // namespace

Status LocalDirectory::add_group(const Group& group) {
  auto g = normalized_group(group);
  if (!g) return g.status();
  return impl_->write([&]() -> Status {
    auto dom = find_domain(domain_of(g->address));
    if (!dom) {
      return dom.code() == Code::not_found
                 ? core::invalid_argument("domain " + domain_of(g->address) + " is not local")
                 : dom.status();
    }
    return write_group(*impl_->db, *g, kSourceLocal, true);
  });
}

Status LocalDirectory::update_group(const Group& group) {
  auto g = normalized_group(group);
  if (!g) return g.status();
  return impl_->write([&]() -> Status {
    auto old = find_group(g->address);
    if (!old) return old.status();
    return write_group(*impl_->db, *g, kSourceLocal, false);
  });
}

Status LocalDirectory::remove_group(const std::string& address) {
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare("DELETE FROM mail_groups WHERE address = ?1");
    if (!q) return q.status();
    auto st = q->bind(1, core::ascii_lower(address)).run();
    if (!st) return st;
    if (impl_->db->changes() == 0) return core::not_found("group " + address + " not found");
    return Status::ok();
  });
}

Status LocalDirectory::add_group_member(const std::string& group, const std::string& member) {
  auto m = normalize_address(member, "member");
  if (!m) return m.status();
  return impl_->write([&]() -> Status {
    auto g = find_group(group);
    if (!g) return g.status();
    if (std::find(g->members.begin(), g->members.end(), *m) != g->members.end()) {
      return Status::error(Code::already_exists, *m + " is already a member of " + g->address);
    }
    auto q = impl_->db->prepare("INSERT INTO group_members(group_address, member) VALUES(?1, ?2)");
    if (!q) return q.status();
    return q->bind(1, g->address).bind(2, *m).run();
  });
}

Status LocalDirectory::remove_group_member(const std::string& group, const std::string& member) {
  auto m = normalize_address(member, "member");
  if (!m) return m.status();
  return impl_->write([&]() -> Status {
    auto g = find_group(group);
    if (!g) return g.status();
    auto q =
        impl_->db->prepare("DELETE FROM group_members WHERE group_address = ?1 AND member = ?2");
    if (!q) return q.status();
    auto st = q->bind(1, g->address).bind(2, *m).run();
    if (!st) return st;
    if (impl_->db->changes() == 0) {
      return core::not_found(*m + " is not a member of " + g->address);
    }
    return Status::ok();
  });
}

Status LocalDirectory::rename_group_member(const std::string& from, const std::string& to) {
  return impl_->write([&]() -> Status {
    auto up =
        impl_->db->prepare("UPDATE OR IGNORE group_members SET member = ?2 WHERE member = ?1");
    if (!up) return up.status();
    if (auto st = up->bind(1, from).bind(2, to).run(); !st) return st;
    auto del = impl_->db->prepare("DELETE FROM group_members WHERE member = ?1");  // duplicates
    if (!del) return del.status();
    return del->bind(1, from).run();
  });
}

Result<std::vector<Group>> LocalDirectory::list_groups(const std::string& domain) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mu);
    auto q = impl_->db->prepare(
        "SELECT address FROM mail_groups WHERE (?1 = '' OR domain = ?1) ORDER BY address");
    if (!q) return q.status();
    q->bind(1, core::ascii_lower(domain));
    Status st;
    while (q->step(&st)) names.push_back(q->text(0));
    if (!st) return st;
  }
  std::vector<Group> out;
  for (const auto& n : names) {
    auto g = find_group(n);
    if (g)
      out.push_back(std::move(*g));
    else if (g.code() != Code::not_found)
      return g.status();
  }
  return out;
}

Result<UpsertResult> LocalDirectory::upsert_group(const Group& group, const std::string& source) {
  auto g = normalized_group(group);
  if (!g) return g.status();
  UpsertResult result = UpsertResult::unchanged;
  auto st = impl_->write([&]() -> Status {
    auto old = find_group(g->address);
    if (!old && old.code() != Code::not_found) return old.status();
    if (old && old->display_name == g->display_name && old->send_policy == g->send_policy &&
        old->allowed_senders == g->allowed_senders && old->members == g->members &&
        (g->id.empty() || old->id == core::ascii_lower(g->id))) {
      return Status::ok();
    }
    result = old ? UpsertResult::updated : UpsertResult::created;
    return write_group(*impl_->db, *g, source, false);
  });
  if (!st) return st;
  return result;
}

Result<std::vector<std::string>> LocalDirectory::list_group_addresses(const std::string& source) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare("SELECT address FROM mail_groups WHERE source = ?1 ORDER BY address");
  if (!q) return q.status();
  q->bind(1, source);
  std::vector<std::string> out;
  Status st;
  while (q->step(&st)) out.push_back(q->text(0));
  if (!st) return st;
  return out;
}

// --- sync state ---

Result<std::string> LocalDirectory::get_sync_state(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare("SELECT value FROM sync_state WHERE key = ?1");
  if (!q) return q.status();
  q->bind(1, key);
  Status st;
  if (!q->step(&st)) return st.is_ok() ? core::not_found("sync state " + key + " not set") : st;
  return q->text(0);
}

Status LocalDirectory::set_sync_state(const std::string& key, const std::string& value) {
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare(
        "INSERT INTO sync_state(key, value, updated_at) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET value = ?2, updated_at = ?3");
    if (!q) return q.status();
    return q->bind(1, key).bind(2, value).bind(3, now()).run();
  });
}

Result<std::vector<std::pair<std::string, std::string>>> LocalDirectory::list_sync_state(
    const std::string& prefix) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "SELECT key, value FROM sync_state WHERE substr(key, 1, length(?1)) = ?1 AND value != '' "
      "ORDER BY key");
  if (!q) return q.status();
  q->bind(1, prefix);
  std::vector<std::pair<std::string, std::string>> out;
  Status st;
  while (q->step(&st)) out.emplace_back(q->text(0), q->text(1));
  if (!st) return st;
  return out;
}

// --- conflicts ---

Result<std::vector<Conflict>> LocalDirectory::conflicts() {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "WITH addrs(address, id) AS (SELECT address, id FROM accounts "
      "  UNION ALL SELECT address, account_id FROM account_addresses), "
      "others(address, kind) AS (SELECT address, 'alias' FROM aliases "
      "  UNION ALL SELECT address, 'group' FROM mail_groups) "
      "SELECT o.address, a.id, acc.address, o.kind FROM others o "
      "JOIN addrs a ON a.address = o.address JOIN accounts acc ON acc.id = a.id "
      "ORDER BY o.address, o.kind");
  if (!q) return q.status();
  std::vector<Conflict> out;
  Status st;
  while (q->step(&st)) out.push_back({q->text(0), q->text(1), q->text(2), q->text(3)});
  if (!st) return st;
  return out;
}

}  // namespace mailroom::auth
