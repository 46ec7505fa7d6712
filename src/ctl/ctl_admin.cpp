// mailroomctl api-token create|list|revoke and admin grant|revoke|list|roles (issue 17):
// delegated administration of the HTTP admin API. mailroomctl itself runs as the server's
// owner (service::cli_caller(), a global admin); these commands decide who else may
// administer what, through admin.db (src/service/admin_store.h).
//
// `api-token create` prints the token once: only its SHA-256 is stored.
// Audit: the stores log every creation, revocation and grant (event=admin.*); like
// app-password, these commands let info lines through to stderr for the administrator.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <ctime>

#include "auth/resolver.h"
#include "src/ctl/ctl_support.h"
#include "src/service/admin_store.h"
#include "src/service/api_tokens.h"
#include "src/service/role_grants.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using core::Status;
using detail::done;

struct AdminOpts {
  std::string name, role, expires, account, group, id, members_of;
  std::vector<std::string> domains;
  bool all = false;
};

std::string admin_date(int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::array admin_strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// "auditor(all domains)", "helpdesk(a.example,b.example; members of sales@a.example)".
std::string admin_grant_text(service::Role role, const std::vector<std::string>& domains,
                             const std::string& members_of) {
  std::string d;
  for (const auto& x : domains) d += (d.empty() ? "" : ",") + x;
  std::string scope = members_of.empty() ? "" : "; members of " + members_of;
  return std::string(service::role_name(role)) + "(" + (d.empty() ? "all domains" : d) + scope +
         ")";
}

json::object token_json(const service::ApiToken& t, int64_t now) {
  json::array grants;
  for (const auto& g : t.grants) {
    grants.push_back(json::object{{"role", service::role_name(g.role)},
                                  {"domains", admin_strings(g.domains)},
                                  {"members_of", g.members_of}});
  }
  return json::object{{"id", t.id},
                      {"name", t.name},
                      {"grants", grants},
                      {"state", t.state(now)},
                      {"created_at", t.created_at},
                      {"expires_at", t.expires_at},
                      {"last_used_at", t.last_used_at},
                      {"revoked_at", t.revoked_at},
                      {"created_by", t.created_by}};
}

std::string token_line(const service::ApiToken& t, int64_t now) {
  std::string grants;
  for (const auto& g : t.grants) {
    grants += (grants.empty() ? "" : " ") + admin_grant_text(g.role, g.domains, g.members_of);
  }
  return t.id + "\t" + t.name + "\t" + grants + "\t" + t.state(now) + "\texpires " +
         admin_date(t.expires_at) + "\tlast used " + admin_date(t.last_used_at);
}

json::object grant_json(const service::RoleGrant& g) {
  return json::object{
      {"id", g.id},
      {"role", service::role_name(g.role)},
      {"domains", admin_strings(g.domains)},
      {"members_of", g.members_of},
      {"principal", g.principal_text()},
      {"principal_kind", g.kind == service::RoleGrant::Kind::account ? "account" : "group"},
      {"principal_id", g.principal},
      {"created_at", g.created_at},
      {"created_by", g.created_by}};
}

std::string grant_line(const service::RoleGrant& g) {
  return g.id + "\t" + g.principal_text() + "\t" +
         admin_grant_text(g.role, g.domains, g.members_of);
}

// The stores on <data_dir>/admin.db (opened per command: mailroomctl runs one).
int with_admin(Context& ctx, const std::function<int(service::AdminAccess&)>& body) {
  core::Services* s = ctx.services();
  if (!s || !s->resolver) return kSystemError;
  auto admin = service::open_admin_access(ctx.data_dir(), s->resolver);
  if (!admin) return ctx.fail(admin.status());
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::info);  // the audit lines (see the top of this file)
  int rc = body(*admin);
  spdlog::set_level(level);
  return rc;
}

core::Result<service::Role> admin_role(const std::string& text) {
  auto role = service::parse_role(text);
  if (!role) {
    return core::invalid_argument("unknown role '" + text +
                                  "' (global_admin, domain_admin, helpdesk, auditor)");
  }
  return *role;
}

// --account / --group: exactly one.
core::Result<std::string> admin_principal(const AdminOpts& o) {
  if (o.account.empty() == o.group.empty()) {
    return core::invalid_argument("give --account or --group (one of them)");
  }
  return o.account.empty() ? "group:" + o.group : "account:" + o.account;
}

int token_create(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  auto role = admin_role(o.role);
  if (!role) return ctx.fail(role.status());
  int64_t lifetime = 0;
  if (!o.expires.empty()) {
    auto parsed = service::parse_token_lifetime(o.expires);
    if (!parsed) {
      return ctx.fail(core::invalid_argument("--expires '" + o.expires +
                                             "' is not a duration like 90d, 12h or 2w"));
    }
    lifetime = *parsed;
  }
  auto r = a.tokens->create(o.name, {service::Grant{*role, o.domains, "", o.members_of}}, lifetime,
                            service::cli_caller().name);
  if (!r) return ctx.fail(r.status());
  const int64_t now = r->token.created_at;
  json::object j = token_json(r->token, now);
  j["token"] = r->secret;
  std::string text = "API token '" + r->token.name + "' (id " + r->token.id + ", " +
                     admin_grant_text(r->token.grants[0].role, r->token.grants[0].domains,
                                      r->token.grants[0].members_of) +
                     ", expires " + admin_date(r->token.expires_at) + "):\n  " + r->secret +
                     "\nShown once: it cannot be displayed again (only its digest is stored).";
  return done(ctx, Status::ok(), text, j);
}

int token_list(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  auto r = a.tokens->list(o.all);
  if (!r) return ctx.fail(r.status());
  const int64_t now = core::real_clock().unix_seconds();
  json::array arr;
  std::string text;
  for (const auto& t : *r) {
    arr.push_back(token_json(t, now));
    text += token_line(t, now) + "\n";
  }
  if (text.empty()) text = "no API tokens\n";
  text.pop_back();
  return done(ctx, Status::ok(), text, arr);
}

int token_revoke(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  auto r = a.tokens->revoke(o.name, service::cli_caller().name);
  if (!r) return ctx.fail(r.status());
  return done(ctx, Status::ok(), "API token '" + r->name + "' (id " + r->id + ") revoked",
              token_json(*r, r->revoked_at));
}

int grant_add(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  auto role = admin_role(o.role);
  if (!role) return ctx.fail(role.status());
  auto principal = admin_principal(o);
  if (!principal) return ctx.fail(principal.status());
  auto r = a.grants->grant(*role, o.domains, *principal, service::cli_caller().name, o.members_of);
  if (!r) return ctx.fail(r.status());
  return done(ctx, Status::ok(),
              "granted " + admin_grant_text(r->role, r->domains, r->members_of) + " to " +
                  r->principal_text() + " (grant " + r->id + ")",
              grant_json(*r));
}

int grant_revoke(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  std::vector<service::RoleGrant> removed;
  if (!o.id.empty()) {
    if (!o.role.empty() || !o.account.empty() || !o.group.empty()) {
      return ctx.fail(core::invalid_argument("give --id alone, or ROLE with --account/--group"));
    }
    auto r = a.grants->revoke_id(o.id, service::cli_caller().name);
    if (!r) return ctx.fail(r.status());
    removed.push_back(*r);
  } else {
    if (o.role.empty()) return ctx.fail(core::invalid_argument("give ROLE, or --id"));
    auto role = admin_role(o.role);
    if (!role) return ctx.fail(role.status());
    auto principal = admin_principal(o);
    if (!principal) return ctx.fail(principal.status());
    auto r = a.grants->revoke(*role, *principal, service::cli_caller().name);
    if (!r) return ctx.fail(r.status());
    removed = std::move(*r);
  }
  json::array arr;
  std::string text;
  for (const auto& g : removed) {
    arr.push_back(grant_json(g));
    text += "revoked " + admin_grant_text(g.role, g.domains, g.members_of) + " from " +
            g.principal_text() + " (grant " + g.id + ")\n";
  }
  text.pop_back();
  return done(ctx, Status::ok(), text, json::object{{"revoked", arr}});
}

int grant_list(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  std::string principal;
  if (!o.account.empty() || !o.group.empty()) {
    auto p = admin_principal(o);
    if (!p) return ctx.fail(p.status());
    principal = *p;
  }
  auto r = a.grants->list(principal);
  if (!r) return ctx.fail(r.status());
  json::array arr;
  std::string text;
  for (const auto& g : *r) {
    arr.push_back(grant_json(g));
    text += grant_line(g) + "\n";
  }
  if (text.empty()) text = "no role grants\n";
  text.pop_back();
  return done(ctx, Status::ok(), text, arr);
}

// What an account may do through the API: its own grants and its groups' (the answer the
// HTTP API computes for an identity-provider token naming it).
int grant_roles(Context& ctx, service::AdminAccess& a, const AdminOpts& o) {
  auto r = a.grants->caller_for_user(o.account);
  if (!r) return ctx.fail(r.status());
  json::array arr;
  std::string text;
  for (const auto& g : r->grants) {
    arr.push_back(json::object{{"role", service::role_name(g.role)},
                               {"domains", admin_strings(g.domains)},
                               {"members_of", g.members_of},
                               {"source", g.source}});
    text += admin_grant_text(g.role, g.domains, g.members_of) + "\tfrom " + g.source + "\n";
  }
  if (text.empty()) text = r->name + " has no administrative role\n";
  text.pop_back();
  return done(
      ctx, Status::ok(), text,
      json::object{{"account", r->name}, {"global_admin", r->is_global_admin()}, {"grants", arr}});
}

}  // namespace

void register_admin_commands(CLI::App& app, Context& ctx, int* ec) {
  auto o = std::make_shared<AdminOpts>();
  auto run = [&ctx, ec, o](int (*f)(Context&, service::AdminAccess&, const AdminOpts&)) {
    return [&ctx, ec, o, f] {
      *ec = with_admin(ctx, [&](service::AdminAccess& a) { return f(ctx, a, *o); });
    };
  };
  const std::string roles = "global_admin, domain_admin, helpdesk, auditor";

  auto* tokens = app.add_subcommand("api-token", "Bearer tokens for the HTTP admin API and SCIM")
                     ->require_subcommand(1);
  auto* create = tokens->add_subcommand("create", "Create an API token; prints it once");
  create->add_option("name", o->name, "A unique name (letters, digits, . _ -)")->required();
  create->add_option("--role", o->role, roles)->required();
  create->add_option("--domain", o->domains,
                     "Limit the role to these domains (required for domain_admin)");
  create->add_option("--expires", o->expires, "Lifetime: 90d (default), 12h, 2w; at most 730d");
  create->add_option("--members-of", o->members_of,
                     "Limit the role to the mail and mailboxes of this directory group's members");
  create->callback(run(token_create));
  auto* ls = tokens->add_subcommand("list", "List API tokens (never the secrets)");
  ls->add_flag("--all", o->all, "Include revoked tokens");
  ls->callback(run(token_list));
  auto* rv = tokens->add_subcommand("revoke", "Revoke an API token");
  rv->add_option("token", o->name, "Its name or id")->required();
  rv->callback(run(token_revoke));

  auto* admin = app.add_subcommand("admin", "Administrative roles of accounts and groups")
                    ->require_subcommand(1);
  auto* grant = admin->add_subcommand("grant", "Grant a role to an account or a group");
  grant->add_option("role", o->role, roles)->required();
  grant->add_option("--account", o->account, "Login, address or id of the account");
  grant->add_option("--group", o->group, "Address of a directory group (its members hold it)");
  grant->add_option("--domain", o->domains,
                    "Limit the role to these domains (required for domain_admin)");
  grant->add_option("--members-of", o->members_of,
                    "Limit the role to the mail and mailboxes of this directory group's members");
  grant->callback(run(grant_add));
  auto* revoke = admin->add_subcommand("revoke", "Revoke a role (every grant of it) or one grant");
  revoke->add_option("role", o->role, roles);
  revoke->add_option("--account", o->account, "Login, address or id of the account");
  revoke->add_option("--group", o->group, "Address of the group");
  revoke->add_option("--id", o->id, "One grant, by the id `admin list` shows");
  revoke->callback(run(grant_revoke));
  auto* list = admin->add_subcommand("list", "List role grants");
  list->add_option("--account", o->account, "Only this account's own grants");
  list->add_option("--group", o->group, "Only this group's grants");
  list->callback(run(grant_list));
  auto* who = admin->add_subcommand("roles", "An account's roles, with those of its groups");
  who->add_option("account", o->account, "Login, address or id")->required();
  who->callback(run(grant_roles));
}

}  // namespace mailroom::ctl
