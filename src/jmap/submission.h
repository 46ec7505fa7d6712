// EmailSubmission (RFC 8621 7), internal to src/jmap. A submission sends a stored Email (the
// emailId, normally a draft) through the same checks and the same durable queue as SMTP
// submission (src/smtp/submission_rules.h; the outbound SMTP client signs with DKIM when
// [dkim] says so), then is kept as a record (records.h's submissions.json, at most
// kMaxSubmissions: the oldest go first, RFC 8621 7 lets the server forget final
// submissions). Sending is immediate: undoStatus is "final" at once (maxDelayedSend 0).
#pragma once

#include <cstddef>

namespace mailroom::jmap {

inline constexpr size_t kMaxSubmissions = 200;
inline constexpr size_t kMaxSubmissionTombstones = 400;
inline constexpr const char* kSubmissionRecord = "submissions";

}  // namespace mailroom::jmap
