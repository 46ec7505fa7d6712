// Offboarding (auth/offboarding.h) seen by an administrator: `mailroomctl offboarding plan
// <user>` (what the workflow does, or would do if the directory disabled the user now — a
// dry run: nothing is changed) and `mailroomctl offboarding status` (every account in the
// workflow and where each step stands). Read-only: the workflow has no state of its own
// beyond the replica (the account's status and "inactive_since:<id>"), so nothing here writes.
//
// Errors: not_found for an unknown user; the replica's errors (unavailable, io_error).
// Threading: one thread; blocks on directory.db.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/offboarding.h"
#include "src/core/status.h"

namespace mailroom::auth {
class LocalDirectory;
}

namespace mailroom::service {

struct OffboardingStep {
  std::string step;    // sessions | auto_reply | forward | mailbox | retention
  std::string state;   // planned | active | done | ended | off | failed
  std::string detail;  // client-safe prose
};

struct OffboardingView {
  std::string account_id;
  std::string address;
  std::string status;       // the account's status in the replica
  bool offboarded = false;  // in the workflow now; false: the plan is what would happen
  int64_t since = 0;        // when the sync first saw it disabled (0: not offboarded)
  std::vector<OffboardingStep> steps;
};

struct RetentionSetting {
  int64_t retention_s = 0;      // [directory] retention (0 = forever)
  std::string action = "keep";  // [directory] retention_action
};

class OffboardingReport {
 public:
  // `replica`: directory.db (the embedded directory or the LDAP / SQL replica); must outlive
  // the report.
  OffboardingReport(auth::OffboardingOptions options, RetentionSetting retention,
                    auth::LocalDirectory& replica);
  // `user`: address, login or id.
  core::Result<OffboardingView> plan(const std::string& user, int64_t now);
  // Every disabled account the workflow applies to, by address.
  core::Result<std::vector<OffboardingView>> status(int64_t now);

 private:
  core::Result<OffboardingView> view(const auth::Account& account, int64_t now);
  auth::OffboardingOptions options_;
  RetentionSetting retention_;
  auth::LocalDirectory& replica_;
  std::shared_ptr<auth::Offboarding> offboarding_;
};

}  // namespace mailroom::service
