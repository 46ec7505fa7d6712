// Internal to src/smtp: the per-recipient part of the policy stage (policy_stage.cpp), apart
// from the session so it can be tested without one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/destination.h"

namespace mailroom::auth {
class PolicySource;
}

namespace mailroom::smtp {

enum class RcptPolicy {
  ok,               // `dests` holds what may be delivered (refusing members dropped)
  outside_refused,  // 550 5.7.1: no local recipient receives mail from outside
  too_large,        // 552 5.3.4: the declared size exceeds every recipient's limit
  unavailable,      // 451 4.4.3: the policy could not be read, or a recipient refuses
                    // outside mail and whether the sender is outside is unknown
};

// Blocks (directory.db): call on a worker. `policies` may be null (no bundles: ok).
// `sender_outside`: nullopt when the directory could not tell (MAIL saw it unavailable).
// `dropped` (optional) gets the addresses of the local destinations dropped, comma-separated.
RcptPolicy recipient_policy(auth::PolicySource* policies, std::vector<auth::Destination>& dests,
                            uint64_t declared_size, std::optional<bool> sender_outside,
                            std::string* dropped);

}  // namespace mailroom::smtp
