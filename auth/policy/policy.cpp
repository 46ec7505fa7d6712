#include "auth/policy/policy.h"

#include <algorithm>
#include <set>

#include "src/core/address.h"

namespace mailroom::auth {
namespace {

std::string describe(const AppliedBundle& a) {
  std::string s = "policy " + a.bundle.name;
  switch (a.scope) {
    case PolicyScope::user:
      return s + " (user)";
    case PolicyScope::group:
      return s + " (group " + a.via + ")";
    case PolicyScope::domain:
      return s + " (domain " + a.via + ")";
    case PolicyScope::everyone:
      return s + " (everyone)";
  }
  return s;
}

// Rule 4: is `a` more permissive than `b`?
bool more_permissive(uint64_t a, uint64_t b) { return b != 0 && (a == 0 || a > b); }
bool more_permissive(bool a, bool b) { return a && !b; }
bool more_permissive(int64_t a, int64_t b) { return b != 0 && (a == 0 || a > b); }

// Rules 2-4 for one attribute. `get` returns the bundle's optional value.
template <class T, class Get>
bool pick(const std::vector<const AppliedBundle*>& ordered, Get get, T* out, std::string* from) {
  const AppliedBundle* best = nullptr;
  for (const AppliedBundle* a : ordered) {
    const auto& v = get(a->bundle.values);
    if (!v) continue;
    if (!best) {
      best = a;
      *out = *v;
      *from = describe(*a);
      continue;
    }
    // `ordered` is strongest first: only a tie in scope and priority can still change it.
    if (a->scope != best->scope || a->bundle.priority != best->bundle.priority) break;
    if (more_permissive(*v, *out)) {
      *out = *v;
      *from = describe(*a);
    }
  }
  return best != nullptr;
}

}  // namespace

Result<std::string> parse_login_method(const std::string& text) {
  std::string m = core::ascii_lower(text);
  if (m == "oauthbearer") m = "sso";
  for (const char* k : kLoginMethods)
    if (m == k) return m;
  return core::invalid_argument("unknown login method \"" + text +
                                "\" (password, app-password, sso, kerberos)");
}

std::string login_method_of(const std::string& mechanism, bool app_password) {
  std::string m = core::ascii_lower(mechanism);
  if (m == "gssapi") return "kerberos";
  if (m == "oauthbearer" || m == "xoauth2") return "sso";
  return app_password ? "app-password" : "password";
}

Status check_policy_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (ok) return Status::ok();
  return core::invalid_argument("policy name \"" + name +
                                "\" must be 1-64 letters, digits, '.', '_' or '-'");
}

const char* policy_scope_name(PolicyScope s) {
  switch (s) {
    case PolicyScope::user:
      return "user";
    case PolicyScope::group:
      return "group";
    case PolicyScope::domain:
      return "domain";
    case PolicyScope::everyone:
      return "everyone";
  }
  return "?";
}

Result<PolicyScope> parse_policy_scope(const std::string& text) {
  for (PolicyScope s :
       {PolicyScope::user, PolicyScope::group, PolicyScope::domain, PolicyScope::everyone})
    if (text == policy_scope_name(s)) return s;
  return core::invalid_argument("unknown policy scope \"" + text + "\"");
}

std::string EffectivePolicy::source_of(const std::string& attribute) const {
  for (const auto& s : sources)
    if (s.attribute == attribute) return s.from;
  return "default";
}

bool EffectivePolicy::allows_login_method(const std::string& method) const {
  return login_methods.empty() ||
         std::find(login_methods.begin(), login_methods.end(), method) != login_methods.end();
}

EffectivePolicy resolve_policy(const Account& account, const std::vector<AppliedBundle>& applied) {
  std::vector<const AppliedBundle*> ordered;
  for (const auto& a : applied) ordered.push_back(&a);
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto* x, const auto* y) {
    if (x->scope != y->scope) return x->scope < y->scope;
    if (x->bundle.priority != y->bundle.priority) return x->bundle.priority > y->bundle.priority;
    if (x->bundle.name != y->bundle.name) return x->bundle.name < y->bundle.name;
    return x->via < y->via;
  });
  EffectivePolicy e;
  std::set<std::string> seen;
  for (const auto* a : ordered)
    if (seen.insert(core::ascii_lower(a->bundle.name)).second) e.bundles.push_back(a->bundle.name);
  auto note = [&](const char* attribute, std::string from) {
    e.sources.push_back({attribute, std::move(from)});
  };
  std::string from;
  // Rule 1: the account's own quota.
  if (account.quota_bytes != 0)
    note("quota_bytes", "account");
  else if (pick(
               ordered, [](const PolicyValues& v) { return v.quota_bytes; }, &e.quota_bytes, &from))
    note("quota_bytes", from);
  if (account.quota_messages != 0)
    note("quota_messages", "account");
  else if (pick(
               ordered, [](const PolicyValues& v) { return v.quota_messages; }, &e.quota_messages,
               &from))
    note("quota_messages", from);
  if (account.quota_bytes != 0) e.quota_bytes = account.quota_bytes;
  if (account.quota_messages != 0) e.quota_messages = account.quota_messages;
  if (pick(
          ordered, [](const PolicyValues& v) { return v.max_message_bytes; }, &e.max_message_bytes,
          &from))
    note("max_message_bytes", from);
  if (pick(
          ordered, [](const PolicyValues& v) { return v.send_outside; }, &e.send_outside, &from))
    note("send_outside", from);
  if (pick(
          ordered, [](const PolicyValues& v) { return v.receive_outside; }, &e.receive_outside,
          &from))
    note("receive_outside", from);
  if (pick(
          ordered, [](const PolicyValues& v) { return v.pop3; }, &e.pop3, &from))
    note("pop3", from);
  int64_t retention = 0;
  if (pick(
          ordered, [](const PolicyValues& v) { return v.retention_seconds; }, &retention, &from)) {
    e.retention_seconds = retention;
    note("retention_seconds", from);
  }
  // Login methods: the strongest bundle that sets them, united with its ties (rule 4).
  const AppliedBundle* first = nullptr;
  std::string names;
  for (const auto* a : ordered) {
    if (!a->bundle.values.login_methods) continue;
    if (first && (a->scope != first->scope || a->bundle.priority != first->bundle.priority)) break;
    if (!first) first = a;
    for (const auto& m : *a->bundle.values.login_methods)
      if (std::find(e.login_methods.begin(), e.login_methods.end(), m) == e.login_methods.end())
        e.login_methods.push_back(m);
    names += (names.empty() ? "" : ", ") + describe(*a);
  }
  if (first) {
    // A bundle that lists no method at all refuses every login; keep that distinguishable from
    // "every method" (empty) with a name no mechanism maps to.
    if (e.login_methods.empty()) e.login_methods.push_back("none");
    note("login_methods", names);
  }
  return e;
}

}  // namespace mailroom::auth
