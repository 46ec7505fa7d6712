// Internal to src/smtp: the submission rules the policy stage (policy_stage.cpp) and the
// session use, which live in src/queue/submission_rules.h so JMAP applies the same ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/queue/submission_rules.h"

namespace mailroom::smtp {

// The rules live below the front ends, shared with JMAP EmailSubmission (issue 19).
using queue::check_recipient;
using queue::may_send_as_all;
using queue::RcptPolicy;
using queue::recipient_policy;
using queue::RecipientAnswer;
using queue::send_as_exempt;
using queue::sender_limits;

}  // namespace mailroom::smtp
