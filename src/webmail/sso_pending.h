// The sign-ins in flight of the web client's company sign-in (sso.h): what /webmail/sso/start
// sent to the identity provider, kept here until /webmail/sso/callback comes back.
//
// Each sign-in has a `state` (RFC 6749 10.12: binds the answer to this browser), a `nonce`
// (OpenID Connect Core 3.1.2.1: binds the ID Token to this request) and a PKCE code verifier
// (RFC 7636 4.1; the challenge sent is S256, 4.2), 256 random bits each. The state is bound to
// a short-lived pre-session cookie (a random token of its own, kept as its SHA-256): a callback
// is accepted only from the browser that started it. take() removes the entry whatever the
// outcome, so a state is good once; entries expire after their provider's login_timeout.
//
// Bounded: at most `max_pending` entries; when full, expired ones go first, then the oldest
// (a flood of /start requests can only push out other floods' entries and the oldest
// sign-ins, never grow memory).
//
// State: this process's memory (a single-node shortcut: with several nodes the callback must
// reach the node that started the sign-in, or this table belongs in MariaDB).
// Threading: thread-safe (one mutex, no I/O under it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace mailroom::webmail {

struct PendingLogin {
  std::size_t provider = 0;  // index into the configured providers
  std::string nonce;
  std::string code_verifier;
  std::string redirect_uri;  // sent at /start; the token request repeats it (RFC 6749 4.1.3)
  std::string browser;       // SHA-256 (hex) of the pre-session cookie
  int64_t created = 0;
  int64_t lifetime = 600;  // seconds (the provider's login_timeout)
};

// RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))).
std::string pkce_challenge_s256(const std::string& verifier);
// `bytes` random bytes, base64url without padding (state, nonce, code verifier: RFC 7636 4.1
// asks for 43-128 characters of [A-Za-z0-9-._~]; 32 bytes give 43).
std::string random_token(std::size_t bytes = 32);
std::string sha256_hex(const std::string& s);

class PendingLogins {
 public:
  // `now`: seconds on a monotonic clock (tests pass a fake one).
  explicit PendingLogins(std::size_t max_pending, std::function<int64_t()> now = {});

  struct Started {
    std::string state;
    std::string nonce;
    std::string code_challenge;  // S256 of the verifier
  };
  // A new sign-in for the browser whose pre-session cookie is `browser_cookie`.
  Started start(std::size_t provider, const std::string& browser_cookie,
                const std::string& redirect_uri, int64_t lifetime_seconds);

  enum class Refusal { none, unknown, other_browser, expired };
  // The sign-in of `state`, removed (single use). Refused when the state is unknown (never
  // issued, already used, or pushed out), was started by another browser (the cookie
  // differs), or is older than the lifetime.
  std::optional<PendingLogin> take(const std::string& state, const std::string& browser_cookie,
                                   Refusal* why);
  std::size_t size() const;

 private:
  std::size_t max_;
  std::function<int64_t()> now_;
  mutable std::mutex mu_;
  std::map<std::string, PendingLogin> by_state_;  // SHA-256 (hex) of the state -> sign-in
};

}  // namespace mailroom::webmail
