// mailroomctl user blocklist|allowlist add|remove|list USER [ENTRY] and
// mailroomctl user spam-options USER [--ads inbox|folder] [--blocked discard|junk]
// (service::PersonalListsService): a user's personal block and allow lists, applied at
// delivery (src/filter/personal_lists.h).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/ctl/ctl_support.h"
#include "src/service/personal_lists.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

std::string lists_human(const service::UserLists& u) {
  std::string out = "user " + u.account.address + " (id " + u.account.id + ")\n";
  out += std::string("ads: ") + (u.lists.ads_in_inbox ? "inbox" : "folder") + "\n";
  out += std::string("blocked: ") +
         (u.lists.blocked == filter::BlockedAction::discard ? "discard" : "junk") + "\n";
  for (const auto& e : u.lists.block) out += "block " + e.kind + " " + e.value + "\n";
  for (const auto& e : u.lists.allow) out += "allow " + e.kind + " " + e.value + "\n";
  return out;
}

json::value lists_json(const service::UserLists& u) {
  json::value v = json::parse(service::PersonalListsService::to_json(u.lists));
  v.as_object()["address"] = u.account.address;
  v.as_object()["id"] = u.account.id;
  return v;
}

}  // namespace

void register_personal_list_commands(CLI::App& app, Context& ctx, int* ec) {
  CLI::App* user = app.get_subcommand("user");
  struct Opts {
    std::string user, entry, ads, blocked;
  };
  auto o = std::make_shared<Opts>();
  auto service = [&ctx, ec]() -> std::unique_ptr<service::PersonalListsService> {
    auto* s = ctx.services();
    if (!s) {
      *ec = kSystemError;
      return nullptr;
    }
    return std::make_unique<service::PersonalListsService>(s->directory.get(), s->store.get(),
                                                           s->mail_root);
  };
  for (const char* list : {"blocklist", "allowlist"}) {
    const std::string name = list;
    auto* group = user->add_subcommand(
        name, name == "blocklist" ? "The user's personal block list (senders, domains)"
                                  : "The user's personal allow list (never Junk/Ads by spam)");
    group->require_subcommand(1);
    for (bool add : {true, false}) {
      auto* sub = group->add_subcommand(add ? "add" : "remove",
                                        add ? "Add a sender address or a domain" : "Remove one");
      sub->add_option("user", o->user, "Account (address, login or id)")->required();
      sub->add_option("entry", o->entry, "spam@bad.example, or bad.example for a whole domain")
          ->required();
      sub->callback([&ctx, ec, o, service, name, add] {
        auto svc = service();
        if (!svc) return;
        auto r = add ? svc->add(o->user, name, o->entry) : svc->remove(o->user, name, o->entry);
        if (!r) {
          *ec = ctx.fail(r.status());
          return;
        }
        ctx.print(
            o->entry + (add ? " added to " : " removed from ") + r->account.address + "'s " + name,
            json::serialize(lists_json(*r)));
        *ec = kOk;
      });
    }
    auto* show = group->add_subcommand("list", "Show the user's lists and choices");
    show->add_option("user", o->user, "Account (address, login or id)")->required();
    show->callback([&ctx, ec, o, service] {
      auto svc = service();
      if (!svc) return;
      auto r = svc->get(o->user);
      if (!r) {
        *ec = ctx.fail(r.status());
        return;
      }
      ctx.print(lists_human(*r), json::serialize(lists_json(*r)));
      *ec = kOk;
    });
  }
  auto* opts = user->add_subcommand(
      "spam-options", "Where the user's blocked mail and ads go (shown when no option is given)");
  opts->add_option("user", o->user, "Account (address, login or id)")->required();
  opts->add_option("--ads", o->ads, "inbox: keep ads in INBOX; folder: file them to \"Ads\"");
  opts->add_option("--blocked", o->blocked, "discard or junk: what happens to blocked mail");
  opts->callback([&ctx, ec, o, service] {
    auto svc = service();
    if (!svc) return;
    auto r = o->ads.empty() && o->blocked.empty()
                 ? svc->get(o->user)
                 : svc->set_options(o->user, o->ads.empty() ? std::nullopt : std::optional(o->ads),
                                    o->blocked.empty() ? std::nullopt : std::optional(o->blocked));
    if (!r) {
      *ec = ctx.fail(r.status());
      return;
    }
    ctx.print(lists_human(*r), json::serialize(lists_json(*r)));
    *ec = kOk;
  });
}

}  // namespace mailroom::ctl
