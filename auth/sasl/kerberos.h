// Kerberos logins (SASL GSSAPI, RFC 4752) through Cyrus SASL's GSSAPI plugin: the [auth]
// options, the rule that maps a client principal to a login name, the acceptor credentials
// read from our keytab, and the start-up check of that keytab.
//
// How a principal becomes an account: Cyrus hands us the client principal (for a principal
// of the default realm of krb5.conf without its realm, see full_principal), the mapping rule
// turns it into a login name, and that name goes through Resolver::find_login like a
// password login, so single/multi-domain rules, the account status and the throttle apply
// unchanged (auth/sasl/authenticator.cpp). Rules (kerberos_mapping):
//   "strip_realm"      alice@EXAMPLE.COM -> login "alice" (the edition's login rules apply:
//                      single-domain, or multi-domain with one local domain)
//   "realm_to_domain"  alice@EXAMPLE.COM -> "alice@example.com" (the realm, lowercased, is
//                      the mail domain; with Active Directory whose login attribute is
//                      userPrincipalName this also finds the account by its UPN)
// Principals with an instance (alice/admin@EXAMPLE.COM, service principals) are refused: they
// name a role, not a mailbox owner. A realm not in kerberos_realms is refused.
//
// Service principals (RFC 4752 3.1): "<service>@<host>" with the protocol's registered GSSAPI
// service name: imap (RFC 3501 6.2.2), pop (RFC 5034 4), smtp (RFC 4954 4); <host> is
// kerberos_hostname ([server] hostname by default). The keytab must hold <service>/<host>@R
// for a realm R in kerberos_realms for every protocol mailroomd listens on.
//
// Threading: every function is thread-safe. acquire_acceptor_credentials reads the keytab
// (blocking file I/O): call it where Cyrus runs, on the worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::core {
class ConfigSection;
}

// gssapi.h's opaque credential handle, without pulling gssapi.h into every includer.
struct gss_cred_id_struct;

namespace mailroom::auth {

enum class KerberosMapping { strip_realm, realm_to_domain };

struct KerberosOptions {
  std::string keytab;               // empty: Kerberos is off
  std::string hostname;             // host part of the service principals; empty: [server]
  std::vector<std::string> realms;  // client realms allowed to log in; empty: default realm
  KerberosMapping mapping = KerberosMapping::strip_realm;

  bool enabled() const { return !keytab.empty(); }
};

// Reads kerberos_keytab, kerberos_hostname, kerberos_realms and kerberos_mapping from [auth].
// Errors go to the section's ConfigErrors. Does not call finish().
KerberosOptions parse_kerberos_options(core::ConfigSection& auth_section);

// A Kerberos principal split at its unescaped separators (RFC 1964 2.1.1 display form:
// "name[/instance]@REALM", "\" escapes '@', '/' and '\').
struct KerberosPrincipal {
  std::vector<std::string> components;  // unescaped; {"alice"} or {"imap", "mail.example.com"}
  std::string realm;                    // empty when the text had no realm
};
core::Result<KerberosPrincipal> parse_principal(std::string_view text);

// The full principal name from what Cyrus's GSSAPI plugin reports as the authentication id:
// it drops the realm when it is the acceptor's default realm (plugins/gssapi.c), so a name
// without an unescaped '@' gets `default_realm` back.
std::string full_principal(std::string_view authid, std::string_view default_realm);

// The login name that `principal` (full, with its realm) maps to, or not_found with the reason
// (realm not allowed, an instance, malformed) for the log. `allowed_realms` must not be empty.
core::Result<std::string> principal_to_login(std::string_view principal,
                                             const std::vector<std::string>& allowed_realms,
                                             KerberosMapping mapping);

// The GSSAPI service name of a protocol as ClientInfo::protocol spells it ("imap", "pop3",
// "smtp"): "imap", "pop", "smtp"; empty for a protocol without one.
std::string gssapi_service(std::string_view protocol);

// A GSS-API status (major and mechanism's minor code) as text for logs, e.g. "No credentials
// were supplied ...: Cannot contact any KDC for realm 'X'".
std::string gss_error_text(uint32_t major, uint32_t minor);

// The default realm of the Kerberos configuration (KRB5_CONFIG or /etc/krb5.conf); empty if
// none is set.
std::string default_realm();

// The realms clients may come from: options.realms, or the default realm when that is empty.
std::vector<std::string> allowed_realms(const KerberosOptions& options);

// Start-up check (blocking): the keytab is readable and holds a key for
// "<service>/<hostname>@R", R in allowed_realms(options), for each service in `services`.
// The error names the keytab, the missing principals and what the keytab holds.
core::Status check_keytab(const KerberosOptions& options, const std::vector<std::string>& services);

// The principals a keytab holds ("imap/mail.example.com@EXAMPLE.COM", ...), in file order.
core::Result<std::vector<std::string>> keytab_principals(const std::string& keytab);

// Acceptor credentials for "<service>@<hostname>" from `keytab` (gss_acquire_cred_from, so no
// process-wide KRB5_KTNAME): handed to Cyrus as SASL_GSS_CREDS. Releases them when destroyed.
class AcceptorCredentials {
 public:
  static core::Result<std::unique_ptr<AcceptorCredentials>> acquire(const std::string& keytab,
                                                                    const std::string& service,
                                                                    const std::string& hostname);
  ~AcceptorCredentials();
  AcceptorCredentials(const AcceptorCredentials&) = delete;
  AcceptorCredentials& operator=(const AcceptorCredentials&) = delete;
  gss_cred_id_struct* handle() const { return handle_; }

 private:
  explicit AcceptorCredentials(gss_cred_id_struct* handle) : handle_(handle) {}
  gss_cred_id_struct* handle_;
};

}  // namespace mailroom::auth
