// OpenLDAP and Active Directory as a source of the directory sync engine (sync_engine.h),
// which keeps the local replica in step; accounts are keyed by entryUUID / objectGUID.
//
// [directory.ldap.sync] mode:
//  - persist: RFC 4533 refreshAndPersist against OpenLDAP's syncprov. The cookie is stored
//    in the replica's sync_state ("ldap.cookie") once the changes it covers are written, so
//    a restart resumes; a provider that cannot resume from it gets a full refresh.
//  - poll: Active Directory; entries whose uSNChanged is above the stored high-water mark
//    ("ldap.usn") every interval, plus a full compare (deletions) every full_compare_s.
//  - off: nothing in the background; mailroomctl directory sync --now still runs full passes.
// Groups and aliases are read whole (small next to users) whenever they may have changed.
#pragma once

#include <memory>

#include "auth/sync/sync_engine.h"

namespace mailroom::auth {
class LdapDirectory;
}

namespace mailroom::auth::sync {

inline constexpr const char* kSourceLdap = "ldap";

// The engine for `live`'s options (mode, interval, full compare, on_removed, grace). Nothing
// is read before a pass or start(). `clock` must outlive the engine.
std::unique_ptr<SyncEngine> make_ldap_sync(std::shared_ptr<LdapDirectory> live,
                                           std::shared_ptr<LocalDirectory> replica,
                                           const core::Clock& clock = core::real_clock());

}  // namespace mailroom::auth::sync
