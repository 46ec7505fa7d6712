// mailroomctl alias ... (service::Aliases) and group ... (service::Groups).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/ctl/ctl_support.h"
#include "src/service/aliases.h"
#include "src/service/groups.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using auth::LocalDirectory;
using core::Status;
using namespace detail;

struct Opts {
  std::string address, name, policy = "anyone", domain, member;
  std::vector<std::string> targets, members, allowed;
};

int print_group(Context& ctx, const core::Result<auth::Group>& g, const std::string& verb) {
  if (!g) return ctx.fail(g.status());
  auto j = group_json(*g);
  return done(ctx, Status::ok(), verb.empty() ? human(j) : "group " + g->address + " " + verb, j);
}

void register_alias(CLI::App& app, Context& ctx, int* ec) {
  auto* alias = app.add_subcommand("alias", "Manage aliases")->require_subcommand(1);
  auto o = std::make_shared<Opts>();

  auto* add = alias->add_subcommand("add", "Add an alias (an account of the same address wins)");
  add->add_option("address", o->address, "Alias address")->required();
  add->add_option("targets", o->targets, "Target addresses")->required();
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto a = service::Aliases(d, change_context(ctx)).add(auth::Alias{o->address, o->targets});
      if (!a) return ctx.fail(a.status());
      std::string text = "alias " + a->alias.address + " added";
      if (!a->winning_account.empty()) {
        text += " (warning: account " + a->winning_account + " has this address and wins)";
      }
      return done(ctx, Status::ok(), text, alias_json(a->alias));
    });
  });

  auto* change = alias->add_subcommand("change", "Replace an alias's targets");
  change->add_option("address", o->address, "Alias address")->required();
  change->add_option("targets", o->targets, "Target addresses")->required();
  change->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  change->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto a = service::Aliases(d, change_context(ctx)).change(o->address, o->targets);
      if (!a) return ctx.fail(a.status());
      return done(ctx, Status::ok(), "alias " + a->address + " changed", alias_json(*a));
    });
  });

  auto* remove = alias->add_subcommand("remove", "Remove an alias");
  remove->add_option("address", o->address, "Alias address")->required();
  remove->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto st = service::Aliases(d, change_context(ctx)).remove(o->address);
      return done(ctx, st, "alias " + o->address + " removed",
                  json::object{{"removed", o->address}});
    });
  });

  auto* list = alias->add_subcommand("list", "List aliases");
  list->add_option("--domain", o->domain, "Only this domain");
  list->callback([&ctx, ec, o] {
    read_run(ctx, ec, [&](LocalDirectory& d) {
      auto all = service::Aliases(d).list(o->domain);
      if (!all) return ctx.fail(all.status());
      json::array arr;
      std::string text;
      for (const auto& a : *all) {
        arr.push_back(alias_json(a));
        text += a.address + " ->";
        for (const auto& t : a.targets) text += " " + t;
        text += "\n";
      }
      if (!text.empty()) text.pop_back();
      return done(ctx, Status::ok(), text, arr);
    });
  });

  auto* show = alias->add_subcommand("show", "Show an alias");
  show->add_option("address", o->address, "Alias address")->required();
  show->callback([&ctx, ec, o] {
    read_run(ctx, ec, [&](LocalDirectory& d) {
      auto a = service::Aliases(d).show(o->address);
      if (!a) return ctx.fail(a.status());
      auto j = alias_json(*a);
      return done(ctx, Status::ok(), human(j), j);
    });
  });
}

void register_group(CLI::App& app, Context& ctx, int* ec) {
  auto* group =
      app.add_subcommand("group", "Manage groups (distribution lists)")->require_subcommand(1);
  auto o = std::make_shared<Opts>();

  auto* add = group->add_subcommand("add", "Add a group");
  add->add_option("address", o->address, "Group address")->required();
  add->add_option("--member", o->members, "Member address (repeat)");
  add->add_option("--policy", o->policy, "Who may send: anyone, domain, members, moderators");
  add->add_option("--allowed-sender", o->allowed, "For --policy moderators (repeat)");
  add->add_option("--name", o->name, "Display name");
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto p = service::parse_group_policy(o->policy);
      if (!p) return ctx.fail(p.status());
      auth::Group g;
      g.address = o->address;
      g.display_name = o->name;
      g.members = o->members;
      g.send_policy = *p;
      g.allowed_senders = o->allowed;
      return print_group(ctx, service::Groups(d, change_context(ctx)).add(g), "added");
    });
  });

  auto* change = group->add_subcommand("change", "Change a group's name, policy or moderators");
  change->add_option("address", o->address, "Group address")->required();
  change->add_option("--policy", o->policy, "anyone, domain, members, moderators");
  change->add_option("--allowed-sender", o->allowed, "Replace the allowed senders");
  change->add_option("--name", o->name, "Display name");
  change->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  change->callback([&ctx, ec, o, change] {
    run(ctx, ec, [&](LocalDirectory& d) {
      service::GroupChange c;
      c.address = o->address;
      if (change->count("--policy")) {
        auto p = service::parse_group_policy(o->policy);
        if (!p) return ctx.fail(p.status());
        c.send_policy = *p;
      }
      if (change->count("--allowed-sender")) c.allowed_senders = o->allowed;
      if (change->count("--name")) c.display_name = o->name;
      return print_group(ctx, service::Groups(d, change_context(ctx)).change(c), "changed");
    });
  });

  auto* add_member = group->add_subcommand("add-member", "Add a member");
  add_member->add_option("address", o->address, "Group address")->required();
  add_member->add_option("member", o->member, "Member address")->required();
  add_member->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add_member->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      return print_group(ctx,
                         service::Groups(d, change_context(ctx)).add_member(o->address, o->member),
                         "now has " + o->member);
    });
  });

  auto* remove_member = group->add_subcommand("remove-member", "Remove a member");
  remove_member->add_option("address", o->address, "Group address")->required();
  remove_member->add_option("member", o->member, "Member address")->required();
  remove_member->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove_member->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      return print_group(
          ctx, service::Groups(d, change_context(ctx)).remove_member(o->address, o->member),
          "no longer has " + o->member);
    });
  });

  auto* remove = group->add_subcommand("remove", "Remove a group");
  remove->add_option("address", o->address, "Group address")->required();
  remove->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto st = service::Groups(d, change_context(ctx)).remove(o->address);
      return done(ctx, st, "group " + o->address + " removed",
                  json::object{{"removed", o->address}});
    });
  });

  auto* list = group->add_subcommand("list", "List groups");
  list->add_option("--domain", o->domain, "Only this domain");
  list->callback([&ctx, ec, o] {
    read_run(ctx, ec, [&](LocalDirectory& d) {
      auto all = service::Groups(d).list(o->domain);
      if (!all) return ctx.fail(all.status());
      json::array arr;
      std::string text;
      for (const auto& g : *all) {
        arr.push_back(group_json(g));
        text += g.address + " (" + std::to_string(g.members.size()) + " members)\n";
      }
      if (!text.empty()) text.pop_back();
      return done(ctx, Status::ok(), text, arr);
    });
  });

  auto* show = group->add_subcommand("show", "Show a group");
  show->add_option("address", o->address, "Group address")->required();
  show->callback([&ctx, ec, o] {
    read_run(ctx, ec, [&](LocalDirectory& d) {
      return print_group(ctx, service::Groups(d).show(o->address), "");
    });
  });
}

}  // namespace

void register_group_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_alias(app, ctx, exit_code);
  register_group(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
