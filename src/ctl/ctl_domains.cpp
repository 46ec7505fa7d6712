// mailroomctl domain ... (service::Domains).
// The local directory is written at once; mailroomd sees a change on its next lookup (no
// cache). Exit codes and --json as in src/ctl/ctl.h.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/ctl/ctl_support.h"
#include "src/service/domains.h"

namespace mailroom::ctl {

namespace json = boost::json;
using auth::LocalDirectory;
using core::Status;
using namespace detail;

void register_domain_commands(CLI::App& app, Context& ctx, int* ec) {
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
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto d = service::Domains(dir, change_context(ctx)).add({o->name, o->alias_of, o->catch_all});
      if (!d) return ctx.fail(d.status());
      return done(ctx, Status::ok(), "domain " + d->name + " added", domain_json(*d));
    });
  });

  auto* change = domain->add_subcommand("change", "Change a domain");
  change->add_option("name", o->name, "Domain name")->required();
  change->add_option("--alias-of", o->alias_of, "Make it an alias of this local domain");
  change->add_flag("--local", o->local, "Make it a local domain again");
  change->add_option("--catch-all", o->catch_all, "Catch-all address (\"\" to remove)");
  change->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  change->callback([&ctx, ec, o, change] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      service::DomainChange request{o->name, o->alias_of, o->local, std::nullopt};
      if (change->count("--catch-all") > 0) request.catch_all = o->catch_all;
      auto d = service::Domains(dir, change_context(ctx)).change(request);
      if (!d) return ctx.fail(d.status());
      return done(ctx, Status::ok(), "domain " + d->name + " changed", domain_json(*d));
    });
  });

  auto* remove = domain->add_subcommand("remove", "Remove a domain");
  remove->add_option("name", o->name, "Domain name")->required();
  remove->add_flag("--force", o->force, "Also remove its accounts, aliases and groups");
  remove->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto st = service::Domains(dir, change_context(ctx)).remove(o->name, o->force);
      return done(ctx, st, "domain " + o->name + " removed", json::object{{"removed", o->name}});
    });
  });

  auto* list = domain->add_subcommand("list", "List domains");
  list->callback([&ctx, ec] {
    run(ctx, ec, [&](LocalDirectory& dir) {
      auto all = service::Domains(dir).list();
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
      auto d = service::Domains(dir).show(o->name);
      if (!d) return ctx.fail(d.status());
      auto j = domain_json(*d);
      return done(ctx, Status::ok(), human(j), j);
    });
  });
}

}  // namespace mailroom::ctl
