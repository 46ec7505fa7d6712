// Admin API handlers for the directory: domains, accounts, passwords, lock-outs, aliases,
// groups and app passwords. Each calls one operation of src/service (as mailroomctl does).
#include <boost/json.hpp>

#include "auth/app_passwords.h"
#include "auth/authenticator.h"
#include "auth/policy/policy_directory.h"
#include "auth/resolver.h"
#include "src/api/admin_internal.h"
#include "src/core/address.h"
#include "src/service/aliases.h"
#include "src/service/app_passwords.h"
#include "src/service/domains.h"
#include "src/service/groups.h"
#include "src/service/json_shapes.h"
#include "src/service/policies.h"
#include "src/service/users.h"
#include "src/service/writable_directory.h"

namespace mailroom::api {

namespace json = boost::json;

namespace {

// Optional members of a request body, with their types checked.
struct AdminBody {
  json::object& o;
  std::string error;

  std::optional<std::string> str(std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      fail(key, "a string");
      return std::nullopt;
    }
    return std::string(v->as_string());
  }
  std::optional<bool> boolean(std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_bool()) {
      fail(key, "true or false");
      return std::nullopt;
    }
    return v->as_bool();
  }
  std::optional<uint64_t> size(std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
    if (v->is_string()) {
      auto parsed = service::parse_size(std::string(v->as_string()), std::string(key));
      if (parsed) return *parsed;
      error = parsed.status().client_message();
      return std::nullopt;
    }
    fail(key, "a size (bytes, or a string such as \"500M\")");
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> strings(std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_array()) {
      fail(key, "an array of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& e : v->as_array()) {
      if (!e.is_string()) {
        fail(key, "an array of strings");
        return std::nullopt;
      }
      out.emplace_back(e.as_string());
    }
    return out;
  }
  void fail(std::string_view key, std::string_view what) {
    if (error.empty()) error = std::string(key) + " must be " + std::string(what);
  }
};

// Paging of a list: ?offset= and ?limit= (default 1000, at most 10000).
struct AdminPage {
  std::size_t offset = 0;
  std::size_t limit = 1000;
  std::string error;
};

AdminPage admin_page(const http::Request& req) {
  AdminPage p;
  auto number = [&](const char* name, std::size_t& out, std::size_t max) {
    auto v = req.query_param(name);
    if (!v) return;
    if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos) {
      p.error = std::string(name) + " must be a number";
      return;
    }
    out = std::min<std::size_t>(std::stoul(*v), max);
  };
  number("offset", p.offset, SIZE_MAX);
  number("limit", p.limit, 10000);
  return p;
}

template <class T, class F>
http::Response admin_paged(const http::Request& req, const std::vector<T>& items, F&& shape) {
  auto page = admin_page(req);
  if (!page.error.empty()) return admin_bad_request(page.error);
  json::array out;
  for (std::size_t i = page.offset; i < items.size() && out.size() < page.limit; ++i) {
    out.push_back(shape(items[i]));
  }
  return admin_json(200, json::object{{"total", items.size()},
                                      {"offset", page.offset},
                                      {"limit", page.limit},
                                      {"items", std::move(out)}});
}

// The writable local directory, or the 400 problem saying the backend is read-only here.
core::Result<auth::LocalDirectory*> admin_local(AdminCall& c) {
  return service::writable_directory(*c.ctx.services->directory);
}

#define ADMIN_LOCAL_OR_RETURN(var, call)                      \
  auto var##_r = admin_local(call);                           \
  if (!var##_r) return problem_from_status(var##_r.status()); \
  auth::LocalDirectory& var = **var##_r

json::value admin_account_json(const auth::Account& a) {
  auth::AccountRecord r;
  r.account = a;
  auto v = service::account_json(r);
  auto& o = v.as_object();
  o.erase("source");
  o.erase("has_scram_secret");
  o.erase("created_at");
  o.erase("updated_at");
  return v;
}

}  // namespace

// ---- domains ----

http::Response admin_domains_list(AdminCall& c) {
  auto all = c.ctx.services->directory->list_domains();
  if (!all) return problem_from_status(all.status());
  std::vector<auth::Domain> visible;
  auto filter = c.request.query_param("domain");
  for (auto& d : *all) {
    if (filter && !filter->empty() && d.name != core::ascii_lower(*filter)) continue;
    if (c.sees(d.name)) visible.push_back(std::move(d));
  }
  return admin_paged(c.request, visible,
                     [](const auth::Domain& d) { return service::domain_json(d); });
}

http::Response admin_domain_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"name", "alias_of", "catch_all"})) return *bad;
  AdminBody b{o, {}};
  service::NewDomain d;
  d.name = b.str("name").value_or("");
  d.alias_of = b.str("alias_of").value_or("");
  d.catch_all = b.str("catch_all").value_or("");
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (d.name.empty()) return admin_bad_request("name is required");
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Domains(dir, c.change()).add(d);
  if (!r) return problem_from_status(r.status());
  auto resp = admin_write_done(c, 201, service::domain_json(*r));
  if (!c.dry_run) resp.set_header("Location", "/api/v1/domains/" + http::percent_encode(r->name));
  return resp;
}

http::Response admin_domain_show(AdminCall& c) {
  auto d = c.ctx.services->directory->find_domain(c.domain);
  if (!d) return problem_from_status(d.status());
  return admin_json(200, service::domain_json(*d));
}

http::Response admin_domain_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"alias_of", "local", "catch_all"})) return *bad;
  AdminBody b{o, {}};
  service::DomainChange ch;
  ch.name = c.domain;
  ch.alias_of = b.str("alias_of").value_or("");
  ch.make_local = b.boolean("local").value_or(false);
  ch.catch_all = b.str("catch_all");
  if (o.contains("catch_all") && o.at("catch_all").is_null()) ch.catch_all = "";
  if (!b.error.empty()) return admin_bad_request(b.error);
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Domains(dir, c.change()).change(ch);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::domain_json(*r));
}

http::Response admin_domain_remove(AdminCall& c) {
  bool force = c.request.query_param("force").value_or("false") == "true";
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto st = service::Domains(dir, c.change()).remove(c.domain, force);
  if (!st) return problem_from_status(st);
  return admin_write_done(c, 204, nullptr);
}

// ---- users ----

http::Response admin_users_list(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  std::string domain = core::ascii_lower(c.request.query_param("domain").value_or(""));
  auto all = service::Users(dir).list(domain);
  if (!all) return problem_from_status(all.status());
  std::vector<auth::Account> visible;
  for (auto& a : *all) {
    if (c.sees(admin_domain_of(a.address))) visible.push_back(std::move(a));
  }
  return admin_paged(c.request, visible, admin_account_json);
}

http::Response admin_user_add(AdminCall& c) {
  json::object o;
  if (auto bad =
          admin_parse_object(c.request, o,
                             {"address", "id", "login", "display_name", "password", "password_hash",
                              "scheme", "quota_bytes", "quota_messages", "status", "forward_to",
                              "forward_keep_copy", "other_addresses", "send_as"})) {
    return *bad;
  }
  AdminBody b{o, {}};
  service::NewUser u;
  u.address = core::ascii_lower(b.str("address").value_or(""));
  if (u.address.empty()) return admin_bad_request("address is required");
  if (auto refused = c.authorize(admin_domain_of(u.address))) return *refused;
  u.id = b.str("id").value_or("");
  u.login = b.str("login").value_or("");
  u.display_name = b.str("display_name").value_or("");
  u.password = b.str("password").value_or("");
  u.password_hash = b.str("password_hash").value_or("");
  if (auto s = b.str("scheme")) u.scheme = *s;
  u.quota_bytes = b.size("quota_bytes").value_or(0);
  u.quota_messages = b.size("quota_messages").value_or(0);
  if (auto s = b.str("status")) {
    auto st = service::parse_account_status(*s);
    if (!st) return problem_from_status(st.status());
    u.status = *st;
  }
  u.forward_to = b.strings("forward_to").value_or(std::vector<std::string>{});
  u.forward_keep_copy = b.boolean("forward_keep_copy").value_or(true);
  u.other_addresses = b.strings("other_addresses").value_or(std::vector<std::string>{});
  u.send_as = b.strings("send_as").value_or(std::vector<std::string>{});
  if (!b.error.empty()) return admin_bad_request(b.error);
  // Secondary addresses must be in the caller's domains too.
  for (const auto& a : u.other_addresses) {
    if (auto refused = c.authorize(admin_domain_of(a))) return *refused;
  }
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Users(dir, c.change()).add(u);
  if (!r) return problem_from_status(r.status());
  auto resp = admin_write_done(c, 201, service::account_json(*r));
  if (!c.dry_run)
    resp.set_header("Location", "/api/v1/users/" + http::percent_encode(r->account.id));
  return resp;
}

http::Response admin_user_show(AdminCall& c) {
  json::value j;
  auto local = service::writable_directory(*c.ctx.services->directory);
  if (local) {
    auto r = service::Users(**local).show(c.account->id);
    if (!r) return problem_from_status(r.status());
    j = service::account_json(*r);
  } else {
    j = admin_account_json(*c.account);
  }
  // The effective policy and the bundle each value comes from (auth/policy/policy.h); the
  // account's own quota as stored is precedence rule 1.
  if (c.ctx.services->policies) {
    auth::LocalDirectory& store = c.ctx.services->policies->store();
    auto stored = store.find_account_by_id(c.account->id);
    auto e = service::effective_policy(store, stored ? *stored : *c.account);
    if (!e) return problem_from_status(e.status());
    j.as_object()["effective_policy"] = service::effective_policy_json(*e);
  }
  return admin_json(200, j);
}

http::Response admin_user_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(
          c.request, o,
          {"display_name", "status", "primary_address", "login", "quota_bytes", "quota_messages",
           "forward_to", "forward_keep_copy", "add_addresses", "remove_addresses", "send_as"})) {
    return *bad;
  }
  AdminBody b{o, {}};
  service::UserChange ch;
  ch.user = c.account->id;
  ch.display_name = b.str("display_name");
  if (auto s = b.str("status")) {
    auto st = service::parse_account_status(*s);
    if (!st) return problem_from_status(st.status());
    ch.status = *st;
  }
  ch.primary_address = b.str("primary_address");
  ch.login = b.str("login");
  ch.quota_bytes = b.size("quota_bytes");
  ch.quota_messages = b.size("quota_messages");
  ch.forward_to = b.strings("forward_to");
  ch.forward_keep_copy = b.boolean("forward_keep_copy");
  ch.add_addresses = b.strings("add_addresses").value_or(std::vector<std::string>{});
  ch.remove_addresses = b.strings("remove_addresses").value_or(std::vector<std::string>{});
  ch.send_as = b.strings("send_as");
  if (!b.error.empty()) return admin_bad_request(b.error);
  // A domain admin cannot move an account, or give it an address, outside its domains.
  if (ch.primary_address) {
    if (auto refused = c.authorize(admin_domain_of(*ch.primary_address))) return *refused;
  }
  for (const auto& a : ch.add_addresses) {
    if (auto refused = c.authorize(admin_domain_of(a))) return *refused;
  }
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Users(dir, c.change()).change(ch);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::account_json(*r));
}

http::Response admin_user_remove(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Users(dir, c.change()).remove(c.account->id);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 204, nullptr);
}

http::Response admin_user_password(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"password", "password_hash", "scheme"})) {
    return *bad;
  }
  AdminBody b{o, {}};
  service::UserChange ch;
  ch.user = c.account->id;
  ch.password = b.str("password");
  ch.password_hash = b.str("password_hash");
  if (auto s = b.str("scheme")) ch.scheme = *s;
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (!ch.password && !ch.password_hash) return admin_bad_request("password is required");
  if (ch.password && ch.password->empty()) return admin_bad_request("password is empty");
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Users(dir, c.change()).change(ch);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 204, nullptr);
}

http::Response admin_user_unlock(AdminCall& c) {
  std::size_t cleared = 0;
  if (c.ctx.services->authenticator) cleared = c.ctx.services->authenticator->unlock(c.account->id);
  return admin_json(
      200, json::object{
               {"address", c.account->address}, {"was_locked", cleared > 0}, {"cleared", cleared}});
}

// ---- aliases ----

http::Response admin_aliases_list(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  std::string domain = core::ascii_lower(c.request.query_param("domain").value_or(""));
  auto all = service::Aliases(dir).list(domain);
  if (!all) return problem_from_status(all.status());
  std::vector<auth::Alias> visible;
  for (auto& a : *all) {
    if (c.sees(admin_domain_of(a.address))) visible.push_back(std::move(a));
  }
  return admin_paged(c.request, visible,
                     [](const auth::Alias& a) { return service::alias_json(a); });
}

http::Response admin_alias_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"address", "targets"})) return *bad;
  AdminBody b{o, {}};
  auth::Alias a;
  a.address = core::ascii_lower(b.str("address").value_or(""));
  a.targets = b.strings("targets").value_or(std::vector<std::string>{});
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (a.address.empty()) return admin_bad_request("address is required");
  if (auto refused = c.authorize(admin_domain_of(a.address))) return *refused;
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Aliases(dir, c.change()).add(a);
  if (!r) return problem_from_status(r.status());
  auto v = service::alias_json(r->alias);
  if (!r->winning_account.empty()) v.as_object()["shadowed_by_account"] = r->winning_account;
  auto resp = admin_write_done(c, 201, v);
  if (!c.dry_run)
    resp.set_header("Location", "/api/v1/aliases/" + http::percent_encode(r->alias.address));
  return resp;
}

http::Response admin_alias_show(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Aliases(dir).show(core::ascii_lower(c.request.params.at(0)));
  if (!r) return problem_from_status(r.status());
  return admin_json(200, service::alias_json(*r));
}

http::Response admin_alias_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"targets"})) return *bad;
  AdminBody b{o, {}};
  auto targets = b.strings("targets");
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (!targets) return admin_bad_request("targets is required");
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r =
      service::Aliases(dir, c.change()).change(core::ascii_lower(c.request.params.at(0)), *targets);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::alias_json(*r));
}

http::Response admin_alias_remove(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto st = service::Aliases(dir, c.change()).remove(core::ascii_lower(c.request.params.at(0)));
  if (!st) return problem_from_status(st);
  return admin_write_done(c, 204, nullptr);
}

// ---- groups ----

http::Response admin_groups_list(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  std::string domain = core::ascii_lower(c.request.query_param("domain").value_or(""));
  auto all = service::Groups(dir).list(domain);
  if (!all) return problem_from_status(all.status());
  std::vector<auth::Group> visible;
  for (auto& g : *all) {
    if (c.sees(admin_domain_of(g.address))) visible.push_back(std::move(g));
  }
  return admin_paged(c.request, visible,
                     [](const auth::Group& g) { return service::group_json(g); });
}

http::Response admin_group_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(
          c.request, o, {"address", "display_name", "policy", "members", "allowed_senders"})) {
    return *bad;
  }
  AdminBody b{o, {}};
  auth::Group g;
  g.address = core::ascii_lower(b.str("address").value_or(""));
  g.display_name = b.str("display_name").value_or("");
  if (auto p = b.str("policy")) {
    auto policy = service::parse_group_policy(*p);
    if (!policy) return problem_from_status(policy.status());
    g.send_policy = *policy;
  }
  g.members = b.strings("members").value_or(std::vector<std::string>{});
  g.allowed_senders = b.strings("allowed_senders").value_or(std::vector<std::string>{});
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (g.address.empty()) return admin_bad_request("address is required");
  if (auto refused = c.authorize(admin_domain_of(g.address))) return *refused;
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Groups(dir, c.change()).add(g);
  if (!r) return problem_from_status(r.status());
  auto resp = admin_write_done(c, 201, service::group_json(*r));
  if (!c.dry_run) resp.set_header("Location", "/api/v1/groups/" + http::percent_encode(r->address));
  return resp;
}

http::Response admin_group_show(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Groups(dir).show(core::ascii_lower(c.request.params.at(0)));
  if (!r) return problem_from_status(r.status());
  return admin_json(200, service::group_json(*r));
}

http::Response admin_group_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"display_name", "policy", "allowed_senders"})) {
    return *bad;
  }
  AdminBody b{o, {}};
  service::GroupChange ch;
  ch.address = core::ascii_lower(c.request.params.at(0));
  ch.display_name = b.str("display_name");
  if (auto p = b.str("policy")) {
    auto policy = service::parse_group_policy(*p);
    if (!policy) return problem_from_status(policy.status());
    ch.send_policy = *policy;
  }
  ch.allowed_senders = b.strings("allowed_senders");
  if (!b.error.empty()) return admin_bad_request(b.error);
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Groups(dir, c.change()).change(ch);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::group_json(*r));
}

http::Response admin_group_remove(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto st = service::Groups(dir, c.change()).remove(core::ascii_lower(c.request.params.at(0)));
  if (!st) return problem_from_status(st);
  return admin_write_done(c, 204, nullptr);
}

http::Response admin_group_member_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"member"})) return *bad;
  AdminBody b{o, {}};
  auto member = b.str("member");
  if (!b.error.empty()) return admin_bad_request(b.error);
  if (!member || member->empty()) return admin_bad_request("member is required");
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Groups(dir, c.change())
               .add_member(core::ascii_lower(c.request.params.at(0)), *member);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::group_json(*r));
}

http::Response admin_group_member_remove(AdminCall& c) {
  ADMIN_LOCAL_OR_RETURN(dir, c);
  auto r = service::Groups(dir, c.change())
               .remove_member(core::ascii_lower(c.request.params.at(0)), c.request.params.at(1));
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, service::group_json(*r));
}

// ---- app passwords ----

namespace {
json::value admin_app_password_json(const auth::AppPassword& p) {
  return json::parse(service::AppPasswords::public_json(p));
}
}  // namespace

http::Response admin_app_passwords_list(AdminCall& c) {
  auto& s = *c.ctx.services;
  if (!s.resolver || !s.app_passwords)
    return problem_from_status(core::unavailable("app passwords are not configured"));
  bool revoked = c.request.query_param("include_revoked").value_or("false") == "true";
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords).list(c.account->id, revoked);
  if (!r) return problem_from_status(r.status());
  json::array items;
  for (const auto& p : r->app_passwords) items.push_back(admin_app_password_json(p));
  return admin_json(200,
                    json::object{{"address", r->account.address}, {"items", std::move(items)}});
}

http::Response admin_app_password_create(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"name", "protocols"})) return *bad;
  AdminBody b{o, {}};
  auto name = b.str("name").value_or("");
  auto protocols = b.strings("protocols").value_or(std::vector<std::string>{});
  if (!b.error.empty()) return admin_bad_request(b.error);
  auto& s = *c.ctx.services;
  if (!s.resolver || !s.app_passwords)
    return problem_from_status(core::unavailable("app passwords are not configured"));
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords, c.change())
               .create(c.account->id, name, protocols);
  if (!r) return problem_from_status(r.status());
  auto v = admin_app_password_json(r->record);
  if (!c.dry_run) v.as_object()["secret"] = r->secret;
  v.as_object()["address"] = r->account.address;
  return admin_write_done(c, 201, v);
}

http::Response admin_app_password_revoke(AdminCall& c) {
  auto& s = *c.ctx.services;
  if (!s.resolver || !s.app_passwords)
    return problem_from_status(core::unavailable("app passwords are not configured"));
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords, c.change())
               .revoke(c.account->id, c.request.params.at(1), service::Actor::admin);
  if (!r) return problem_from_status(r.status());
  // Sessions that logged in with it are closed by the account sweep.
  return admin_write_done(c, 200, admin_app_password_json(*r));
}

}  // namespace mailroom::api
