#include "auth/auth_options.h"

#include <algorithm>

#include "src/core/address.h"
#include "src/core/config_section.h"

namespace mailroom::auth {

bool AuthOptions::directory_password_allowed(const std::string& protocol) const {
  return std::find(directory_password_protocols.begin(), directory_password_protocols.end(),
                   protocol) != directory_password_protocols.end();
}

AuthOptions parse_auth_options(core::ConfigSection& s) {
  AuthOptions o;
  std::string dd = s.get_string("default_domain", "");
  if (!dd.empty()) {
    if (!core::parse_address("x@" + dd)) {
      s.error("default_domain", "'" + dd + "' is not a domain name");
    } else {
      o.resolver.default_domain = core::ascii_lower(dd);
    }
  }
  std::string pm = s.get_string("postmaster", "");
  if (!pm.empty()) {
    auto a = core::parse_address(pm);
    if (!a || a->domain.empty()) {
      s.error("postmaster", "'" + pm + "' is not an address");
    } else {
      o.resolver.postmaster = core::ascii_lower(pm);
    }
  }
  std::string sep = s.get_string("subaddress_separator", "+");
  if (sep.size() > 1) {
    s.error("subaddress_separator", "must be one character or empty");
  } else {
    o.resolver.subaddress_separator = sep.empty() ? '\0' : sep[0];
  }
  o.resolver.max_group_depth = static_cast<size_t>(s.get_int("max_group_depth", 8, 1, 64));
  o.resolver.max_expansion = static_cast<size_t>(s.get_int("max_expansion", 10000, 1, 10'000'000));
  o.resolver.allow_utf8_local_parts = s.get_bool("allow_utf8_local_parts", true);
  o.resolver.hold_for_disabled =
      s.get_choice("disabled_recipients", "reject", {"reject", "hold"}) == "hold";
  o.allow_plaintext_on_loopback = s.get_bool("allow_plaintext_on_loopback", false);
  o.kerberos = parse_kerberos_options(s);
  bool explicit_mechanisms = s.has("mechanisms");
  if (o.kerberos.enabled()) o.mechanisms.push_back("GSSAPI");
  auto mechs = s.get_strings("mechanisms", o.mechanisms);
  std::vector<std::string> valid;
  for (auto m : mechs) {
    std::transform(m.begin(), m.end(), m.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (m == "PLAIN" || m == "LOGIN" || m == "SCRAM-SHA-256" || m == "OAUTHBEARER" ||
        m == "XOAUTH2" || m == "GSSAPI") {
      valid.push_back(m);
    } else {
      s.error("mechanisms",
              "unsupported SASL mechanism '" + m +
                  "' (supported: PLAIN, LOGIN, SCRAM-SHA-256, OAUTHBEARER, XOAUTH2, GSSAPI)");
    }
  }
  bool gssapi = std::find(valid.begin(), valid.end(), "GSSAPI") != valid.end();
  if (gssapi && !o.kerberos.enabled()) {
    s.error("mechanisms", "GSSAPI needs kerberos_keytab");
    valid.erase(std::find(valid.begin(), valid.end(), "GSSAPI"));
  } else if (!gssapi && o.kerberos.enabled() && explicit_mechanisms) {
    s.error("kerberos_keytab", "is set but mechanisms does not list GSSAPI");
  }
  o.mechanisms = valid;
  o.throttle.max_failures_per_account =
      static_cast<int>(s.get_int("max_failures_per_account", 5, 1, 100000));
  o.throttle.max_failures_per_ip =
      static_cast<int>(s.get_int("max_failures_per_ip", 20, 1, 1000000));
  o.throttle.max_failures_per_account_all_sources =
      static_cast<int>(s.get_int("max_failures_per_account_all_sources", 100, 1, 10000000));
  o.throttle.known_source_ttl_seconds = s.get_seconds("known_source_ttl", 30 * 86400);
  o.throttle.failure_window_seconds = s.get_seconds("failure_window", 300);
  o.throttle.lockout_seconds = s.get_seconds("lockout", 900);
  if (o.throttle.failure_window_seconds <= 0) {
    s.error("failure_window", "must be positive");
    o.throttle.failure_window_seconds = 300;
  }
  if (o.throttle.lockout_seconds < 0) {
    s.error("lockout", "must not be negative");
    o.throttle.lockout_seconds = 900;
  }
  o.sasl_service = s.get_string("sasl_service", "mailroom");
  auto protocols = s.get_strings("directory_password_protocols", o.directory_password_protocols);
  o.directory_password_protocols.clear();
  for (auto p : protocols) {
    p = core::ascii_lower(p);
    if (p != "imap" && p != "pop3" && p != "smtp" && p != "http" && p != "managesieve") {
      s.error("directory_password_protocols",
              "unknown protocol '" + p + "' (expected imap, pop3, smtp, http, managesieve)");
    } else if (!o.directory_password_allowed(p)) {
      o.directory_password_protocols.push_back(p);
    }
  }
  s.finish();
  return o;
}

}  // namespace mailroom::auth
