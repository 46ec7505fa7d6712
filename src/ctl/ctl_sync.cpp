// mailroomctl directory sync --now | --dry-run | status, and directory retention [--dry-run]
// (service::DirectorySync). These read the configuration file themselves and need none of
// the other services, so they work while mailroomd runs.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/core/log.h"
#include "src/ctl/ctl.h"
#include "src/service/directory_sync.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

core::Result<std::unique_ptr<service::DirectorySync>> open_sync(Context& ctx) {
  // The service logs to stdout: in --json mode only the document may appear there.
  if (ctx.json) spdlog::set_level(spdlog::level::err);
  return service::DirectorySync::open(ctx.config_path);
}

CLI::App* directory_command(CLI::App& app) {
  try {
    return app.get_subcommand("directory");
  } catch (const CLI::OptionNotFound&) {
    return app.add_subcommand("directory", "directory synchronization and retention");
  }
}

int print_status(Context& ctx) {
  auto sync = open_sync(ctx);
  if (!sync) return ctx.fail(sync.status());
  auto status = (*sync)->status();
  if (!status) return ctx.fail(status.status());
  std::string human = "backend: " + status->backend + "\n";
  json::object j{{"backend", status->backend}};
  for (const auto& [k, v] : status->fields) {
    human += k + ": " + v + "\n";
    j[k] = v;
  }
  ctx.print(human, json::serialize(j));
  return kOk;
}

int run_sync(Context& ctx, bool dry_run) {
  auto sync = open_sync(ctx);
  if (!sync) return ctx.fail(sync.status());
  auto r = (*sync)->run(dry_run);
  if (!r) return ctx.fail(r.status());
  std::string human = dry_run ? "dry run:" : "synchronized:";
  json::object j{{"backend", r->backend}, {"dry_run", dry_run}};
  for (const auto& [k, v] : r->counts) {
    human += " " + k + "=" + std::to_string(v);
    j[k] = v;
  }
  human += "\n";
  json::array jc;
  for (const auto& c : r->changes) {
    human += "  " + c.action + " " + c.address + (c.id.empty() ? "" : " (" + c.id + ")") + "\n";
    jc.push_back(json::object{{"action", c.action}, {"id", c.id}, {"address", c.address}});
  }
  j["changes"] = jc;
  ctx.print(human, json::serialize(j));
  return kOk;
}

void register_sync(CLI::App& directory, Context& ctx, int* exit_code) {
  auto* sync = directory.add_subcommand("sync", "synchronize the replica from LDAP or SQL");
  struct Flags {
    bool now = false;
    bool dry_run = false;
  };
  auto flags = std::make_shared<Flags>();
  sync->add_flag("--now", flags->now, "run one full synchronization now");
  sync->add_flag("--dry-run", flags->dry_run, "show what a synchronization would change");
  auto* status = sync->add_subcommand("status", "last sync, lag, errors");
  status->callback([&ctx, exit_code] { *exit_code = print_status(ctx); });
  sync->callback([&ctx, exit_code, flags, status] {
    if (status->parsed()) return;
    if (!flags->dry_run && !flags->now) {
      *exit_code = ctx.fail(core::invalid_argument("use --now, --dry-run or status"));
      return;
    }
    *exit_code = run_sync(ctx, flags->dry_run);
  });
}

int apply_retention(Context& ctx, bool dry_run) {
  auto sync = open_sync(ctx);
  if (!sync) return ctx.fail(sync.status());
  auto r = (*sync)->retention(dry_run);
  if (!r) return ctx.fail(r.status());
  std::string human = std::string(dry_run ? "dry run: " : "") + "action=" + r->action +
                      " retention_seconds=" + std::to_string(r->retention_s) +
                      " due=" + std::to_string(r->accounts.size()) + "\n";
  json::array items;
  for (const auto& a : r->accounts) {
    human += "  " + a.account_id + " " + a.address + " inactive since " +
             std::to_string(a.inactive_since) + ": " + a.result + "\n";
    items.push_back(json::object{{"id", a.account_id},
                                 {"address", a.address},
                                 {"inactive_since", a.inactive_since},
                                 {"due_at", a.due_at},
                                 {"result", a.result}});
  }
  ctx.print(human, json::serialize(json::object{{"dry_run", dry_run},
                                                {"action", r->action},
                                                {"retention_seconds", r->retention_s},
                                                {"accounts", items}}));
  return r->failures ? kSystemError : kOk;
}

void register_retention(CLI::App& directory, Context& ctx, int* exit_code) {
  auto* cmd = directory.add_subcommand(
      "retention",
      "archive or delete the mailboxes of removed/disabled users whose retention is over");
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_flag("--dry-run", *dry_run, "list what would be archived or deleted");
  cmd->callback([&ctx, exit_code, dry_run] { *exit_code = apply_retention(ctx, *dry_run); });
}

}  // namespace

void register_sync_commands(CLI::App& app, Context& ctx, int* exit_code) {
  CLI::App* directory = directory_command(app);
  register_sync(*directory, ctx, exit_code);
  register_retention(*directory, ctx, exit_code);
}

}  // namespace mailroom::ctl
