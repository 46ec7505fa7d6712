#include "auth/directory_registry.h"

#include "auth/local/local_directory.h"
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

[[maybe_unused]] core::Status not_built_in(const std::string& name) {
  return core::invalid_argument("directory backend " + name + " is not built in",
                                "rebuild with MAILROOM_WITH_" +
                                    std::string(name == "ldap" ? "LDAP" : "MARIADB") + "=ON");
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
                                                        const std::string& data_dir) {
  std::string backend = section.get_choice("backend", "local", {"local", "ldap", "sql"});
  auto local = section.child("local");
  auto ldap = section.child("ldap");
  auto sql = section.child("sql");
  section.finish();
  if (backend == "ldap") {
#ifdef MAILROOM_HAVE_LDAP_BACKEND
    return open_ldap_directory(ldap, data_dir);
#else
    return not_built_in("ldap");
#endif
  }
  if (backend == "sql") {
#ifdef MAILROOM_HAVE_SQL_BACKEND
    return open_sql_directory(sql, data_dir);
#else
    return not_built_in("sql");
#endif
  }
  return open_local(local, data_dir);
}

}  // namespace mailroom::auth
