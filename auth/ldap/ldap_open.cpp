// open_ldap_directory: parse, check against the server, build.
#include <filesystem>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/ldap/ldap_replica.h"
#include "src/core/config_section.h"
#include "src/core/log.h"

namespace mailroom::auth {

core::Result<std::shared_ptr<Directory>> open_ldap_directory(core::ConfigSection& section,
                                                             const std::string& data_dir,
                                                             bool start_sync) {
  core::ConfigErrors local_errors;
  core::ConfigErrors* errors = section.errors() ? section.errors() : &local_errors;
  size_t before = errors->messages().size();
  ldap::LdapOptions options = ldap::parse_ldap_options(section);
  auto join_new = [&]() {
    std::string all;
    for (size_t i = before; i < errors->messages().size(); ++i) {
      if (!all.empty()) all += "; ";
      all += errors->messages()[i];
    }
    return all;
  };
  if (errors->messages().size() > before)
    return core::invalid_argument("invalid LDAP configuration", join_new());

  auto client = std::make_shared<ldap::LdapClient>(options);
  auto problems = client->check_configuration();
  bool only_unreachable = !problems.empty();
  for (const auto& p : problems)
    if (p.find("(no LDAP server reachable)") == std::string::npos) only_unreachable = false;
  if (only_unreachable && options.lookup == "replica" &&
      std::filesystem::exists(data_dir + "/directory.db")) {
    // The replica exists: serve from it while LDAP is down; the sync reconnects by itself.
    for (const auto& p : problems)
      MR_LOG_WARN("event=ldap_unreachable_at_start using=replica problem={}", core::quote(p));
    problems.clear();
  }
  for (const auto& problem : problems) {
    // "<key>: <what>" -> "file:line: <section>.<key>: <what>"
    auto colon = problem.find(':');
    std::string key = problem.substr(0, colon);
    std::string what = colon == std::string::npos ? problem : problem.substr(colon + 2);
    section.error(key, what);
  }
  if (errors->messages().size() > before)
    return core::invalid_argument("LDAP directory check failed", join_new());
  MR_LOG_INFO("event=ldap_open profile={} server={} lookup={} sync={}",
              options.profile == ldap::Profile::openldap ? "openldap" : "activedirectory",
              client->current_server(), options.lookup, options.sync_mode);
  auto live = std::make_shared<LdapDirectory>(client);
  if (options.lookup == "replica") return ldap::open_replica_directory(live, data_dir, start_sync);
  return std::shared_ptr<Directory>(live);
}

}  // namespace mailroom::auth
