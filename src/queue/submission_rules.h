// The rules SMTP submission applies to what an authenticated user sends, as blocking functions
// (call them on a worker): the SMTP session (src/smtp: cmd_envelope.cpp, message.cpp,
// policy_stage.cpp) and JMAP EmailSubmission (src/jmap/submission_set.cpp) both ask these, so
// the two front ends cannot drift apart. Here, below both, next to the queue they feed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/destination.h"
#include "auth/resolver.h"
#include "src/core/status.h"

namespace mailroom::store {
class MailStore;
}
namespace mailroom::auth {
class PolicySource;
}

namespace mailroom::queue {

// Policy bundles (auth/policy) per recipient, the SMTP session's RCPT stage
// (src/smtp/policy_stage.cpp explains the rules).
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

// [smtp] send_as_exempt_domains: an account whose address is in one of these domains may send
// as any address (service accounts).
bool send_as_exempt(const std::vector<std::string>& exempt_domains, const std::string& address);

// May account `account_id` use every one of `addresses` as envelope sender, From: or Sender:
// (auth::Resolver::may_send_as)? false as soon as one is refused; unavailable (or the
// directory's other error) when the directory cannot tell.
core::Result<bool> may_send_as_all(auth::Resolver& resolver, const std::string& account_id,
                                   const std::vector<std::string>& addresses);

// The sender's policy bundle (auth/policy): may it send outside the company, and its largest
// message (0 = no limit of its own). unavailable when the bundles cannot be read; no
// `policies`: no limits.
struct SenderLimits {
  bool may_send_outside = true;
  uint64_t max_message_bytes = 0;
};
core::Result<SenderLimits> sender_limits(auth::PolicySource* policies,
                                         const std::string& account_id);

// One RCPT TO: the resolver's answer, the recipients' policy bundles (recipient_policy) and
// their quota against `declared_size` (refused early what the store would refuse, RFC 1870 /
// RFC 3463 X.2.2). `store` may be null (no quota check).
struct RecipientAnswer {
  auth::Resolution res;
  int quota = 0;  // 0 ok, 1 over quota (452 4.2.2), 2 larger than the quota (552 5.2.2)
  RcptPolicy policy = RcptPolicy::ok;
  std::string dropped;  // local destinations the policy dropped, comma-separated
};
RecipientAnswer check_recipient(auth::Resolver& resolver, store::MailStore* store,
                                auth::PolicySource* policies, const std::string& address,
                                const std::string& sender, const std::string& account_id,
                                bool sender_verified, uint64_t declared_size,
                                std::optional<bool> sender_outside);

}  // namespace mailroom::queue
