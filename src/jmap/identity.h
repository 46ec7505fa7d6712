// Identities (RFC 8621 6), internal to src/jmap: shared by the Identity methods and
// EmailSubmission (which checks identityId).
//
// One identity per address the account may send as by the directory: its primary address,
// its other addresses and its send_as grants, each kept only when auth::Resolver::may_send_as
// (the rule SMTP submission applies) says yes; its name is the directory's display name until
// the user sets one. Identity/set may change name, replyTo, bcc, textSignature and
// htmlSignature of any identity, and create (and destroy) further identities for addresses the
// send-as rule allows (an alias pointing to the account, a group that lets it send ...).
// Stored in records.h's identities.json: {"seq", "floor", "dirName", "items": [...],
// "gone": [{"id", "seq"}]}; the list is synchronised with the directory whenever it is read
// (an idempotent diff: a changed directory bumps the state, an unchanged one writes nothing).
#pragma once

#include <string>
#include <vector>

#include "src/jmap/methods.h"

namespace mailroom::jmap {

inline constexpr size_t kMaxIdentities = 100;  // per account, created ones included
inline constexpr size_t kMaxIdentityTombstones = 200;

struct IdentityRecord {
  std::string id;
  std::string email;
  bool from_directory = false;
};

// The account's identities after synchronising with the directory (takes records_lock()).
// serverUnavailable when the directory cannot answer.
MethodResult list_identities(CallContext& ctx, std::vector<IdentityRecord>* out);

// May the caller send as `address` (send_as_exempt_domains, then Resolver::may_send_as)?
// serverUnavailable when the directory cannot tell.
MethodResult may_send_as(CallContext& ctx, const std::vector<std::string>& addresses, bool* ok);

}  // namespace mailroom::jmap
