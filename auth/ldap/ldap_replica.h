// lookup = "replica": the Directory answers from the local replica (<data_dir>/directory.db,
// auth/local) that the sync engine (auth/sync/sync_engine.h, with auth/sync/ldap_sync.h as
// its source) keeps in step, so SMTP and IMAP keep resolving while LDAP is down; passwords
// are still verified by LDAP bind.
#pragma once

#include <memory>
#include <string>

#include "auth/directory.h"

namespace mailroom::auth {
class LdapDirectory;
}

namespace mailroom::auth::ldap {

// Opens the replica and, with `start_sync`, starts the background sync (persist or poll, per
// the options).
core::Result<std::shared_ptr<Directory>> open_replica_directory(std::shared_ptr<LdapDirectory> live,
                                                                const std::string& data_dir,
                                                                bool start_sync);

}  // namespace mailroom::auth::ldap
