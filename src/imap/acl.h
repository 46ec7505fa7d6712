// Access control lists (RFC 4314) and the shared namespaces (RFC 2342) of the IMAP server.
//
// Rights and identifiers are auth/mailbox_acl.h's (brought into this namespace below).
//
// Namespaces (RFC 2342; NAMESPACE in commands/list.cpp): the personal one ("" "/"), "Other
// Users/" for other accounts' folders ("Other Users/<owner login>/<folder>", Dovecot's shape)
// and "Shared/" for the administrator's shared mailboxes ("Shared/<mailbox login>/<folder>",
// accounts marked shared by `mailroomctl shared create`). A name under either prefix is a
// folder of another account reached with that account's id and the rights its ACL gives
// the user.
//
// Threading: the functions taking Services block (directory and store): call them on the
// worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/mailbox_acl.h"
#include "src/core/services.h"
#include "src/core/status.h"
#include "src/store/mail_store.h"

namespace mailroom::imap::acl {

using namespace auth::acl;  // NOLINT(google-build-using-namespace): Right, Subject, ...

// The RIGHTS= capability (RFC 4314 3): the rights beyond RFC 2086 this server knows.
inline constexpr const char* kRightsCapability = "RIGHTS=texk";

// auth::acl with the server's directories.
Subject subject_of(core::Services& services, const std::string& account_id);
core::Result<std::string> stored_identifier(core::Services& services, const std::string& wire);
std::string wire_identifier(core::Services& services, const std::string& stored);

// --- namespaces ---
inline constexpr const char* kOtherUsersPrefix = "Other Users";
inline constexpr const char* kSharedPrefix = "Shared";

// Where a mailbox name of the session points.
struct Target {
  std::string owner;    // account id whose store holds the mailbox
  std::string mailbox;  // its name in that store
  uint32_t rights = kAll;
  bool own = true;  // the user's own mailbox (no ACL check applies)
};
// True when `name` (UTF-8) is in the Other Users or Shared namespace (or is its prefix).
bool in_shared_namespace(const std::string& name);
// Resolves a name under "Other Users/" or "Shared/": the owner by login (or address), the
// folder, and the user's rights there. not_found, with the store's "no such mailbox" text,
// when the owner or the folder does not exist or the user lacks `l` on it (RFC 4314 6: such a
// user must not learn that it exists).
core::Result<Target> resolve_shared(core::Services& services, const Subject& who,
                                    const std::string& name);
// The not_found status a command answers for a mailbox the user may not know about.
core::Status no_such_mailbox(const std::string& name);

// Other accounts' folders the user has `l` on, as names in the shared namespaces, for LIST.
struct SharedFolder {
  std::string name;  // "Other Users/bob/Projects"
  Target target;
  store::SpecialUse use = store::SpecialUse::none;
};
// The user's groups are read only when some other account has an ACL at all (LIST of a store
// without sharing costs one failed opendir).
core::Result<std::vector<SharedFolder>> visible_shared_folders(core::Services& services,
                                                               const std::string& account_id);

// RFC 4314 4 (APPEND, COPY): the flags and keywords a message keeps when stored with
// `rights` (\Seen needs s, \Deleted t, the others w; the rest are dropped silently).
void filter_flags(uint32_t rights, uint32_t& flags, std::vector<std::string>& keywords);

// The wire name of another account's mailbox: "<prefix>/<login>/<mailbox>".
std::string shared_name(bool shared_account, const std::string& login, const std::string& mailbox);

}  // namespace mailroom::imap::acl
