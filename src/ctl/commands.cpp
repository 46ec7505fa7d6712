// The explicit list of mailroomctl's command groups (ctl.h), in the order of --help.
#include <CLI/CLI.hpp>
#include <array>
#include <string_view>

#include "src/ctl/ctl.h"

namespace mailroom::ctl {

namespace {

using Register = void (*)(CLI::App&, Context&, int*);

// One group: the top-level commands it adds and the function that adds them. personal lists
// add to "user", so they come after the user group and are named by "user" too.
struct Group {
  std::array<std::string_view, 5> commands;
  Register add;
};

const std::array<Group, 19> kGroups{{
    {{"domain"}, register_domain_commands},
    {{"user", "password", "conflicts"}, register_user_commands},
    {{"alias", "group"}, register_group_commands},
    {{"policy"}, register_policy_commands},
    {{"directory"}, register_sync_commands},
    {{"offboarding"}, register_offboarding_commands},
    {{"journal"}, register_journal_commands},
    {{"app-password"}, register_app_password_commands},
    {{"mailbox", "fsck", "export", "import", "quota"}, register_mailbox_commands},
    {{"shared"}, register_shared_commands},
    {{"index"}, register_index_commands},
    {{"blocklist"}, register_blocklist_commands},
    {{"user"}, register_personal_list_commands},
    {{"queue", "delivery-log"}, register_queue_commands},
    {{"quarantine"}, register_quarantine_commands},
    {{"recall"}, register_recall_commands},
    {{"dkim"}, register_dkim_commands},
    {{"sso"}, register_sso_commands},
    {{"api-token", "admin"}, register_admin_commands},
}};

bool names(const Group& group, std::string_view command) {
  for (auto name : group.commands) {
    if (!name.empty() && name == command) return true;
  }
  return false;
}

}  // namespace

void register_directory_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_domain_commands(app, ctx, exit_code);
  register_user_commands(app, ctx, exit_code);
  register_group_commands(app, ctx, exit_code);
  register_policy_commands(app, ctx, exit_code);
  register_sync_commands(app, ctx, exit_code);
  register_offboarding_commands(app, ctx, exit_code);
  register_journal_commands(app, ctx, exit_code);
}

void register_all_commands(CLI::App& app, Context& ctx, int* exit_code) {
  for (const auto& group : kGroups) {
    group.add(app, ctx, exit_code);
  }
}

std::string_view command_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c" || arg == "--config") {
      ++i;  // its value
    } else if (arg.empty() || arg[0] != '-') {
      return arg;
    }
  }
  return {};
}

bool register_commands_for(CLI::App& app, Context& ctx, int* exit_code, std::string_view command) {
  bool known = false;
  for (const auto& group : kGroups) {
    if (names(group, command)) {
      group.add(app, ctx, exit_code);
      known = true;
    }
  }
  if (!known) register_all_commands(app, ctx, exit_code);
  return known;
}

}  // namespace mailroom::ctl
