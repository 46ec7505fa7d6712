#include "auth/ldap/ldap_ctl.h"

namespace mailroom::ctl {

// `mailroomctl directory sync` now lives in auth/ctl_sync.cpp for both the LDAP and the SQL
// backend (registered by register_directory_commands). Kept so src/ctl/main.cpp links until
// its call is removed.
void register_ldap_commands(CLI::App&, Context&, int*) {}

}  // namespace mailroom::ctl
