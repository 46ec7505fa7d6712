// What the SASL bearer-token mechanisms (OAUTHBEARER, RFC 7628; XOAUTH2) ask of single
// sign-on: is this access token valid, and which account does it name? The answer comes from
// sso/ (OIDC discovery, JWKS, token introspection); auth/ only maps the named identity to an
// account through the Resolver, so a valid token for a disabled or unknown account is refused
// like any other login.
//
// Threading: verify() may block (a key refresh, an introspection request, each bounded by the
// verifier's timeouts); call it from the worker pool, never from an I/O thread. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::auth {

enum class TokenVerdict {
  valid,        // identity is set
  invalid,      // expired, wrong issuer/audience/signature/scope, unknown, malformed
  unavailable,  // could not be checked now (identity provider unreachable, no usable key)
};

// How TokenIdentity::value names an account.
enum class TokenMatch {
  login,  // a login or address, resolved like a password login (Resolver::find_login)
  id,     // the account's immutable directory id (auth::Account::id)
};

struct TokenIdentity {
  std::string issuer;  // `iss` of the token (for the log)
  std::string claim;   // which claim named the account ("email", "preferred_username", ...)
  std::string value;   // the claim's value
  TokenMatch match = TokenMatch::login;
  // The token's `exp` (RFC 7519 4.1.4), seconds since the epoch; 0 when it has none (an
  // introspected token without exp). A session that keeps the token beyond it (a push
  // stream) ends then.
  int64_t expires_at = 0;
};

struct TokenCheck {
  TokenVerdict verdict = TokenVerdict::invalid;
  TokenIdentity identity;  // when valid
  std::string reason;      // for the log: why it is invalid or unavailable (never the token)
  // RFC 7628 3.2.2 error fields for the client: "invalid_token", "insufficient_scope", ...
  std::string status = "invalid_token";
};

class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  virtual TokenCheck verify(std::string_view token) = 0;
  // RFC 7628 3.2.2: the scope a token needs and where a client finds the provider (the
  // openid-configuration URL of the first trusted issuer), for the error a client reads to
  // refresh its token. Empty strings are left out of the error.
  virtual std::string required_scope() const = 0;
  virtual std::string openid_configuration() const = 0;
};

}  // namespace mailroom::auth
