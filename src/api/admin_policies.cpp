// The admin API's policy bundles (issue 22, G6; src/service/policies.h). Bundles apply across
// domains, so every route needs manage_server. The JSON of a bundle is policy_json; a value
// member set to null in a PATCH stops the bundle from setting it.
#include <boost/json.hpp>

#include "auth/policy/policy_directory.h"
#include "src/api/admin_internal.h"
#include "src/core/address.h"
#include "src/service/json_shapes.h"
#include "src/service/policies.h"
#include "src/service/users.h"

namespace mailroom::api {
namespace {

namespace json = boost::json;

// directory.db, whatever the directory backend (bundles are never synced from upstream).
core::Result<auth::LocalDirectory*> policy_store(AdminCall& c) {
  if (!c.ctx.services->policies) return core::unavailable("policy bundles are not available");
  return &c.ctx.services->policies->store();
}

#define POLICY_STORE_OR_RETURN(var, call)                     \
  auto var##_r = policy_store(call);                          \
  if (!var##_r) return problem_from_status(var##_r.status()); \
  auth::LocalDirectory& var = **var##_r

// The value members of a bundle document into `v`; members set to null go to *unset (when
// given, else they are errors). Returns an error text, "" when all is well.
std::string read_values(const json::object& o, auth::PolicyValues& v,
                        std::vector<std::string>* unset) {
  for (const auto& [key_sv, val] : o) {
    std::string key(key_sv);
    if (key == "name" || key == "description" || key == "priority") continue;
    if (val.is_null()) {
      if (!unset) return key + " must not be null";
      unset->push_back(key);
      continue;
    }
    if (key == "quota_bytes" || key == "quota_messages" || key == "max_message_bytes") {
      uint64_t n = 0;
      if (val.is_uint64()) {
        n = val.as_uint64();
      } else if (val.is_int64() && val.as_int64() >= 0) {
        n = static_cast<uint64_t>(val.as_int64());
      } else if (val.is_string()) {
        auto parsed = service::parse_size(std::string(val.as_string()), key);
        if (!parsed) return parsed.status().client_message();
        n = *parsed;
      } else {
        return key + " must be a size (bytes, or a string such as \"500M\")";
      }
      (key == "quota_bytes"      ? v.quota_bytes
       : key == "quota_messages" ? v.quota_messages
                                 : v.max_message_bytes) = n;
    } else if (key == "send_outside" || key == "receive_outside" || key == "pop3") {
      if (!val.is_bool()) return key + " must be true or false";
      (key == "send_outside"      ? v.send_outside
       : key == "receive_outside" ? v.receive_outside
                                  : v.pop3) = val.as_bool();
    } else if (key == "retention_seconds") {
      if (!val.is_int64() && !val.is_uint64()) return key + " must be a number of seconds";
      int64_t n = val.is_int64() ? val.as_int64() : static_cast<int64_t>(val.as_uint64());
      if (n < 0) return key + " must not be negative";
      v.retention_seconds = n;
    } else if (key == "login_methods") {
      if (!val.is_array()) return key + " must be an array of strings";
      std::vector<std::string> methods;
      for (const auto& m : val.as_array()) {
        if (!m.is_string()) return key + " must be an array of strings";
        auto p = auth::parse_login_method(std::string(m.as_string()));
        if (!p) return p.status().client_message();
        methods.push_back(*p);
      }
      v.login_methods = methods;
    }
  }
  return {};
}

std::optional<int> read_priority(const json::object& o, std::string& error) {
  auto* p = o.if_contains("priority");
  if (!p || p->is_null()) return std::nullopt;
  if (!p->is_int64() || p->as_int64() < -1000000 || p->as_int64() > 1000000) {
    error = "priority must be a whole number";
    return std::nullopt;
  }
  return static_cast<int>(p->as_int64());
}

constexpr std::initializer_list<std::string_view> kValueMembers = {
    "description",  "priority",        "quota_bytes", "quota_messages",    "max_message_bytes",
    "send_outside", "receive_outside", "pop3",        "retention_seconds", "login_methods"};

}  // namespace

http::Response admin_policies_list(AdminCall& c) {
  POLICY_STORE_OR_RETURN(dir, c);
  auto all = service::Policies(dir).list();
  if (!all) return problem_from_status(all.status());
  json::array items;
  for (const auto& b : *all) items.push_back(service::policy_json(b));
  return admin_json(200, json::object{{"total", items.size()}, {"items", std::move(items)}});
}

http::Response admin_policy_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(
          c.request, o,
          {"name", "description", "priority", "quota_bytes", "quota_messages", "max_message_bytes",
           "send_outside", "receive_outside", "pop3", "retention_seconds", "login_methods"})) {
    return *bad;
  }
  auth::PolicyBundle b;
  auto* name = o.if_contains("name");
  if (!name || !name->is_string()) return admin_bad_request("name is required (a string)");
  b.name = std::string(name->as_string());
  if (auto* d = o.if_contains("description"); d && d->is_string())
    b.description = std::string(d->as_string());
  std::string error = read_values(o, b.values, nullptr);
  if (auto p = read_priority(o, error)) b.priority = *p;
  if (!error.empty()) return admin_bad_request(error);
  POLICY_STORE_OR_RETURN(dir, c);
  auto r = service::Policies(dir, c.change()).add(b);
  if (!r) return problem_from_status(r.status());
  auto resp = admin_write_done(c, 201, service::policy_json(*r));
  if (!c.dry_run) resp.set_header("Location", "/api/v1/policies/" + http::percent_encode(r->name));
  return resp;
}

http::Response admin_policy_show(AdminCall& c) {
  POLICY_STORE_OR_RETURN(dir, c);
  auto v = service::Policies(dir).show(c.request.params.at(0));
  if (!v) return problem_from_status(v.status());
  return admin_json(200, service::policy_view_json(*v));
}

http::Response admin_policy_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, kValueMembers)) return *bad;
  service::PolicyChange ch;
  ch.name = c.request.params.at(0);
  if (auto* d = o.if_contains("description"); d && d->is_string())
    ch.description = std::string(d->as_string());
  std::string error = read_values(o, ch.values, &ch.unset);
  ch.priority = read_priority(o, error);
  if (!error.empty()) return admin_bad_request(error);
  POLICY_STORE_OR_RETURN(dir, c);
  auto r = service::Policies(dir, c.change()).change(ch);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::policy_json(*r));
}

http::Response admin_policy_remove(AdminCall& c) {
  bool force = c.request.query_param("force").value_or("false") == "true";
  POLICY_STORE_OR_RETURN(dir, c);
  auto st = service::Policies(dir, c.change()).remove(c.request.params.at(0), force);
  if (!st) return problem_from_status(st);
  return admin_write_done(c, 204, nullptr);
}

http::Response admin_policy_assign(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"scope", "target"})) return *bad;
  auto* scope_v = o.if_contains("scope");
  if (!scope_v || !scope_v->is_string())
    return admin_bad_request("scope is required: group, user, domain or everyone");
  auto scope = auth::parse_policy_scope(std::string(scope_v->as_string()));
  if (!scope) return problem_from_status(scope.status());
  std::string target;
  if (auto* t = o.if_contains("target"); t && t->is_string()) target = std::string(t->as_string());
  POLICY_STORE_OR_RETURN(dir, c);
  auto a = service::Policies(dir, c.change()).assign(c.request.params.at(0), *scope, target);
  if (!a) return problem_from_status(a.status());
  return admin_write_done(c, 201,
                          json::object{{"policy", a->policy},
                                       {"scope", auth::policy_scope_name(a->scope)},
                                       {"target", a->target},
                                       {"label", a->label}});
}

http::Response admin_policy_unassign(AdminCall& c) {
  auto scope = auth::parse_policy_scope(c.request.query_param("scope").value_or(""));
  if (!scope) return admin_bad_request("scope must be group, user, domain or everyone");
  std::string target = c.request.query_param("target").value_or("");
  POLICY_STORE_OR_RETURN(dir, c);
  auto st = service::Policies(dir, c.change()).unassign(c.request.params.at(0), *scope, target);
  if (!st) return problem_from_status(st);
  return admin_write_done(c, 204, nullptr);
}

}  // namespace mailroom::api
