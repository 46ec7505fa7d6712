// The Kerberos service bind of the LDAP directory: SASL GSSAPI (RFC 4752) in an LDAP SASL bind
// (RFC 4513 5.2), as the service account `principal` with its key from `keytab`.
//
// Credentials: gss_acquire_cred_from with {client_keytab, ccache} gets a TGT for the principal
// into a MEMORY credential cache of its own (a new one per acquisition), so the process-wide
// default ccache (KRB5CCNAME) is neither read nor written, and [auth] kerberos_keytab (the
// acceptor side of IMAP/POP3/SMTP logins) is a different thing. The KDC comes from the
// Kerberos configuration (KRB5_CONFIG or /etc/krb5.conf).
//
// Renewal: a credential is due gssapi_renew_before its expiry (at half its lifetime when that
// is shorter). The pool then replaces a service connection, whose new bind acquires a new
// credential from the keytab, and retires the connections bound with an older generation
// (before AD would drop them at their ticket's expiry). When the KDC cannot be reached then,
// the previous credential serves until it expires and the renewal is retried every
// kRetryRenewal. A bind that fails on the client side (an expired or unusable ticket) drops
// the credential too.
//
// Threading: GssapiCredentials is thread-safe; acquisition and binds block (KDC round trips):
// they run where the LDAP client runs, on the worker pool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "src/core/status.h"

struct gss_cred_id_struct;
struct ldap;

namespace mailroom::auth::ldap {

struct LdapOptions;

// One acquisition: the GSS credential handle and its private ccache, released together.
class GssapiCredential {
 public:
  using Clock = std::chrono::steady_clock;
  GssapiCredential(gss_cred_id_struct* handle, std::string ccache, Clock::time_point expires_at,
                   Clock::time_point refresh_at, uint64_t generation);
  ~GssapiCredential();
  GssapiCredential(const GssapiCredential&) = delete;
  GssapiCredential& operator=(const GssapiCredential&) = delete;

  gss_cred_id_struct* handle() const { return handle_; }
  Clock::time_point expires_at() const { return expires_at_; }
  Clock::time_point refresh_at() const { return refresh_at_; }
  uint64_t generation() const { return generation_; }  // 1, 2, ... per acquisition

 private:
  gss_cred_id_struct* handle_;
  std::string ccache_;
  Clock::time_point expires_at_;
  Clock::time_point refresh_at_;
  uint64_t generation_;
};

class GssapiCredentials {
 public:
  GssapiCredentials(std::string keytab, std::string principal, int renew_before_s);

  // The current credential, acquired from the keytab when there is none or it is due.
  // Errors: unavailable when the KDC cannot be reached or answers "try later" (could not
  // tell); invalid_argument when the answer points at the configuration, with log_detail
  // "principal: ..." (the KDC does not know the account, or it is disabled) or "keytab: ..."
  // (its key is not the account's). log_detail names the principal, the keytab and Kerberos's
  // reason.
  core::Result<std::shared_ptr<const GssapiCredential>> current();

  // `used` failed on the client side: the next current() acquires a new credential.
  void drop(const GssapiCredential& used);

  // Lock-free (the pool asks under its own lock): the current credential is due for renewal
  // (or there is none), so a new connection would renew it; its generation (0: none).
  bool due() const;
  uint64_t generation() const { return generation_now_.load(); }

  static constexpr std::chrono::seconds kRetryRenewal{30};

 private:
  bool due_locked(GssapiCredential::Clock::time_point now) const;
  void publish_locked();  // due_at_ and generation_now_ from current_ and retry_at_

  std::string keytab_;
  std::string principal_;
  int renew_before_s_;
  std::mutex mu_;
  std::shared_ptr<const GssapiCredential> current_;
  uint64_t generation_ = 0;
  GssapiCredential::Clock::time_point retry_at_{};  // a failed renewal: not before then
  std::atomic<int64_t> due_at_{0};                  // steady_clock ticks
  std::atomic<uint64_t> generation_now_{0};
};

// Binds `ld` (not yet bound; connected or not) with SASL GSSAPI using `credential`:
// LDAP_OPT_X_SASL_NOCANON (the service ticket is for ldap/<host of the URI>, no reverse DNS),
// security properties "minssf=56" (seal) or "maxssf=0" (none: inside TLS). Returns the LDAP
// result code; the reason is in the handle's diagnostic message.
int gssapi_bind(::ldap* ld, const GssapiCredential& credential, bool seal);

// What a failed GSSAPI bind points at, for the start-up check and the log: "principal",
// "service_uris", "sasl_ssf", "bind_method" (configuration), or empty (transient: the DC or the
// KDC). `diagnostic` is the handle's diagnostic message.
std::string gssapi_bind_problem(int rc, const std::string& diagnostic);

}  // namespace mailroom::auth::ldap
