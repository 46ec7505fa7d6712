// LocalDirectory: policy bundles and their assignments (migration 004, auth/policy/policy.h).
#include "auth/local/local_directory.h"
#include "auth/local/local_directory_impl.h"
#include "src/core/address.h"

namespace mailroom::auth {
namespace {

constexpr const char* kBundleColumns =
    "name, description, priority, quota_bytes, quota_messages, max_message_bytes, send_outside, "
    "receive_outside, pop3, retention_seconds, login_methods, created_at, updated_at";

constexpr const char* kBundleColumnsQualified =
    "p.name, p.description, p.priority, p.quota_bytes, p.quota_messages, p.max_message_bytes, "
    "p.send_outside, p.receive_outside, p.pop3, p.retention_seconds, p.login_methods, "
    "p.created_at, p.updated_at";

// Columns 0..12 of kBundleColumns, starting at `c`.
PolicyBundle read_bundle(const db::Stmt& q, int c = 0) {
  PolicyBundle b;
  b.name = q.text(c + 0);
  b.description = q.text(c + 1);
  b.priority = static_cast<int>(q.i64(c + 2));
  auto u64 = [&](int i) -> std::optional<uint64_t> {
    if (q.is_null(c + i)) return std::nullopt;
    return static_cast<uint64_t>(q.i64(c + i));
  };
  auto flag = [&](int i) -> std::optional<bool> {
    if (q.is_null(c + i)) return std::nullopt;
    return q.i64(c + i) != 0;
  };
  b.values.quota_bytes = u64(3);
  b.values.quota_messages = u64(4);
  b.values.max_message_bytes = u64(5);
  b.values.send_outside = flag(6);
  b.values.receive_outside = flag(7);
  b.values.pop3 = flag(8);
  if (!q.is_null(c + 9)) b.values.retention_seconds = q.i64(c + 9);
  if (!q.is_null(c + 10)) b.values.login_methods = local_detail::split_lines(q.text(c + 10));
  b.created_at = q.i64(c + 11);
  b.updated_at = q.i64(c + 12);
  return b;
}

// Binds ?2..?11 (the bundle's settable fields after its name).
void bind_bundle(db::Stmt& q, const PolicyBundle& b) {
  q.bind(2, b.description).bind(3, static_cast<int64_t>(b.priority));
  auto u64 = [&](int i, const std::optional<uint64_t>& v) {
    if (v)
      q.bind(i, static_cast<int64_t>(*v));
    else
      q.bind_null(i);
  };
  auto flag = [&](int i, const std::optional<bool>& v) {
    if (v)
      q.bind(i, static_cast<int64_t>(*v ? 1 : 0));
    else
      q.bind_null(i);
  };
  u64(4, b.values.quota_bytes);
  u64(5, b.values.quota_messages);
  u64(6, b.values.max_message_bytes);
  flag(7, b.values.send_outside);
  flag(8, b.values.receive_outside);
  flag(9, b.values.pop3);
  if (b.values.retention_seconds)
    q.bind(10, *b.values.retention_seconds);
  else
    q.bind_null(10);
  if (b.values.login_methods)
    q.bind(11, local_detail::join_lines(*b.values.login_methods));
  else
    q.bind_null(11);
}

// The CHECK constraint of the table admits no other text.
PolicyScope stored_scope(const std::string& text) {
  auto s = parse_policy_scope(text);
  return s ? *s : PolicyScope::everyone;
}

// Quotas and sizes are stored in SQLite's signed INTEGER.
Status check_values(const PolicyBundle& b) {
  if (auto st = check_policy_name(b.name); !st) return st;
  constexpr uint64_t kMax = uint64_t{1} << 62;
  for (const auto* v :
       {&b.values.quota_bytes, &b.values.quota_messages, &b.values.max_message_bytes})
    if (*v && **v > kMax) return core::invalid_argument("policy " + b.name + ": value too large");
  if (b.values.retention_seconds && *b.values.retention_seconds < 0)
    return core::invalid_argument("policy " + b.name + ": negative retention");
  if (b.values.login_methods) {
    for (const auto& m : *b.values.login_methods)
      if (auto p = parse_login_method(m); !p || *p != m)
        return core::invalid_argument("policy " + b.name + ": unknown login method \"" + m + "\"");
  }
  return Status::ok();
}

}  // namespace

Status LocalDirectory::add_policy(const PolicyBundle& bundle) {
  if (auto st = check_values(bundle); !st) return st;
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare(std::string("INSERT INTO policies(") + kBundleColumns +
                                ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)");
    if (!q) return q.status();
    q->bind(1, bundle.name);
    bind_bundle(*q, bundle);
    q->bind(12, local_detail::now());
    auto st = q->run();
    if (st.code() == Code::already_exists)
      return Status::error(Code::already_exists, "policy " + bundle.name + " already exists");
    return st;
  });
}

Status LocalDirectory::change_policy(const PolicyBundle& bundle) {
  if (auto st = check_values(bundle); !st) return st;
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare(
        "UPDATE policies SET description = ?2, priority = ?3, quota_bytes = ?4, "
        "quota_messages = ?5, max_message_bytes = ?6, send_outside = ?7, receive_outside = ?8, "
        "pop3 = ?9, retention_seconds = ?10, login_methods = ?11, updated_at = ?12 "
        "WHERE name = ?1");
    if (!q) return q.status();
    q->bind(1, bundle.name);
    bind_bundle(*q, bundle);
    q->bind(12, local_detail::now());
    if (auto st = q->run(); !st) return st;
    if (impl_->db->changes() == 0) return core::not_found("policy " + bundle.name + " not found");
    return Status::ok();
  });
}

Status LocalDirectory::remove_policy(const std::string& name, bool force) {
  return impl_->write([&]() -> Status {
    auto n = impl_->db->prepare("SELECT count(*) FROM policy_assignments WHERE policy = ?1");
    if (!n) return n.status();
    n->bind(1, name);
    Status st;
    int64_t assigned = n->step(&st) ? n->i64(0) : 0;
    if (!st) return st;
    n->reset();
    if (assigned > 0 && !force)
      return core::invalid_argument("policy " + name + " is assigned " + std::to_string(assigned) +
                                    " time(s); unassign it first or force the removal");
    // The assignments go by ON DELETE CASCADE (foreign keys are on).
    auto q = impl_->db->prepare("DELETE FROM policies WHERE name = ?1");
    if (!q) return q.status();
    if (st = q->bind(1, name).run(); !st) return st;
    if (impl_->db->changes() == 0) return core::not_found("policy " + name + " not found");
    return Status::ok();
  });
}

Result<PolicyBundle> LocalDirectory::get_policy(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(std::string("SELECT ") + kBundleColumns +
                              " FROM policies WHERE name = ?1");
  if (!q) return q.status();
  q->bind(1, name);
  Status st;
  if (!q->step(&st)) return st.is_ok() ? core::not_found("policy " + name + " not found") : st;
  return read_bundle(*q);
}

Result<std::vector<PolicyBundle>> LocalDirectory::list_policies() {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(std::string("SELECT ") + kBundleColumns +
                              " FROM policies ORDER BY priority DESC, name");
  if (!q) return q.status();
  std::vector<PolicyBundle> out;
  Status st;
  while (q->step(&st)) out.push_back(read_bundle(*q));
  if (!st) return st;
  return out;
}

Status LocalDirectory::assign_policy(const PolicyAssignment& a) {
  return impl_->write([&]() -> Status {
    auto p = get_policy(a.policy);
    if (!p) return p.status();
    auto q = impl_->db->prepare(
        "INSERT INTO policy_assignments(policy, scope, target, label, created_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!q) return q.status();
    q->bind(1, p->name).bind(2, policy_scope_name(a.scope)).bind(3, core::ascii_lower(a.target));
    q->bind(4, a.label).bind(5, local_detail::now());
    auto st = q->run();
    if (st.code() == Code::already_exists)
      return Status::error(Code::already_exists, "policy " + p->name + " is already assigned to " +
                                                     (a.label.empty() ? a.target : a.label));
    return st;
  });
}

Status LocalDirectory::unassign_policy(const std::string& policy, PolicyScope scope,
                                       const std::string& target) {
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare(
        "DELETE FROM policy_assignments WHERE policy = ?1 AND scope = ?2 AND target = ?3");
    if (!q) return q.status();
    q->bind(1, policy).bind(2, policy_scope_name(scope)).bind(3, core::ascii_lower(target));
    if (auto st = q->run(); !st) return st;
    if (impl_->db->changes() == 0)
      return core::not_found("policy " + policy + " is not assigned to " + target);
    return Status::ok();
  });
}

Result<std::vector<PolicyAssignment>> LocalDirectory::list_policy_assignments(
    const std::string& policy) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "SELECT policy, scope, target, label, created_at FROM policy_assignments "
      "WHERE ?1 = '' OR policy = ?1 ORDER BY policy, scope, label, target");
  if (!q) return q.status();
  q->bind(1, policy);
  std::vector<PolicyAssignment> out;
  Status st;
  while (q->step(&st)) {
    PolicyAssignment a;
    a.policy = q->text(0);
    a.scope = stored_scope(q->text(1));
    a.target = q->text(2);
    a.label = q->text(3);
    a.created_at = q->i64(4);
    out.push_back(std::move(a));
  }
  if (!st) return st;
  return out;
}

namespace {
// The groups the account ?1 is a member of, as the CTE member_of(address, depth): by any of its
// addresses, then those groups' addresses (nested groups); UNION drops repeats, the depth
// bound ends loops. A group deleted upstream is gone from mail_groups and matches no one.
constexpr const char* kMemberOfSql =
    "WITH RECURSIVE addrs(a) AS ("
    "  SELECT address FROM accounts WHERE id = ?1"
    "  UNION SELECT address FROM account_addresses WHERE account_id = ?1),"
    " member_of(address, depth) AS ("
    "  SELECT group_address, 1 FROM group_members WHERE member IN (SELECT a FROM addrs)"
    "  UNION SELECT gm.group_address, m.depth + 1 FROM group_members gm"
    "   JOIN member_of m ON gm.member = m.address WHERE m.depth < 16)";
}  // namespace

Result<std::vector<AppliedBundle>> LocalDirectory::policies_for_account(
    const std::string& account_id) {
  std::lock_guard lock(impl_->mu);
  {
    // Most installations have no bundle at all: one indexed probe instead of the walk below
    // (which costs about 0.2 ms with 20,000 accounts in 2,000 nested groups).
    auto any = impl_->db->prepare("SELECT EXISTS (SELECT 1 FROM policy_assignments)");
    if (!any) return any.status();
    Status st;
    bool some = any->step(&st) && any->i64(0) != 0;
    if (!st) return st;
    if (!some) return std::vector<AppliedBundle>{};
  }
  // The account's groups (kMemberOfSql), then the bundles assigned to it, them, its domain or
  // everyone.
  auto q = impl_->db->prepare(
      std::string(kMemberOfSql) +
      ", groups_of(id, address) AS ("
      "  SELECT DISTINCT g.id, g.address FROM mail_groups g"
      "   JOIN member_of m ON m.address = g.address WHERE g.id <> '')"
      " SELECT pa.scope, CASE pa.scope WHEN 'group' THEN"
      "  (SELECT min(address) FROM groups_of WHERE id = pa.target) ELSE pa.target END, " +
      kBundleColumnsQualified +
      " FROM policy_assignments pa JOIN policies p ON p.name = pa.policy"
      " WHERE (pa.scope = 'user' AND pa.target = ?1)"
      "  OR (pa.scope = 'group' AND pa.target IN (SELECT id FROM groups_of))"
      "  OR (pa.scope = 'domain' AND pa.target = (SELECT domain FROM accounts WHERE id = ?1))"
      "  OR pa.scope = 'everyone'");
  if (!q) return q.status();
  q->bind(1, account_id);
  std::vector<AppliedBundle> out;
  Status st;
  while (q->step(&st)) {
    AppliedBundle a;
    a.scope = stored_scope(q->text(0));
    if (a.scope == PolicyScope::group || a.scope == PolicyScope::domain) a.via = q->text(1);
    a.bundle = read_bundle(*q, 2);
    out.push_back(std::move(a));
  }
  if (!st) return st;
  return out;
}

Result<std::vector<std::string>> LocalDirectory::group_ids_of_account(
    const std::string& account_id) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      std::string(kMemberOfSql) +
      " SELECT DISTINCT g.id FROM mail_groups g JOIN member_of m ON m.address = g.address"
      " WHERE g.id <> '' ORDER BY g.id");
  if (!q) return q.status();
  q->bind(1, account_id);
  std::vector<std::string> out;
  Status st;
  while (q->step(&st)) out.push_back(q->text(0));
  if (!st) return st;
  return out;
}

Result<Group> LocalDirectory::find_group_by_id(const std::string& id) {
  std::string address;
  {
    std::lock_guard lock(impl_->mu);
    auto q = impl_->db->prepare("SELECT min(address) FROM mail_groups WHERE id = ?1 AND id <> ''");
    if (!q) return q.status();
    q->bind(1, core::ascii_lower(id));
    Status st;
    if (q->step(&st) && !q->is_null(0)) address = q->text(0);
    if (!st) return st;
  }
  if (address.empty()) return core::not_found("no group with id " + id);
  return find_group(address);
}

}  // namespace mailroom::auth
