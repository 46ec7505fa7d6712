// mailroomctl directory commands: domain, user, alias, group, password, conflicts, and
// directory sync / retention (ctl_sync.cpp).
// They write the local directory (auth/local) directly; mailroomd sees the change on its next
// lookup (no cache). Exit codes and --json as in src/ctl/ctl.h.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "auth/ctl_support.h"
#include "auth/local/local_directory.h"
#include "src/core/address.h"
#include "src/ctl/ctl.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using auth::LocalDirectory;
using core::Status;
using namespace detail;

void register_domain(CLI::App& app, Context& ctx, int* ec) {
  auto* domain = app.add_subcommand("domain", "Manage mail domains")->require_subcommand(1);
  struct Opts {
    std::string name, alias_of, catch_all;
    bool force = false, local = false;
  };
  auto o = std::make_shared<Opts>();

  auto* add = domain->add_subcommand("add", "Add a local domain (or an alias domain)");
  add->add_option("name", o->name, "Domain name")->required();
  add->add_option("--alias-of", o->alias_of, "Make it an alias of this local domain");
  add->add_option("--catch-all", o->catch_all, "Deliver unknown addresses to this address");
  add->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auth::Domain d;
      d.name = o->name;
      d.kind = o->alias_of.empty() ? auth::DomainKind::local : auth::DomainKind::alias;
      d.alias_of = o->alias_of;
      d.catch_all = o->catch_all;
      auto st = dir.add_domain(d);
      if (!st) return ctx.fail(st);
      auto stored = dir.find_domain(core::ascii_lower(o->name));
      if (!stored) return ctx.fail(stored.status());
      return done(ctx, st, "domain " + stored->name + " added", domain_json(*stored));
    });
  });

  auto* change = domain->add_subcommand("change", "Change a domain");
  change->add_option("name", o->name, "Domain name")->required();
  change->add_option("--alias-of", o->alias_of, "Make it an alias of this local domain");
  change->add_flag("--local", o->local, "Make it a local domain again");
  change->add_option("--catch-all", o->catch_all, "Catch-all address (\"\" to remove)");
  change->callback([&ctx, ec, o, change] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto d = dir.find_domain(core::ascii_lower(o->name));
      if (!d) return ctx.fail(d.status());
      if (!o->alias_of.empty()) {
        d->kind = auth::DomainKind::alias;
        d->alias_of = o->alias_of;
      }
      if (o->local) d->kind = auth::DomainKind::local;
      if (change->count("--catch-all") > 0) d->catch_all = o->catch_all;
      auto st = dir.change_domain(*d);
      auto stored = dir.find_domain(d->name);
      return done(ctx, st, "domain " + d->name + " changed",
                  stored ? domain_json(*stored) : json::value());
    });
  });

  auto* remove = domain->add_subcommand("remove", "Remove a domain");
  remove->add_option("name", o->name, "Domain name")->required();
  remove->add_flag("--force", o->force, "Also remove its accounts, aliases and groups");
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto st = dir.remove_domain(o->name, o->force);
      return done(ctx, st, "domain " + o->name + " removed", json::object{{"removed", o->name}});
    });
  });

  auto* list = domain->add_subcommand("list", "List domains");
  list->callback([&ctx, ec] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto all = dir.list_domains();
      if (!all) return ctx.fail(all.status());
      json::array arr;
      std::string human;
      for (const auto& d : *all) {
        arr.push_back(domain_json(d));
        human += d.name;
        if (d.kind == auth::DomainKind::alias) human += " (alias of " + d.alias_of + ")";
        if (!d.catch_all.empty()) human += " catch-all " + d.catch_all;
        human += "\n";
      }
      if (!human.empty()) human.pop_back();
      return done(ctx, Status::ok(), human, arr);
    });
  });

  auto* show = domain->add_subcommand("show", "Show a domain");
  show->add_option("name", o->name, "Domain name")->required();
  show->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto d = dir.find_domain(core::ascii_lower(o->name));
      if (!d) return ctx.fail(d.status());
      auto j = domain_json(*d);
      return done(ctx, Status::ok(), human(j), j);
    });
  });
}

}  // namespace

void register_user_commands(CLI::App& app, Context& ctx, int* exit_code);   // ctl_users.cpp
void register_alias_group_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_sync_commands(CLI::App& app, Context& ctx, int* exit_code);  // ctl_sync.cpp

void register_directory_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_domain(app, ctx, exit_code);
  register_user_commands(app, ctx, exit_code);
  register_alias_group_commands(app, ctx, exit_code);
  register_sync_commands(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
