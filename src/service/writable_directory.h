// The local directory (auth/local) as the target of administrative writes.
//
// Domains, users, aliases and groups are written to the embedded SQLite directory only; a
// server whose directory is LDAP or SQL keeps those objects upstream (directory sync copies
// them into the local replica).
//
// Threading: called from one thread; no blocking.
#pragma once

#include "auth/local/local_directory.h"
#include "src/core/status.h"

namespace mailroom::service {

// `directory` itself when it is the writable local directory; otherwise invalid_argument
// "directory backend <name> is read-only here".
core::Result<auth::LocalDirectory*> writable_directory(auth::Directory& directory);

}  // namespace mailroom::service
