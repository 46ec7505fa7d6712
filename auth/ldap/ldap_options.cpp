#include "auth/ldap/ldap_options.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "auth/sasl/kerberos.h"
#include "src/core/config_section.h"

namespace mailroom::auth::ldap {

void apply_profile(Profile profile, LdapOptions& o) {
  AttributeMap& a = o.attrs;
  a = AttributeMap{};
  if (profile == Profile::openldap) {
    a.id = "entryUUID";
    a.login = "uid";
    a.mail = "mail";
    a.alternate = "mailAlternateAddress";
    a.display_name = "cn";
    a.status = "mailAccountStatus";
    a.quota_bytes = "mailQuotaBytes";
    a.quota_messages = "mailQuotaMessages";
    a.forward = "mailForwardingAddress";
    a.delivery_option = "mailDeliveryOption";
    a.send_as = "mailSendAsAddress";
    a.group_mail = "mail";
    a.member = "member";
    a.unique_member = "uniqueMember";
    a.member_url = "memberURL";
    a.send_policy = "mailGroupSendPolicy";
    a.allowed_sender = "mailGroupAllowedSender";
    a.alias_target = "mailForwardingAddress";
    a.password_changed = "pwdChangedTime";
    a.manager = "manager";  // inetOrgPerson (RFC 2798) via cosine's manager
    o.user_class_filter = "(objectClass=inetOrgPerson)";
    o.account_filter = "(&(objectClass=inetOrgPerson)(|(mail=%s)(mailAlternateAddress=%s)))";
    o.login_filter = "(&(objectClass=inetOrgPerson)(|(uid=%s)(mail=%s)))";
    o.group_class_filter =
        "(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=groupOfURLs))"
        "(mail=*))";
    o.group_filter =
        "(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=groupOfURLs))"
        "(mail=%s))";
    o.alias_class_filter = "(objectClass=mailroomAlias)";
    o.alias_filter = "(&(objectClass=mailroomAlias)(mail=%s))";
    o.nested_groups = NestedGroups::member;
    o.sync_mode = "persist";
  } else {
    a.id = "objectGUID";
    a.id_is_guid = true;
    a.login = "sAMAccountName";
    a.login_alt = "userPrincipalName";
    a.mail = "mail";
    a.alternate = "proxyAddresses";
    a.alternate_is_proxy = true;
    a.display_name = "displayName";
    a.ad_account_control = true;
    a.group_mail = "mail";
    a.member = "member";
    a.change_counter = "uSNChanged";
    a.password_changed = "pwdLastSet";
    a.manager = "manager";
    a.member_of = "memberOf";
    // Only users with an address: a domain holds many without (krbtgt, Guest, service
    // accounts), which are not mail accounts and were each a warning and an error count in
    // every full pass. One that loses its address leaves the sync as a deleted one would.
    o.user_class_filter =
        "(&(objectClass=user)(!(objectClass=computer))(|(mail=*)(proxyAddresses=smtp:*)))";
    o.account_filter =
        "(&(objectClass=user)(!(objectClass=computer))(|(mail=%s)(proxyAddresses=smtp:%s)))";
    o.login_filter =
        "(&(objectClass=user)(!(objectClass=computer))"
        "(|(sAMAccountName=%u)(userPrincipalName=%s)(mail=%s)))";
    o.group_class_filter = "(&(objectClass=group)(mail=*))";
    o.nested_group_filter = "(objectClass=group)";  // security groups without mail nest too
    o.group_filter = "(&(objectClass=group)(|(mail=%s)(proxyAddresses=smtp:%s)))";
    o.alias_class_filter.clear();
    o.alias_filter.clear();
    o.nested_groups = NestedGroups::in_chain;
    o.sync_mode = "poll";
  }
}

namespace {

std::vector<std::string> domains_from_base(const std::string& base) {
  // "dc=example,dc=com" -> "example.com"
  std::string domain;
  std::stringstream ss(base);
  std::string rdn;
  while (std::getline(ss, rdn, ',')) {
    while (!rdn.empty() && rdn.front() == ' ') rdn.erase(0, 1);
    if (rdn.size() > 3 && (rdn[0] == 'd' || rdn[0] == 'D') && (rdn[1] == 'c' || rdn[1] == 'C') &&
        rdn[2] == '=') {
      if (!domain.empty()) domain += '.';
      domain += rdn.substr(3);
    }
  }
  for (auto& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (domain.empty()) return {};
  return {domain};
}

bool balanced_filter(const std::string& f) {
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\') {
      ++i;
      continue;
    }
    if (f[i] == '(') ++depth;
    if (f[i] == ')' && --depth < 0) return false;
  }
  return depth == 0 && !f.empty() && f.front() == '(';
}

bool is_uri(const std::string& u, const char* scheme) { return u.rfind(scheme, 0) == 0; }

// bind_method, keytab, principal, sasl_ssf, gssapi_renew_before and service_uris (after uris
// and tls). The keytab is read here, at start-up: a missing file, a mode that lets others read
// it, or no key for the principal is a configuration error naming the key.
void parse_service_bind(core::ConfigSection& s, LdapOptions& o) {
  std::string method = s.get_choice("bind_method", "simple", {"simple", "gssapi"});
  o.bind_method = method == "gssapi" ? BindMethod::gssapi : BindMethod::simple;
  bool gssapi = o.bind_method == BindMethod::gssapi;
  o.service_uris = s.get_strings("service_uris", {});
  auto keytab = s.get_optional_string("keytab");
  auto principal = s.get_optional_string("principal");
  auto ssf = s.get_optional_string("sasl_ssf");
  o.gssapi_renew_before_s =
      static_cast<int>(s.get_seconds("gssapi_renew_before", o.gssapi_renew_before_s));
  if (!gssapi) {
    for (const auto& [key, value] : {std::pair{"keytab", keytab}, std::pair{"principal", principal},
                                     std::pair{"sasl_ssf", ssf}}) {
      if (value) s.error(key, "is only used with bind_method = \"gssapi\"");
    }
  } else {
    if (!o.bind_dn.empty() || !o.bind_password.empty())
      s.error("bind_dn",
              "bind_method = \"gssapi\" binds as `principal`: remove bind_dn and "
              "bind_password");
    if (ssf && *ssf != "seal" && *ssf != "none")
      s.error("sasl_ssf", "must be \"seal\" or \"none\", got \"" + *ssf + "\"");
    o.sasl_seal = !ssf || *ssf == "seal";
    if (o.gssapi_renew_before_s < 1) s.error("gssapi_renew_before", "must be at least 1s");
    o.principal = principal.value_or("");
    auto parsed = parse_principal(o.principal);
    if (o.principal.empty()) {
      s.error("principal",
              "bind_method = \"gssapi\" needs the service account's principal "
              "(e.g. \"mailroom-svc@EXAMPLE.COM\")");
    } else if (!parsed || parsed->realm.empty()) {
      s.error("principal", "'" + o.principal + "' is not a principal name@REALM");
    }
    o.keytab = keytab.value_or("");
    struct stat st {};
    if (o.keytab.empty()) {
      s.error("keytab", "bind_method = \"gssapi\" needs the service account's keytab");
    } else if (::stat(o.keytab.c_str(), &st) != 0 || !std::ifstream(o.keytab).good()) {
      s.error("keytab", "cannot read '" + o.keytab + "'");
    } else if ((st.st_mode & 077) != 0) {
      s.error("keytab", "'" + o.keytab +
                            "' is readable by other users: it holds the service account's key "
                            "(chmod 600)");
    } else if (!o.principal.empty() && parsed && !parsed->realm.empty()) {
      auto held = keytab_principals(o.keytab);
      if (!held) {
        s.error("keytab", "'" + o.keytab + "': " + held.status().log_detail());
      } else if (std::find(held->begin(), held->end(), o.principal) == held->end()) {
        std::string list;
        for (const auto& p : *held) list += (list.empty() ? "" : ", ") + p;
        s.error("principal", "the keytab '" + o.keytab + "' has no key for '" + o.principal +
                                 "'; it holds: " + (list.empty() ? "nothing" : list));
      }
    }
  }
  for (const auto& u : o.service_uris) {
    bool ldaps = is_uri(u, "ldaps://");
    if (!ldaps && !is_uri(u, "ldap://") && !is_uri(u, "ldapi://")) {
      s.error("service_uris", "'" + u + "' is not an ldap://, ldaps:// or ldapi:// URI");
    } else if (!ldaps && o.tls == TlsMode::ldaps && !(gssapi && o.sasl_seal)) {
      s.error("service_uris", "tls = \"ldaps\" needs ldaps:// URIs, got '" + u +
                                  "' (plain ldap:// is for bind_method = \"gssapi\" with "
                                  "sasl_ssf = \"seal\")");
    }
  }
  if (gssapi && !o.sasl_seal) {
    for (const auto& u : pool_uris(o, true)) {
      if (!is_uri(u, "ldaps://") && o.tls != TlsMode::starttls)
        s.error("sasl_ssf", "\"none\" sends the directory's answers unprotected over '" + u +
                                "': use ldaps:// or tls = \"starttls\", or sasl_ssf = \"seal\"");
    }
  }
}

}  // namespace

const std::vector<std::string>& pool_uris(const LdapOptions& o, bool service) {
  return service && !o.service_uris.empty() ? o.service_uris : o.uris;
}

LdapOptions parse_ldap_options(core::ConfigSection& s) {
  LdapOptions o;
  std::string profile = s.get_choice("profile", "openldap", {"openldap", "activedirectory"});
  o.profile = profile == "activedirectory" ? Profile::activedirectory : Profile::openldap;
  apply_profile(o.profile, o);

  o.uris = s.get_strings("uris", {});
  if (o.uris.empty()) {
    if (auto one = s.get_optional_string("uri")) o.uris.push_back(*one);
  }
  if (o.uris.empty()) s.error("uris", "at least one LDAP URI is required (ldap://host:port)");
  std::string tls = s.get_choice("tls", "none", {"none", "starttls", "ldaps"});
  o.tls = tls == "starttls" ? TlsMode::starttls : tls == "ldaps" ? TlsMode::ldaps : TlsMode::none;
  for (const auto& u : o.uris) {
    bool is_ldaps = u.rfind("ldaps://", 0) == 0;
    bool is_ldap = u.rfind("ldap://", 0) == 0 || u.rfind("ldapi://", 0) == 0;
    if (!is_ldaps && !is_ldap)
      s.error("uris", "'" + u + "' is not an ldap://, ldaps:// or ldapi:// URI");
    if (o.tls == TlsMode::ldaps && !is_ldaps)
      s.error("uris", "tls = \"ldaps\" needs ldaps:// URIs, got '" + u + "'");
    if (o.tls != TlsMode::ldaps && is_ldaps) o.tls = TlsMode::ldaps;
  }
  o.ca_file = s.get_string("ca_file", "");
  if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good())
    s.error("ca_file", "cannot read '" + o.ca_file + "'");
  o.tls_verify = s.get_bool("tls_verify", true);

  o.bind_dn = s.get_string("bind_dn", "");
  o.bind_password = s.get_string("bind_password", "");
  if (auto file = s.get_optional_string("bind_password_file")) {
    std::ifstream in(*file);
    if (!in) {
      s.error("bind_password_file", "cannot read '" + *file + "'");
    } else {
      std::getline(in, o.bind_password);
    }
  }
  if (!o.bind_dn.empty() && o.bind_password.empty())
    s.error("bind_password", "bind_dn is set but no bind_password / bind_password_file");
  parse_service_bind(s, o);

  o.base_dn = s.get_string("base_dn", "");
  if (o.base_dn.empty()) s.error("base_dn", "base_dn is required (e.g. dc=example,dc=com)");
  o.user_base = s.get_string("user_base", o.base_dn);
  o.group_base = s.get_string("group_base", o.base_dn);
  o.domains = s.get_strings("domains", domains_from_base(o.base_dn));
  for (auto& d : o.domains)
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  struct F {
    const char* key;
    std::string* value;
  };
  for (F f : {F{"user_class_filter", &o.user_class_filter}, F{"account_filter", &o.account_filter},
              F{"login_filter", &o.login_filter}, F{"group_filter", &o.group_filter},
              F{"group_class_filter", &o.group_class_filter}, F{"alias_filter", &o.alias_filter},
              F{"alias_class_filter", &o.alias_class_filter},
              F{"nested_group_filter", &o.nested_group_filter}}) {
    *f.value = s.get_string(f.key, *f.value);
    if (!f.value->empty() && !balanced_filter(*f.value))
      s.error(f.key, "filter '" + *f.value + "' is not a parenthesised LDAP filter (RFC 4515)");
  }

  std::string nested = s.get_choice(
      "nested_groups", o.nested_groups == NestedGroups::in_chain ? "in_chain" : "member",
      {"member", "in_chain"});
  o.nested_groups = nested == "in_chain" ? NestedGroups::in_chain : NestedGroups::member;

  o.pool_size = static_cast<int>(s.get_int("pool_size", o.pool_size, 1, 64));
  o.bind_pool_size = static_cast<int>(s.get_int("bind_pool_size", o.bind_pool_size, 1, 64));
  o.connect_timeout_s = static_cast<int>(s.get_seconds("connect_timeout", o.connect_timeout_s));
  o.op_timeout_s = static_cast<int>(s.get_seconds("timeout", o.op_timeout_s));
  o.time_limit_s = static_cast<int>(s.get_seconds("time_limit", o.time_limit_s));
  if (o.connect_timeout_s < 1) s.error("connect_timeout", "must be at least 1s");
  if (o.op_timeout_s < 1) s.error("timeout", "must be at least 1s");
  o.size_limit = static_cast<int>(s.get_int("size_limit", o.size_limit, 1, 10000000));
  o.page_size = static_cast<int>(s.get_int("page_size", o.page_size, 0, 100000));
  o.retry_down_s = static_cast<int>(s.get_seconds("retry_down_after", o.retry_down_s));
  o.fail_back_s = static_cast<int>(s.get_seconds("fail_back_after", o.fail_back_s));
  o.follow_referrals = s.get_bool("follow_referrals", false);
  o.max_group_members =
      static_cast<int>(s.get_int("max_group_members", o.max_group_members, 1, 10000000));
  o.lookup = s.get_choice("lookup", "live", {"live", "replica"});
  o.leavers_ou = s.get_string("leavers_ou", "");
  o.leavers_group = s.get_string("leavers_group", "");

  auto at = s.child("attributes");
  AttributeMap& a = o.attrs;
  for (const auto& f : AttributeMap::kFields) a.*f.name = at.get_string(f.key, a.*f.name);
  if (a.id.empty()) at.error("id", "the immutable id attribute cannot be empty");
  if (a.mail.empty()) at.error("mail", "the mail attribute cannot be empty");
  a.id_is_guid = at.get_bool("id_is_guid", a.id_is_guid);
  a.alternate_is_proxy = at.get_bool("alternate_is_proxy", a.alternate_is_proxy);
  a.ad_account_control = at.get_bool("ad_account_control", a.ad_account_control);
  at.finish();
  if (!o.leavers_group.empty() && a.member_of.empty())
    s.error("leavers_group", "needs attributes.member_of (the memberOf attribute) to be set");

  auto sync = s.child("sync");
  o.sync_mode =
      sync.get_choice("mode", sync.present() ? o.sync_mode : "off", {"off", "persist", "poll"});
  o.sync_interval_s = static_cast<int>(sync.get_seconds("interval", o.sync_interval_s));
  o.full_compare_s = static_cast<int>(sync.get_seconds("full_compare_interval", o.full_compare_s));
  o.on_removed = sync.get_choice("on_removed", o.on_removed, {"disable", "delete"});
  o.old_address_grace_s = sync.get_seconds("old_address_grace", 0);
  sync.finish();
  if (o.lookup == "replica" && o.sync_mode == "off")
    s.error("lookup", "lookup = \"replica\" needs [directory.ldap.sync] mode = persist or poll");
  s.finish();
  return o;
}

}  // namespace mailroom::auth::ldap
