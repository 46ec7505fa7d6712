// mailroomctl: administration of the directory, mailboxes, queue and block lists, for humans
// and scripts (--json). Safe to run while mailroomd runs: both use the same SQLite files in
// WAL mode and mailroomctl never starts delivery. Exit codes: 0 ok, 1 user error, 2 system error.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "auth/sync/retention.h"
#include "src/core/log.h"
#include "src/ctl/ctl.h"
#include "src/server/module_options.h"
#include "src/server/wiring.h"

using namespace mailroom;

namespace {

core::Services* open_from_config(ctl::Context& ctx, std::unique_ptr<server::LoadedConfig>& holder) {
  core::ConfigErrors errors;
  holder = server::load_config(ctx.config_path, &errors);
  if (!holder) {
    for (const auto& e : errors.messages()) std::cerr << "config error: " << e << "\n";
    return nullptr;
  }
  // Quiet logs: mailroomctl's output is for the person or script that called it.
  core::init_logging("warn", "");
  auto services = server::open_services(*holder, /*with_queue=*/false);
  if (!services) {
    ctx.fail(services.status());
    return nullptr;
  }
  ctx.data_dir_ = holder->server.data_dir;
  ctx.sso_options = &holder->modules->sso;
  ctx.recall_options = &holder->modules->recall;
  ctx.offboarding_options = &holder->modules->offboarding;
  auto retention = auth::sync::parse_retention_options(holder->modules->directory_section);
  ctx.retention_s = retention.retention_s;
  ctx.retention_action = retention.action;
  ctx.services_ = std::move(*services);
  return ctx.services_.get();
}

}  // namespace

int main(int argc, char** argv) {
  ::umask(077);  // databases it creates hold password hashes (src/core/private_files.h)
  std::signal(SIGPIPE, SIG_IGN);  // a directory server closing its end is an error, not death
  CLI::App app{"mailroomctl - administer a Mailroom server"};
  app.require_subcommand(1);
  ctl::Context ctx;
  const char* env = std::getenv("MAILROOM_CONFIG");
  ctx.config_path = env ? env : "/etc/mailroom/mailroom.toml";
  app.add_option("-c,--config", ctx.config_path, "configuration file (or $MAILROOM_CONFIG)");
  app.add_flag("--json", ctx.json, "machine-readable JSON output");

  std::unique_ptr<server::LoadedConfig> config;
  ctx.open_services = [&config](ctl::Context& c) { return open_from_config(c, config); };

  int exit_code = ctl::kOk;
  ctl::register_commands_for(app, ctx, &exit_code, ctl::command_of(argc, argv));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : ctl::kUserError;
  }
  return exit_code;
}
