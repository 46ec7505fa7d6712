// [auth] configuration: identity rules (ResolverOptions), where plain-text logins are allowed,
// and the throttling of failed logins. Parsed once at start-up (STYLE.md example 4).
//
// Keys of [auth] (defaults in brackets):
//   default_domain = "example.com"   single-domain edition: users log in with the local part
//                                    ["" = multi-domain: full address; a bare local part is
//                                    accepted only when exactly one local domain exists]
//   subaddress_separator = "+"       "" disables subaddressing ["+"]
//   max_group_depth = 8              nested group levels [8]
//   max_expansion = 10000            recipients one address may expand to [10000]
//   allow_utf8_local_parts = true    accept UTF-8 local parts (RFC 6531) [true]
//   disabled_recipients = "reject"   mail for a disabled account: "reject" (550 5.2.1) or
//                                    "hold" (kept, unread, in its mailbox; see resolver.h)
//   allow_plaintext_on_loopback = false   PLAIN/LOGIN and IMAP LOGIN without TLS from
//                                    127.0.0.0/8 and ::1 [false]
//   mechanisms = ["PLAIN", "LOGIN", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"]
//                                    SASL mechanisms to offer, in order (SCRAM-SHA-256 only
//                                    for accounts with a SCRAM secret; OAUTHBEARER and XOAUTH2
//                                    only with [sso] configured, and like PLAIN only on TLS;
//                                    "GSSAPI" needs kerberos_keytab and is added at the end
//                                    of the default list when a keytab is set)
//   max_failures_per_account = 5     failed logins per account within failure_window [5]
//   max_failures_per_ip = 20         failed logins per client IP within failure_window [20]
//   failure_window = "5m"            [300 s]
//   lockout = "15m"                  refusal time after the limit is reached [900 s]
//   sasl_service = "mailroom"        Cyrus SASL service name (application name) ["mailroom"]
// Kerberos (SASL GSSAPI, RFC 4752; see auth/sasl/kerberos.h):
//   kerberos_keytab = "/etc/mailroom/mail.keytab"   keys of imap/<host>, pop/<host> and
//                                    smtp/<host> for the protocols mailroomd listens on;
//                                    checked at start (missing, unreadable or lacking a
//                                    principal: mailroomd does not start) ["" = no Kerberos]
//   kerberos_hostname = "mail.example.com"   <host> of the service principals
//                                    [[server] hostname]
//   kerberos_realms = ["EXAMPLE.COM"]   realms whose users may log in (case-sensitive); the
//                                    service principals must be in one of them
//                                    [the default_realm of krb5.conf]
//   kerberos_mapping = "strip_realm"   principal -> login: "strip_realm" (alice@EXAMPLE.COM
//                                    logs in as "alice") or "realm_to_domain" (as
//                                    "alice@example.com"); either way through the same login
//                                    rules, account status and throttle as a password
//   directory_password_protocols = ["imap", "pop3", "smtp", "http", "managesieve"]
//                                    where the account's directory password (PLAIN, LOGIN,
//                                    IMAP LOGIN, POP3 USER/PASS, SCRAM; HTTP Basic for a
//                                    user's own API calls such as self-recall) is accepted
//                                    [all four]; on a protocol not listed only app passwords (and
//                                    token/Kerberos mechanisms) log in, and SCRAM-SHA-256 is
//                                    not offered. [] refuses the directory password everywhere
//                                    (SSO deployments: people use app passwords in mail apps).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/resolver.h"
#include "auth/sasl/kerberos.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::auth {

class Authenticator;
class TokenVerifier;

// Failed-login limits; the policy is described in auth/sasl/throttle.h.
struct ThrottleOptions {
  int max_failures_per_account = 5;                // per account from one IP
  int max_failures_per_ip = 20;                    // per IP, over all accounts
  int max_failures_per_account_all_sources = 100;  // per account, over all IPs
  int64_t failure_window_seconds = 300;
  int64_t lockout_seconds = 900;
  int64_t known_source_ttl_seconds = 30 * 86400;  // an IP that logged in stays known this long
};

struct AuthOptions {
  ResolverOptions resolver;
  bool allow_plaintext_on_loopback = false;
  std::vector<std::string> mechanisms{"PLAIN", "LOGIN", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"};
  ThrottleOptions throttle;
  std::string sasl_service = "mailroom";
  KerberosOptions kerberos;
  // Protocols (ClientInfo::protocol: "imap", "pop3", "smtp", "managesieve") on which the
  // directory password is accepted; app passwords follow their own protocol lists
  // (auth/app_passwords.h).
  std::vector<std::string> directory_password_protocols{"imap", "pop3", "smtp", "http",
                                                        "managesieve"};
  bool directory_password_allowed(const std::string& protocol) const;
  // Not from the config file: a per-installation secret (<data_dir>/installation.key, made at
  // first start, mode 0600) from which SCRAM's fake salts for unknown users are derived.
  // Empty (unit tests): a fixed key.
  std::string installation_key;
};

// Reads [auth] and calls section.finish(). Errors go to the section's ConfigErrors; defaults
// are kept for bad values.
AuthOptions parse_auth_options(core::ConfigSection& auth_section);

class AppPasswordStore;

// The Cyrus SASL authenticator (auth/sasl/). The resolver's Directory verifies passwords;
// `app_passwords` (may be null: none) is tried first for passwords of an app password's shape;
// `tokens` (sso/, optional) verifies the bearer tokens of OAUTHBEARER and XOAUTH2.
std::shared_ptr<Authenticator> make_authenticator(
    std::shared_ptr<Resolver> resolver, const AuthOptions& options,
    std::shared_ptr<AppPasswordStore> app_passwords = nullptr,
    std::shared_ptr<TokenVerifier> tokens = {});

}  // namespace mailroom::auth
