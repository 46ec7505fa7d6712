// mailroomctl plumbing shared by its command groups (src/ctl/ctl_<group>.cpp). Each command
// parses its options, calls one operation of the service layer (src/service) and prints the
// result as text or, with --json, as one JSON document. Its own checks are only those that
// name command-line options ("give USER or --all").
//
// Exit codes: 0 success, 1 user error (bad arguments, unknown object), 2 system error
// (disk, database, directory unreachable). Messages name the object ("user alice@example.com
// not found"). --json prints one JSON document on stdout for scripts.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "src/core/services.h"
#include "src/core/status.h"

namespace CLI {
class App;
}
namespace mailroom::sso {
struct Options;
}
namespace mailroom::service {
struct RecallOptions;
}
namespace mailroom::auth {
struct OffboardingOptions;
}

namespace mailroom::ctl {
namespace detail {
struct CliChanges;  // ctl_support.h
}

enum ExitCode { kOk = 0, kUserError = 1, kSystemError = 2 };

class Context {
 public:
  std::string config_path;  // --config (default: $MAILROOM_CONFIG or /etc/mailroom/mailroom.toml)
  bool json = false;        // --json
  // --dry-run of a write command: the service validates and computes the change, writes
  // nothing, and the command prints what would change (ctl_support.h, done()).
  bool dry_run = false;

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

  // The [sso] section as the server reads it (set with the services; null before).
  const sso::Options* sso_options = nullptr;
  // The [recall] section (set with the services; null before).
  const service::RecallOptions* recall_options = nullptr;
  // [offboarding] and [directory] retention / retention_action (set with the services).
  const auth::OffboardingOptions* offboarding_options = nullptr;
  int64_t retention_s = 0;
  std::string retention_action = "keep";

  // Set by main: opens services from the config.
  std::function<core::Services*(Context&)> open_services;
  std::unique_ptr<core::Services> services_;
  std::string data_dir_;
  // The change journal of this invocation (opened on first write; ctl_support.h).
  std::shared_ptr<detail::CliChanges> changes_;
};

// The command groups, one file each, in the order `mailroomctl --help` lists them. Each adds
// subcommands to `app` whose callbacks store their exit code in *exit_code.
//   ctl_domains.cpp    domain
//   ctl_users.cpp      user, password, conflicts
//   ctl_app_passwords.cpp  app-password
//   ctl_groups.cpp     alias, group
//   ctl_policies.cpp   policy (bundles by directory group)
//   ctl_sync.cpp       directory sync, directory retention
//   ctl_mailboxes.cpp  mailbox, fsck, export, import, quota
//   ctl_blocklist.cpp  blocklist
//   ctl_queue.cpp      queue, delivery-log
//   ctl_quarantine.cpp quarantine
//   ctl_recall.cpp     recall (find, undo, show, list, audit, purge)
//   ctl_dkim.cpp       dkim
//   ctl_sso.cpp        sso
//   ctl_admin.cpp      api-token, admin (delegated administration of the HTTP API)
//   ctl_journal.cpp    journal (list, show, revert change sets)
//   ctl_offboarding.cpp  offboarding (plan, status)
//   ctl_index.cpp      index (status, rebuild: the full-text index)
void register_domain_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_user_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_app_password_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_group_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_policy_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_sync_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_mailbox_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_shared_commands(CLI::App& app, Context& ctx, int* exit_code);  // ctl_shared.cpp
void register_blocklist_commands(CLI::App& app, Context& ctx, int* exit_code);
// ctl_personal_lists.cpp: user blocklist|allowlist|spam-options (after the user group).
void register_personal_list_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_queue_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_quarantine_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_recall_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_dkim_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_sso_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_admin_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_journal_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_offboarding_commands(CLI::App& app, Context& ctx, int* exit_code);
void register_index_commands(CLI::App& app, Context& ctx, int* exit_code);

// The four directory groups above (domain to directory), in that order, and journal.
void register_directory_commands(CLI::App& app, Context& ctx, int* exit_code);
// Every group, in the order of --help.
void register_all_commands(CLI::App& app, Context& ctx, int* exit_code);
// The command a mailroomctl command line names: its first word that is not an option (the
// value of -c/--config skipped), or empty.
std::string_view command_of(int argc, char** argv);
// Only the group(s) that add `command` (src/ctl/main.cpp). Building CLI11's tree of every
// command costs more than most commands' own work (a quarter of a `user show` under ASan), and
// scripts and tests call mailroomctl thousands of times. An unknown or empty command gets every
// group, so --help and CLI11's errors list them all. Returns whether the command was known.
bool register_commands_for(CLI::App& app, Context& ctx, int* exit_code, std::string_view command);

}  // namespace mailroom::ctl
