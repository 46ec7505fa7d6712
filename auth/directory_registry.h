// Opening the configured Directory backend: one explicit list (STYLE.md example 1).
//
// [directory]
//   backend = "local"            "local" (embedded SQLite) | "ldap" | "sql"
//   credential_cache_ttl = "0"   ldap/sql: remember passwords the directory accepted (as salted
//                                hashes, <data_dir>/credential-cache.db, 0600) for this long and
//                                accept them while the directory is down ["0" = off];
//                                see auth/credential_cache.h
//   credential_cache_scheme = "SHA512-CRYPT"   or "ARGON2ID" (slower, stronger), "SSHA512"
//   retention = "0", retention_action = "keep"   mailboxes of removed/disabled users
//                                (auth/sync/retention.h)
// [directory.local]
//   path = "<data_dir>/directory.db"   the SQLite file
//   busy_timeout = "5s"                how long to wait for another process's write lock
// [directory.ldap] / [directory.sql]: see auth/ldap/ldap_options.h and auth/sql/README.md.
//
// A backend left out of the build answers "directory backend ldap is not built in".
#pragma once

#include <memory>
#include <string>

#include "auth/directory.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth {

// Reads [directory] (and its backend's sub-table), calls finish() on them, opens the backend.
// `start_sync` false (mailroomctl, mailroomd --check): an LDAP/SQL replica is opened as it is,
// without the background sync. Only mailroomd keeps the replica in step: a second process
// syncing the same replica raced it and logged the audit events (account_inactive...) where
// the server's log never saw them; `mailroomctl directory sync --now` runs a pass on purpose.
core::Result<std::shared_ptr<Directory>> open_directory(core::ConfigSection& directory_section,
                                                        const std::string& data_dir,
                                                        bool start_sync = true);

// The names open_directory accepts, and whether each is compiled in.
bool directory_backend_built_in(const std::string& name);

}  // namespace mailroom::auth
