// mailroomctl blocklist add|remove|list (service::Blocklists): the administrator's block
// lists of IPs, senders and domains; mailroomd re-reads the file when it changes
// (src/filter/blocklist.h).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/ctl/ctl_support.h"
#include "src/service/blocklists.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

json::object entry_json(const filter::BlockEntry& e) {
  json::object o;
  o["kind"] = e.kind;
  o["value"] = e.value;
  return o;
}

}  // namespace

void register_blocklist_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* bl = app.add_subcommand("blocklist", "Administrator block lists (IPs, senders, domains)")
                 ->require_subcommand(1);
  struct Opts {
    std::string kind, value;
  };
  auto o = std::make_shared<Opts>();
  auto change = [&ctx, ec, o](bool add) {
    if (!ctx.services()) {
      *ec = kSystemError;
      return;
    }
    service::Blocklists lists(ctx.data_dir(), detail::change_context(ctx));
    auto entry = add ? lists.add(o->kind, o->value) : lists.remove(o->kind, o->value);
    if (!entry) {
      *ec = ctx.fail(entry.status());
      return;
    }
    json::object out = entry_json(*entry);
    out["action"] = add ? "added" : "removed";
    *ec = detail::done(ctx, core::Status::ok(),
                       entry->kind + " " + entry->value + (add ? " blocked" : " unblocked"), out);
  };
  for (bool add : {true, false}) {
    auto* sub =
        bl->add_subcommand(add ? "add" : "remove", add ? "Block an IP/CIDR, sender or domain"
                                                       : "Remove a block list entry");
    sub->add_option("kind", o->kind, "ip | sender | domain")->required();
    sub->add_option("value", o->value, "Address, CIDR block, sender address or domain")->required();
    sub->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
    sub->callback([change, add] { change(add); });
  }
  auto* list = bl->add_subcommand("list", "Show the block lists");
  list->callback([&ctx, ec] {
    if (!ctx.services()) {
      *ec = kSystemError;
      return;
    }
    auto entries = service::Blocklists(ctx.data_dir()).list();
    if (!entries) {
      *ec = ctx.fail(entries.status());
      return;
    }
    json::array arr;
    std::string human;
    for (const auto& e : *entries) {
      arr.push_back(entry_json(e));
      human += e.kind + " " + e.value + "\n";
    }
    if (human.empty()) human = "(block list is empty)";
    ctx.print(human, json::serialize(arr));
    *ec = kOk;
  });
}

}  // namespace mailroom::ctl
