// mailroomctl index status|rebuild: the full-text index (src/fts/indexer.h; src/ctl/ctl.h
// conventions). The index is a cache of the store: rebuilding it loses nothing.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <functional>
#include <memory>

#include "src/ctl/ctl_support.h"
#include "src/fts/indexer.h"
#include "src/service/mailboxes.h"
#include "src/store/maintenance.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

struct Target {
  core::Services* services = nullptr;
  std::vector<std::pair<std::string, std::string>> accounts;  // {name shown, account id}
};

// The indexer and the accounts named (USER, or --all: every account with mail on disk);
// nullopt after printing why.
std::optional<Target> target(Context& ctx, int* exit_code, const std::string& user, bool all) {
  core::Services* sv = ctx.services();
  if (!sv) {
    *exit_code = ctx.fail(core::Status::error(core::Code::unavailable, "cannot open the services"));
    return std::nullopt;
  }
  if (!sv->fts) {
    *exit_code = ctx.fail(core::Status::error(core::Code::unavailable,
                                              "full-text search is off ([fts] enabled = false)"));
    return std::nullopt;
  }
  Target t{sv, {}};
  if (all) {
    const store::StoreOptions* opts = store::file_store_options(*sv->store);
    if (!opts) {
      *exit_code = ctx.fail(core::invalid_argument("the store keeps no files"));
      return std::nullopt;
    }
    for (auto& id : store::list_store_accounts(*opts)) t.accounts.emplace_back(id, id);
    return t;
  }
  service::Mailboxes m(sv->directory.get(), sv->store.get());
  auto a = m.owner(user);
  if (!a) {
    *exit_code = ctx.fail(a.status());
    return std::nullopt;
  }
  t.accounts.emplace_back(user, a->id);
  return t;
}

// A subcommand of `index` taking USER or --all; `each` runs per account and adds to the
// human text and the JSON list, or returns the error that ends the command.
using PerAccount =
    std::function<core::Status(core::Services&, const std::string& name, const std::string& id,
                               std::string& human, json::array& users)>;

void add_per_account(CLI::App& index, Context& ctx, int* exit_code, const std::string& name,
                     const std::string& help, PerAccount each) {
  auto user = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto* cmd = index.add_subcommand(name, help);
  cmd->add_option("USER", *user, "address, login or account id");
  cmd->add_flag("--all", *all, "every account with mail");
  cmd->callback([&ctx, exit_code, user, all, each] {
    if (*all == !user->empty())
      return void(*exit_code = ctx.fail(core::invalid_argument("give USER or --all")));
    auto t = target(ctx, exit_code, *user, *all);
    if (!t) return;
    std::string human;
    json::array users;
    for (const auto& [shown, id] : t->accounts) {
      if (auto s = each(*t->services, shown, id, human, users); !s.is_ok())
        return void(*exit_code = ctx.fail(s));
    }
    ctx.print(human, json::serialize(json::object{{"users", users}}));
    *exit_code = kOk;
  });
}

core::Status status_of(core::Services& sv, const std::string& name, const std::string& id,
                       std::string& human, json::array& users) {
  auto st = sv.fts->status(id);
  if (!st) return st.status();
  uint64_t pending = 0;
  json::array boxes;
  std::string lines;
  for (const auto& b : st->mailboxes) {
    pending += b.pending;
    lines += "  " + b.name + "  messages=" + std::to_string(b.messages) +
             " pending=" + std::to_string(b.pending) + "\n";
    boxes.push_back(json::object{{"name", b.name},
                                 {"uid_validity", b.uid_validity},
                                 {"messages", b.messages},
                                 {"pending", b.pending}});
  }
  human += name + "  index=" + (st->exists ? "yes" : "none") +
           " documents=" + std::to_string(st->documents) +
           " index_bytes=" + std::to_string(st->bytes) +
           " mail_bytes=" + std::to_string(st->mail_bytes) + " pending=" + std::to_string(pending) +
           "\n" + lines;
  users.push_back(json::object{{"user", name},
                               {"account_id", id},
                               {"exists", st->exists},
                               {"documents", st->documents},
                               {"index_bytes", st->bytes},
                               {"mail_bytes", st->mail_bytes},
                               {"pending", pending},
                               {"mailboxes", boxes}});
  return core::Status::ok();
}

core::Status rebuild(core::Services& sv, const std::string& name, const std::string& id,
                     std::string& human, json::array& users) {
  if (auto s = sv.fts->rebuild(id); !s.is_ok()) return s;
  auto st = sv.fts->status(id);
  if (!st) return st.status();
  human += name + "  rebuilt documents=" + std::to_string(st->documents) +
           " index_bytes=" + std::to_string(st->bytes) + "\n";
  users.push_back(json::object{{"user", name},
                               {"account_id", id},
                               {"documents", st->documents},
                               {"index_bytes", st->bytes}});
  return core::Status::ok();
}

}  // namespace

void register_index_commands(CLI::App& app, Context& ctx, int* exit_code) {
  auto* index = app.add_subcommand("index", "The full-text search index (a cache of the mail)");
  index->require_subcommand(1);
  add_per_account(*index, ctx, exit_code, "status",
                  "Messages indexed and pending per mailbox, index size (USER or --all)",
                  status_of);
  add_per_account(*index, ctx, exit_code, "rebuild",
                  "Throw a user's full-text index away and index every message again", rebuild);
}

}  // namespace mailroom::ctl
