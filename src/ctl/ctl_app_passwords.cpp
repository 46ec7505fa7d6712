// mailroomctl app-password create|list|revoke (service::AppPasswords, issue 16): the
// administrator's side of app passwords. `create` prints the secret once; nothing can show
// it again (only its hash is stored).
//
// Audit: the store logs every creation and revocation (event=auth.app_password_created,
// event=auth.app_password_revoked); mailroomctl otherwise logs warnings only, so these
// commands let info lines through to stderr, where the administrator (or the script calling
// us) sees and keeps them. The rows keep revoked_at and the reason as well (list --all).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "auth/resolver.h"
#include "src/ctl/ctl_support.h"
#include "src/service/app_passwords.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using core::Status;
using detail::done;

struct AppPasswordOpts {
  std::string user, name, target;
  std::vector<std::string> protocols;
  bool all = false;
};

std::string protocols_text(const auth::AppPassword& a) {
  if (a.protocols.empty()) return "all";
  std::string out;
  for (const auto& p : a.protocols) out += (out.empty() ? "" : ",") + p;
  return out;
}

json::object app_password_json(const auth::AppPassword& a) {
  json::array protocols;
  for (const auto& p : a.protocols) protocols.emplace_back(p);
  return json::object{{"id", a.id},
                      {"account_id", a.account_id},
                      {"name", a.name},
                      {"protocols", protocols},
                      {"created_at", a.created_at},
                      {"last_used_at", a.last_used_at},
                      {"revoked_at", a.revoked_at},
                      {"revoked_reason", a.revoked_reason}};
}

// The operations need the directory (any backend, read only) and the app password file.
int with_service(Context& ctx, const std::function<int(service::AppPasswords&)>& body) {
  core::Services* s = ctx.services();
  if (!s || !s->resolver || !s->app_passwords) return kSystemError;
  service::AppPasswords ops(*s->resolver, *s->app_passwords, detail::change_context(ctx));
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::info);  // the audit lines (see the top of this file)
  int rc = body(ops);
  spdlog::set_level(level);
  return rc;
}

int create(Context& ctx, service::AppPasswords& ops, const AppPasswordOpts& o) {
  auto r = ops.create(o.user, o.name, o.protocols);
  if (!r) return ctx.fail(r.status());
  json::object j = app_password_json(r->record);
  j["address"] = r->account.address;
  j["password"] = r->secret;
  std::string text = "app password '" + r->record.name + "' for " + r->account.address + " (id " +
                     r->record.id + ", protocols " + protocols_text(r->record) + "):\n  " +
                     r->secret +
                     "\nShown once: it cannot be displayed again (only its hash is stored).";
  return done(ctx, Status::ok(), text, j);
}

int list(Context& ctx, service::AppPasswords& ops, const AppPasswordOpts& o) {
  auto r = ops.list(o.user, o.all);
  if (!r) return ctx.fail(r.status());
  json::array arr;
  std::string text;
  for (const auto& a : r->app_passwords) {
    arr.push_back(app_password_json(a));
    text += a.id + "\t" + a.name + "\t" + protocols_text(a) + "\t" +
            (a.active() ? "active" : "revoked (" + a.revoked_reason + ")") + "\n";
  }
  if (text.empty()) {
    text = "no app passwords for " + r->account.address;
  } else {
    text.pop_back();
  }
  return done(ctx, Status::ok(), text, arr);
}

int revoke(Context& ctx, service::AppPasswords& ops, const AppPasswordOpts& o) {
  if (o.all == !o.target.empty()) {
    return ctx.fail(core::invalid_argument("give the app password's NAME or ID, or --all"));
  }
  std::vector<auth::AppPassword> revoked;
  if (o.all) {
    auto r = ops.revoke_all(o.user, service::Actor::admin);
    if (!r) return ctx.fail(r.status());
    revoked = std::move(*r);
  } else {
    auto r = ops.revoke(o.user, o.target, service::Actor::admin);
    if (!r) return ctx.fail(r.status());
    revoked.push_back(std::move(*r));
  }
  json::array arr;
  std::string text;
  for (const auto& a : revoked) {
    arr.push_back(app_password_json(a));
    text += "app password '" + a.name + "' (id " + a.id + ") revoked\n";
  }
  if (text.empty()) {
    text = "no active app passwords";
  } else {
    text.pop_back();
  }
  return done(ctx, Status::ok(), text, json::object{{"revoked", arr}});
}

}  // namespace

void register_app_password_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* group =
      app.add_subcommand("app-password", "App passwords for mail clients (IMAP, POP3, SMTP)")
          ->require_subcommand(1);
  auto o = std::make_shared<AppPasswordOpts>();

  auto* add = group->add_subcommand("create", "Create an app password; prints it once");
  add->add_option("user", o->user, "Login, address or id")->required();
  add->add_option("--name", o->name, "A name for it (e.g. the device)")->required();
  add->add_option("--protocol", o->protocols, "Only these: imap, pop3, smtp (default: all)");
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback([&ctx, ec, o] {
    *ec = with_service(ctx, [&](service::AppPasswords& s) { return create(ctx, s, *o); });
  });

  auto* ls = group->add_subcommand("list", "List a user's app passwords (never the secrets)");
  ls->add_option("user", o->user, "Login, address or id")->required();
  ls->add_flag("--all", o->all, "Include revoked ones (with the reason)");
  ls->callback([&ctx, ec, o] {
    *ec = with_service(ctx, [&](service::AppPasswords& s) { return list(ctx, s, *o); });
  });

  auto* rv = group->add_subcommand("revoke", "Revoke an app password (open sessions close)");
  rv->add_option("user", o->user, "Login, address or id")->required();
  rv->add_option("app_password", o->target, "Its name or id");
  rv->add_flag("--all", o->all, "Revoke every app password of the user");
  rv->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  rv->callback([&ctx, ec, o] {
    *ec = with_service(ctx, [&](service::AppPasswords& s) { return revoke(ctx, s, *o); });
  });
}

}  // namespace mailroom::ctl
