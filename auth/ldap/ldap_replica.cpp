#include "auth/ldap/ldap_replica.h"

#include "auth/ldap/ldap_directory.h"

namespace mailroom::auth::ldap {

core::Result<std::shared_ptr<Directory>> open_replica_directory(std::shared_ptr<LdapDirectory>,
                                                                const std::string&) {
  return core::invalid_argument("lookup = \"replica\" is not available yet",
                                "the LDAP replica mode is not implemented in this build");
}

}  // namespace mailroom::auth::ldap
