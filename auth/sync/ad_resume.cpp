#include "auth/sync/ad_resume.h"

#include <charconv>

#include "src/core/address.h"

namespace mailroom::auth::sync {

Resume decide_resume(const std::string& stored_usn, const std::string& stored_invocation,
                     const DcIdentity& now) {
  uint64_t usn = 0;
  auto [end, ec] = std::from_chars(stored_usn.data(), stored_usn.data() + stored_usn.size(), usn);
  if (stored_usn.empty() || ec != std::errc() || end != stored_usn.data() + stored_usn.size())
    return Resume::no_mark;
  // Not an AD DC (no invocationId): the mark is the highest uSNChanged seen, as before. A mark
  // bound to a DC and a server that cannot say which it is: not the same DC.
  if (!now.is_ad()) return stored_invocation.empty() ? Resume::changes : Resume::other_dc;
  // A mark without invocationId (an older Mailroom, or slapd before): which DC it came from is
  // unknown, so once more everything.
  if (!core::iequals(stored_invocation, now.invocation_id)) return Resume::other_dc;
  if (now.highest_usn < usn) return Resume::usn_rollback;
  return Resume::changes;
}

const char* resume_name(Resume r) {
  switch (r) {
    case Resume::changes:
      return "changes";
    case Resume::no_mark:
      return "no_mark";
    case Resume::other_dc:
      return "other_dc";
    case Resume::usn_rollback:
      return "usn_rollback";
  }
  return "?";
}

}  // namespace mailroom::auth::sync
