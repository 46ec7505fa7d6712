// mailroomctl plumbing shared by the command groups each module registers
// (auth/ctl_commands.cpp, src/store/ctl_commands.cpp, src/queue/ctl_commands.cpp).
//
// Exit codes: 0 success, 1 user error (bad arguments, unknown object), 2 system error
// (disk, database, directory unreachable). Messages name the object ("user alice@example.com
// not found"). --json prints one JSON document on stdout for scripts.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "src/core/services.h"
#include "src/core/status.h"

namespace CLI {
class App;
}

namespace mailroom::ctl {

enum ExitCode { kOk = 0, kUserError = 1, kSystemError = 2 };

class Context {
 public:
  std::string config_path;  // --config (default: $MAILROOM_CONFIG or /etc/mailroom/mailroom.toml)
  bool json = false;        // --json

  // Loads the config (once) and opens the spine objects on first use. On failure prints
  // the error and returns nullptr (the command should return kSystemError or kUserError).
  core::Services* services();
  // Same data dir / sections mailroomd uses.
  const std::string& data_dir();

  // Output helpers: in --json mode `json_text` is printed, otherwise `human`.
  void print(const std::string& human, const std::string& json_text) const;
  // Prints an error (stderr, or {"error":...} on stdout in --json mode) and returns the exit
  // code for it: kUserError for invalid_argument/not_found/already_exists, else kSystemError.
  int fail(const core::Status& status) const;

  // Set by main: opens services from the config.
  std::function<core::Services*(Context&)> open_services;
  std::unique_ptr<core::Services> services_;
  std::string data_dir_;
};

// The command group registrations (explicit list, called by src/ctl/main.cpp). Each adds
// subcommands to `app` whose callbacks store their exit code in *exit_code.
void register_directory_commands(CLI::App& app, Context& ctx, int* exit_code);  // auth/
void register_store_commands(CLI::App& app, Context& ctx, int* exit_code);      // src/store/
void register_queue_commands(CLI::App& app, Context& ctx, int* exit_code);      // src/queue/

}  // namespace mailroom::ctl
