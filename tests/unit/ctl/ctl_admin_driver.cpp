// A mailroomctl with the directory commands and api-token/admin, for unit.ctl.admin: the
// directory opened from the config as mailroomd opens it, a resolver over it, admin.db in the
// data directory. The real mailroomctl (src/ctl/main.cpp) registers the same commands.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "auth/auth_options.h"
#include "auth/directory_registry.h"
#include "auth/resolver.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/ctl/ctl.h"

using namespace mailroom;

int main(int argc, char** argv) {
  CLI::App app{"ctl_admin_driver"};
  app.require_subcommand(1);
  ctl::Context ctx;
  app.add_option("-c,--config", ctx.config_path, "configuration file")->required();
  app.add_flag("--json", ctx.json, "JSON output");
  ctx.open_services = [](ctl::Context& c) -> core::Services* {
    core::init_logging("warn", "");  // stderr, as mailroomctl: stdout is the command's output
    core::ConfigErrors errors;
    auto doc = core::ConfigDocument::load_file(c.config_path, &errors);
    auto root = doc ? doc->root() : core::ConfigSection(c.config_path, "", &errors);
    std::string data = root.child("server").get_string("data_dir", "");
    auto dir_section = root.child("directory");
    auto dir = auth::open_directory(dir_section, data);
    for (const auto& e : errors.messages()) std::cerr << "config error: " << e << "\n";
    if (!dir) {
      c.fail(dir.status());
      return nullptr;
    }
    c.services_ = std::make_unique<core::Services>();
    c.services_->data_dir = data;
    c.services_->directory = *dir;
    c.services_->resolver = std::make_shared<auth::Resolver>(*dir, auth::ResolverOptions{});
    c.data_dir_ = data;
    return c.services_.get();
  };
  int exit_code = ctl::kOk;
  ctl::register_directory_commands(app, ctx, &exit_code);
  ctl::register_admin_commands(app, ctx, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : ctl::kUserError;
  }
  return exit_code;
}
