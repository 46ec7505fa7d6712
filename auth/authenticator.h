// One authentication path for every protocol (SMTP AUTH, IMAP AUTHENTICATE/LOGIN, POP3
// AUTH/USER+PASS): a SASL exchange or a plain login becomes a Principal.
//
// Mechanisms run through Cyrus SASL (server side) with the Directory as the password
// verifier. Plain-text mechanisms are offered only on TLS, or on loopback when the config
// allows it. Failed attempts are throttled per account and per client IP, and every attempt
// is logged with its result and reason, never the password.
//
// Threading: Authenticator is thread-safe. Exchange::step and check_plain block (Directory,
// Cyrus): call them from the worker pool. An Exchange belongs to one session.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/directory.h"

namespace mailroom::auth {

struct ClientInfo {
  std::string session_id;
  std::string protocol;  // "smtp", "imap", "pop3", "lmtp", "http"
  std::string remote_ip;
  bool tls = false;
  bool loopback = false;
};

struct Principal {
  std::string account_id;
  std::string login;    // as the account stores it
  std::string address;  // primary address
  std::string display_name;
  // Set when the login used an app password (auth/app_passwords.h): its public id. The
  // session's connection carries it, so revoking that app password closes the session.
  std::string app_password_id;
  // Set when the login used a bearer token with an expiry (auth/token_verifier.h): seconds
  // since the epoch. What outlives one request (a JMAP push stream) ends then.
  int64_t expires_at = 0;
};

enum class AuthOutcome {
  in_progress,          // send `challenge` to the client, then call step() with its answer
  success,              // principal is set
  failed,               // wrong credentials / unknown user (the client learns nothing more)
  disabled,             // account disabled or deleted
  unavailable,          // directory could not tell: temporary failure
  throttled,            // too many failures: temporary failure, try later
  encryption_required,  // plain-text mechanism on a clear connection
  bad_mechanism,        // mechanism not offered
  malformed,            // client response could not be decoded (RFC 4954 501 / IMAP BAD)
  cancelled,            // client sent "*"
};
// For logs. Inline so protocol libraries can name outcomes without linking mailroom_auth.
inline const char* auth_outcome_name(AuthOutcome o) {
  switch (o) {
    case AuthOutcome::in_progress:
      return "in_progress";
    case AuthOutcome::success:
      return "success";
    case AuthOutcome::failed:
      return "failed";
    case AuthOutcome::disabled:
      return "disabled";
    case AuthOutcome::unavailable:
      return "unavailable";
    case AuthOutcome::throttled:
      return "throttled";
    case AuthOutcome::encryption_required:
      return "encryption_required";
    case AuthOutcome::bad_mechanism:
      return "bad_mechanism";
    case AuthOutcome::malformed:
      return "malformed";
    case AuthOutcome::cancelled:
      return "cancelled";
  }
  return "?";
}

struct AuthStep {
  AuthOutcome outcome = AuthOutcome::failed;
  std::string challenge;  // raw bytes; the protocol base64-encodes them
  Principal principal;    // set on success
};

// One SASL exchange (RFC 4422).
class Exchange {
 public:
  virtual ~Exchange() = default;
  // First call: the initial response if the client sent one (SASL-IR, SMTP AUTH arg), else
  // nullopt. Later calls: the decoded client response. "*" cancellation is handled by the
  // caller (it returns AuthOutcome::cancelled without calling step).
  virtual AuthStep step(std::optional<std::string_view> response) = 0;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // Mechanisms to advertise to this client (e.g. {"PLAIN","LOGIN"} only on TLS/loopback).
  virtual std::vector<std::string> mechanisms(const ClientInfo& client) const = 0;
  // Whether plain-text logins (IMAP LOGIN, POP3 USER/PASS) are allowed for this client.
  virtual bool plaintext_allowed(const ClientInfo& client) const = 0;

  // Starts a SASL exchange; unknown mechanisms give an Exchange whose first step returns
  // bad_mechanism.
  virtual std::unique_ptr<Exchange> start(std::string_view mechanism, const ClientInfo& client) = 0;

  // Checks a login/password pair (IMAP LOGIN, POP3 USER/PASS). Same rules as PLAIN.
  virtual AuthStep check_plain(const std::string& login, const std::string& password,
                               const ClientInfo& client) = 0;

  // Clears the login lock-outs of an account (by immutable id) from every source; returns the
  // number of throttle entries cleared (0: it was not locked). Authenticators without a
  // throttle have nothing to clear.
  virtual size_t unlock(const std::string& /*account_id*/) { return 0; }
};

}  // namespace mailroom::auth
