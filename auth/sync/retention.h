// Retention of the mailboxes of users the directory removed or disabled (issue 4/5).
//
// [directory]
//   retention = "90d"            how long such a mailbox is kept after the sync first saw the
//                                account inactive ["0" = forever]
//   retention_action = "keep"    then: "archive" (an mboxrd file of every folder in
//                                <data_dir>/archive/, mode 0600, then the mailbox is removed),
//                                "delete" (the mailbox is removed), or "keep" (nothing) ["keep"]
//
// The clock starts when a sync pass first sees the account inactive
// (account_policy.h "inactive_since:<id>"), so nothing is ever archived or deleted by the
// first sync of an existing directory, and an account that comes back stops its clock.
// `mailroomctl directory retention [--dry-run]` applies it (cron it daily); every action is
// logged (event=retention_applied) and recorded ("retention_done:<id>") so it runs once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/clock.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth::sync {

struct RetentionOptions {
  int64_t retention_s = 0;
  std::string action = "keep";  // keep | archive | delete
};

// Reads retention / retention_action of [directory] (no finish(): the caller owns the section).
RetentionOptions parse_retention_options(core::ConfigSection& directory_section);

struct RetentionItem {
  std::string account_id;
  std::string address;  // "" when the row was deleted from the replica
  int64_t inactive_since = 0;
  int64_t due_at = 0;
};

// Accounts whose retention is over by `clock`'s now and that were not handled yet; empty when
// the action is "keep". Each account's retention is its policy bundle's when one sets it
// (auth/policy/policy.h; 0 = forever), else `options.retention_s` (0 = forever). (The sync dates
// inactivity by the same clock.)
Result<std::vector<RetentionItem>> due_for_retention(LocalDirectory& replica,
                                                     const RetentionOptions& options,
                                                     const core::Clock& clock);
// Records that the action ran for `account_id` now (it is not listed again).
Status mark_retention_done(LocalDirectory& replica, const std::string& account_id,
                           const std::string& what, const core::Clock& clock);

}  // namespace mailroom::auth::sync
