// The explicit list of mailroomctl's command groups (ctl.h), in the order of --help.
#include "src/ctl/ctl.h"

namespace mailroom::ctl {

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
  register_directory_commands(app, ctx, exit_code);
  register_app_password_commands(app, ctx, exit_code);
  register_mailbox_commands(app, ctx, exit_code);
  register_blocklist_commands(app, ctx, exit_code);
  register_personal_list_commands(app, ctx, exit_code);
  register_queue_commands(app, ctx, exit_code);
  register_quarantine_commands(app, ctx, exit_code);
  register_recall_commands(app, ctx, exit_code);
  register_index_commands(app, ctx, exit_code);
  register_dkim_commands(app, ctx, exit_code);
  register_sso_commands(app, ctx, exit_code);
  register_admin_commands(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
