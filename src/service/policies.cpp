#include "src/service/policies.h"

#include <algorithm>

#include "src/core/address.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {
namespace {

using auth::PolicyScope;

std::string assignment_text(const auth::PolicyAssignment& a) {
  if (a.scope == PolicyScope::everyone) return "everyone";
  return std::string(auth::policy_scope_name(a.scope)) + ":" +
         (a.label.empty() ? a.target : a.label);
}

}  // namespace

const std::vector<std::string>& policy_attribute_names() {
  static const std::vector<std::string> names = {
      "quota_bytes",     "quota_messages", "max_message_bytes", "send_outside",
      "receive_outside", "pop3",           "retention_seconds", "login_methods"};
  return names;
}

namespace {

// The journal's document of a bundle and its assignments; "null" when it does not exist.
std::string bundle_document(auth::LocalDirectory& dir, const std::string& name) {
  auto b = dir.get_policy(name);
  if (!b) return "null";
  tracking::JsonObject j;
  j.add("name", b->name).add("description", b->description);
  j.add("priority", static_cast<uint64_t>(std::max(0, b->priority)));
  const auth::PolicyValues& v = b->values;
  if (v.quota_bytes) j.add("quota_bytes", *v.quota_bytes);
  if (v.quota_messages) j.add("quota_messages", *v.quota_messages);
  if (v.max_message_bytes) j.add("max_message_bytes", *v.max_message_bytes);
  if (v.send_outside) j.add("send_outside", *v.send_outside);
  if (v.receive_outside) j.add("receive_outside", *v.receive_outside);
  if (v.pop3) j.add("pop3", *v.pop3);
  if (v.retention_seconds) j.add("retention_seconds", static_cast<uint64_t>(*v.retention_seconds));
  if (v.login_methods) j.add("login_methods", *v.login_methods);
  std::vector<std::string> assigned;
  if (auto as = dir.list_policy_assignments(b->name))
    for (const auto& a : *as) assigned.push_back(assignment_text(a));
  j.add("assigned_to", assigned);
  return j.str();
}

}  // namespace

core::Status Policies::journaled(const std::string& operation, const std::string& name,
                                 const std::function<core::Status()>& write) {
  auto body = [&]() -> core::Status {
    std::string before = bundle_document(directory_, name);
    if (auto st = write(); !st) return st;
    std::string after = bundle_document(directory_, name);
    std::vector<JournalEntry> entries;
    entries.push_back(
        tracking::make_entry(change_, operation, "policy:" + name, "", before, after, "", ""));
    return tracking::finish_entries(change_, std::move(entries));
  };
  return change_.dry_run ? directory_.dry_run(body) : directory_.transaction(body);
}

core::Result<auth::PolicyBundle> Policies::add(const auth::PolicyBundle& bundle) {
  if (auto st = auth::check_policy_name(bundle.name); !st) return st;
  auth::PolicyBundle stored;
  auto st = journaled("policy.add", bundle.name, [&]() -> core::Status {
    if (auto s = directory_.add_policy(bundle); !s) return s;
    auto got = directory_.get_policy(bundle.name);
    if (!got) return got.status();
    stored = *got;
    return core::Status::ok();
  });
  if (!st) return st;
  return stored;
}

core::Result<auth::PolicyBundle> Policies::change(const PolicyChange& r) {
  for (const auto& u : r.unset)
    if (std::find(policy_attribute_names().begin(), policy_attribute_names().end(), u) ==
        policy_attribute_names().end())
      return core::invalid_argument("unknown policy attribute \"" + u + "\"");
  auth::PolicyBundle stored;
  auto st = journaled("policy.change", r.name, [&]() -> core::Status {
    auto b = directory_.get_policy(r.name);
    if (!b) return b.status();
    if (r.description) b->description = *r.description;
    if (r.priority) b->priority = *r.priority;
    auth::PolicyValues& v = b->values;
    for (const auto& u : r.unset) {
      if (u == "quota_bytes") v.quota_bytes.reset();
      if (u == "quota_messages") v.quota_messages.reset();
      if (u == "max_message_bytes") v.max_message_bytes.reset();
      if (u == "send_outside") v.send_outside.reset();
      if (u == "receive_outside") v.receive_outside.reset();
      if (u == "pop3") v.pop3.reset();
      if (u == "retention_seconds") v.retention_seconds.reset();
      if (u == "login_methods") v.login_methods.reset();
    }
    const auth::PolicyValues& n = r.values;
    if (n.quota_bytes) v.quota_bytes = n.quota_bytes;
    if (n.quota_messages) v.quota_messages = n.quota_messages;
    if (n.max_message_bytes) v.max_message_bytes = n.max_message_bytes;
    if (n.send_outside) v.send_outside = n.send_outside;
    if (n.receive_outside) v.receive_outside = n.receive_outside;
    if (n.pop3) v.pop3 = n.pop3;
    if (n.retention_seconds) v.retention_seconds = n.retention_seconds;
    if (n.login_methods) v.login_methods = n.login_methods;
    if (auto s = directory_.change_policy(*b); !s) return s;
    auto got = directory_.get_policy(r.name);
    if (!got) return got.status();
    stored = *got;
    return core::Status::ok();
  });
  if (!st) return st;
  return stored;
}

core::Status Policies::remove(const std::string& name, bool force) {
  return journaled("policy.remove", name,
                   [&]() -> core::Status { return directory_.remove_policy(name, force); });
}

core::Result<std::vector<auth::PolicyBundle>> Policies::list() {
  return directory_.list_policies();
}

core::Result<PolicyView> Policies::show(const std::string& name) {
  auto b = directory_.get_policy(name);
  if (!b) return b.status();
  PolicyView view;
  view.bundle = *b;
  auto as = directory_.list_policy_assignments(b->name);
  if (!as) return as.status();
  for (auto& a : *as) {
    AssignmentView v;
    v.assignment = a;
    switch (a.scope) {
      case PolicyScope::group: {
        auto g = directory_.find_group_by_id(a.target);
        if (g)
          v.current = g->address;
        else if (g.code() != core::Code::not_found)
          return g.status();
        break;
      }
      case PolicyScope::user: {
        auto acc = directory_.find_account_by_id(a.target);
        if (acc)
          v.current = acc->address;
        else if (acc.code() != core::Code::not_found)
          return acc.status();
        break;
      }
      case PolicyScope::domain: {
        auto d = directory_.find_domain(a.target);
        if (d)
          v.current = d->name;
        else if (d.code() != core::Code::not_found)
          return d.status();
        break;
      }
      case PolicyScope::everyone:
        v.current = "everyone";
        break;
    }
    view.assignments.push_back(std::move(v));
  }
  return view;
}

core::Result<auth::PolicyAssignment> Policies::resolve_target(const std::string& name,
                                                              PolicyScope scope,
                                                              const std::string& target) {
  auth::PolicyAssignment a;
  a.policy = name;
  a.scope = scope;
  std::string key = core::ascii_lower(target);
  switch (scope) {
    case PolicyScope::group: {
      auto g = directory_.find_group(key);
      if (!g && g.code() == core::Code::not_found) g = directory_.find_group_by_id(key);
      if (!g) {
        if (g.code() == core::Code::not_found)
          return core::not_found("group " + target + " not found");
        return g.status();
      }
      if (g->id.empty()) return core::invalid_argument("group " + g->address + " has no id");
      a.target = g->id;
      a.label = g->address;
      return a;
    }
    case PolicyScope::user: {
      auto acc = directory_.find_account_by_address(key);
      if (!acc && acc.code() == core::Code::not_found) acc = directory_.find_account_by_login(key);
      if (!acc && acc.code() == core::Code::not_found) acc = directory_.find_account_by_id(key);
      if (!acc) {
        if (acc.code() == core::Code::not_found)
          return core::not_found("user " + target + " not found");
        return acc.status();
      }
      a.target = acc->id;
      a.label = acc->address;
      return a;
    }
    case PolicyScope::domain: {
      auto d = directory_.find_domain(key);
      if (!d) {
        if (d.code() == core::Code::not_found)
          return core::not_found("domain " + target + " not found");
        return d.status();
      }
      if (d->kind != auth::DomainKind::local)
        return core::invalid_argument("domain " + d->name + " is an alias of " + d->alias_of +
                                      ": assign the policy to " + d->alias_of);
      a.target = d->name;
      a.label = d->name;
      return a;
    }
    case PolicyScope::everyone:
      if (!target.empty()) return core::invalid_argument("scope everyone takes no target");
      a.label = "everyone";
      return a;
  }
  return core::invalid_argument("unknown scope");
}

core::Result<auth::PolicyAssignment> Policies::assign(const std::string& name, PolicyScope scope,
                                                      const std::string& target) {
  auto b = directory_.get_policy(name);
  if (!b) return b.status();
  auto a = resolve_target(b->name, scope, target);
  if (!a) return a.status();
  auto st = journaled("policy.assign", b->name,
                      [&]() -> core::Status { return directory_.assign_policy(*a); });
  if (!st) return st;
  return a;
}

core::Status Policies::unassign(const std::string& name, PolicyScope scope,
                                const std::string& target) {
  auto b = directory_.get_policy(name);
  if (!b) return b.status();
  // A group or account that is gone can still be unassigned by the id `policy show` lists.
  std::string key = core::ascii_lower(target);
  if (auto a = resolve_target(b->name, scope, target); a) key = a->target;
  return journaled("policy.unassign", b->name, [&]() -> core::Status {
    return directory_.unassign_policy(b->name, scope, key);
  });
}

core::Result<auth::EffectivePolicy> effective_policy(auth::LocalDirectory& directory,
                                                     const auth::Account& account) {
  auto applied = directory.policies_for_account(account.id);
  if (!applied) return applied.status();
  return auth::resolve_policy(account, *applied);
}

}  // namespace mailroom::service
