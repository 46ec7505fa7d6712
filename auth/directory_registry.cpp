#include "auth/directory_registry.h"

#include "auth/credential_cache.h"
#include "auth/local/local_directory.h"
#include "auth/sync/retention.h"
#include "src/core/config_section.h"
#ifdef MAILROOM_HAVE_LDAP_BACKEND
#include "auth/ldap/ldap_directory.h"
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
#include "auth/sql/sql_directory.h"
#endif

namespace mailroom::auth {
namespace {

core::Result<std::shared_ptr<Directory>> open_local(core::ConfigSection& s,
                                                    const std::string& data_dir) {
  LocalDirectoryOptions o;
  o.path = s.get_string("path", data_dir + "/directory.db");
  o.busy_timeout_ms = static_cast<int>(s.get_seconds("busy_timeout", 5) * 1000);
  s.finish();
  auto dir = LocalDirectory::open(o);
  if (!dir) return dir.status();
  return std::shared_ptr<Directory>(*dir);
}

core::Status not_built_in(const std::string& name) {
  return core::invalid_argument(
      "directory backend " + name + " is not built in",
      "rebuild with MAILROOM_WITH_" + std::string(name == "ldap" ? "LDAP" : "MARIADB") + "=ON");
}

}  // namespace

bool directory_backend_built_in(const std::string& name) {
  if (name == "local") return true;
#ifdef MAILROOM_HAVE_LDAP_BACKEND
  if (name == "ldap") return true;
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
  if (name == "sql") return true;
#endif
  return false;
}

core::Result<std::shared_ptr<Directory>> open_directory(core::ConfigSection& section,
                                                        const std::string& data_dir,
                                                        bool start_sync) {
  std::string configured = section.get_string("backend", "local");
  std::string backend = section.get_choice("backend", "local", {"local", "ldap", "sql"});
  if (backend != configured) {
    // Never the default instead: a server meant to ask LDAP must not start on a local file.
    return core::invalid_argument("directory.backend: \"" + configured +
                                  "\" is not one of: local, ldap, sql");
  }
  CredentialCacheOptions cache;
  cache.path = data_dir + "/credential-cache.db";
  cache.ttl_seconds = section.get_seconds("credential_cache_ttl", 0);
  std::string scheme = section.get_choice("credential_cache_scheme", "SHA512-CRYPT",
                                          {"SHA512-CRYPT", "ARGON2ID", "SSHA512"});
  cache.scheme = password::parse_scheme(scheme).value_or(password::Scheme::sha512_crypt);
  if (cache.ttl_seconds > 0 && backend == "local")
    section.error("credential_cache_ttl", "applies to the ldap and sql backends only");
  // Read (and validated) here; applied by `mailroomctl directory retention`.
  (void)sync::parse_retention_options(section);
  auto local = section.child("local");
  auto ldap = section.child("ldap");
  auto sql = section.child("sql");
  section.finish();
  if (backend == "local") {
    if (cache.ttl_seconds > 0)
      return core::invalid_argument(
          "directory.credential_cache_ttl: applies to the ldap and sql backends only");
    return open_local(local, data_dir);
  }
  core::Result<std::shared_ptr<Directory>> remote = not_built_in(backend);
  if (backend == "ldap") {
#ifdef MAILROOM_HAVE_LDAP_BACKEND
    remote = open_ldap_directory(ldap, data_dir, start_sync);
#endif
  } else {
#ifdef MAILROOM_HAVE_SQL_BACKEND
    remote = open_sql_directory(sql, data_dir, start_sync);
#endif
  }
  if (!remote || cache.ttl_seconds == 0) return remote;
  auto opened = CredentialCache::open(cache);
  if (!opened) {
    section.error("credential_cache_ttl", opened.status().log_detail());
    return opened.status();
  }
  return with_credential_cache(*remote, *opened);
}

}  // namespace mailroom::auth
