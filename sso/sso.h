// Single sign-on: bearer tokens from the company's identity provider (OAuth 2.0 / OpenID
// Connect) checked locally, for SASL OAUTHBEARER (RFC 7628) and XOAUTH2 on IMAP, POP3 and SMTP
// submission (auth/sasl/bearer_server.h asks through auth::TokenVerifier).
//
// - JWT access tokens (RFC 7519, RFC 9068) are verified with the issuer's keys: found by OIDC
//   discovery (`<issuer>/.well-known/openid-configuration`, jwks_uri) or configured, fetched
//   from the JWKS (RFC 7517), cached, refreshed on schedule by a background thread (never on
//   the login's path) and at once on an unknown `kid` (at most once per
//   unknown_key_interval per issuer). RS256/384/512, PS256/384/512, ES256/384, EdDSA
//   (Ed25519). `alg: none` and HMAC algorithms are never accepted, and a key is used only with
//   the algorithm family of its type (no algorithm confusion). `iss` selects the issuer
//   configuration; `exp` is required; `nbf`/`iat` with clock_skew; `aud` must name one of the
//   issuer's audiences; the issuer's required scope (`scope` or `scp`) must be granted.
// - Opaque tokens go to the issuer's introspection endpoint (RFC 7662) with the configured
//   client credentials; answers are cached for the token's lifetime (at most
//   introspection_cache_max), refusals for a short time.
// - The account is named by a configured claim (email, preferred_username, upn, sub, ...),
//   matched as a login/address or as the account's immutable directory id; auth/ resolves it.
// - When the provider cannot be reached, cached keys keep working; with no usable key the
//   answer is "unavailable" (a temporary failure), never "wrong password".
//
// Config ([sso], defaults in brackets):
//   clock_skew = "60s"              tolerance on exp/nbf/iat [60 s]
//   max_token_bytes = 16384         longer tokens are refused unread [16384]
//   refresh_interval = "1h"         scheduled JWKS/discovery refresh [3600 s]
//   unknown_key_interval = "30s"    at most one fetch per issuer for an unknown kid [30 s]
//   fetch_timeout = "5s"            per HTTP request to the provider [5 s]
//   tls_ca_file = ""                CA bundle for the provider's HTTPS ["" = system store]
//   allow_http = false              accept http:// provider URLs (loopback test providers) [false]
//   introspection_cache = 10000     cached introspection answers [10000]
//   [[sso.issuer]]                  one per trusted provider (several may be trusted)
//   issuer = "https://idp.example.com/realms/corp"   the exact `iss` (required)
//   audiences = ["mail"]            accepted `aud` values (required; "*" accepts any, unwise)
//   required_scope = "mail"         scope the token must carry ["" = none]
//   claim = "email"                 claim naming the account ["email"]
//   match = "login"                 "login" (login or address, as a password login) or "id"
//                                   (the account's immutable directory id) ["login"]
//   discovery_url = ""              [issuer + "/.well-known/openid-configuration"]
//   jwks_uri = ""                   skip discovery for the keys ["" = from discovery]
//   introspection_endpoint = ""     RFC 7662 endpoint ["" = from discovery, if any]
//   client_id = "", client_secret = ""   credentials for introspection
//   client_secret_file = ""         the secret read from a file (mode 0600) instead
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/token_verifier.h"
#include "src/core/status.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::sso {

struct IssuerOptions {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string required_scope;
  std::string claim = "email";
  auth::TokenMatch match = auth::TokenMatch::login;
  std::string discovery_url;
  std::string jwks_uri;
  std::string introspection_endpoint;
  std::string client_id;
  std::string client_secret;
};

struct Options {
  std::vector<IssuerOptions> issuers;  // empty: SSO is off
  int64_t clock_skew = 60;
  size_t max_token_bytes = 16384;
  int64_t refresh_interval = 3600;
  int64_t unknown_key_interval = 30;
  int64_t fetch_timeout = 5;
  std::string tls_ca_file;
  bool allow_http = false;
  size_t introspection_cache = 10000;
  int64_t introspection_cache_max = 3600;  // seconds an "active" answer is kept at most
  int64_t introspection_negative = 30;     // seconds an "inactive" answer is kept
  // Not from the config file: unit tests turn the refresher thread off and call refresh_now().
  bool background_refresh = true;
};

// Reads [sso] (and its [[sso.issuer]] tables) and calls section.finish().
Options parse_options(core::ConfigSection& section);

// One HTTP exchange with the identity provider (discovery, JWKS, introspection).
struct HttpRequest {
  std::string method = "GET";  // or "POST"
  std::string url;
  std::string body;                    // POST: application/x-www-form-urlencoded
  std::string basic_user, basic_pass;  // HTTP Basic client authentication when set
};
struct HttpResponse {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
};
// Blocking; runs on the caller's thread (the refresher or a worker, never an I/O thread).
using HttpFetch = std::function<HttpResponse(const HttpRequest&)>;

// The real client: http:// (only with allow_http) and https:// verified against tls_ca_file
// or the system store, fetch_timeout per request, at most 1 MiB of body, no redirects.
HttpFetch make_http_fetch(const Options& options);

class TokenService : public auth::TokenVerifier {
 public:
  // Starts the background refresher (the first discovery and JWKS fetch happen there, so a
  // provider that is down does not delay the server's start). `fetch` replaces the HTTP
  // client (unit tests). Fails on an unusable configuration (a CA file that cannot be read).
  static core::Result<std::shared_ptr<TokenService>> start(Options options, HttpFetch fetch = {});
  ~TokenService() override;

  auth::TokenCheck verify(std::string_view token) override;
  std::string required_scope() const override;
  std::string openid_configuration() const override;

  // The web client's sign-in (src/webmail/sso.h): a JWT (an OpenID Connect ID Token) whose
  // signature is checked exactly as verify() checks an access token's (a trusted issuer's
  // keys, no `none`/HMAC, no algorithm confusion, an unknown kid fetched at once) and whose
  // claims are returned as JSON text for the caller's own checks (aud = its client id, nonce,
  // azp, exp/iat: OpenID Connect Core 3.1.3.7); the issuer's audiences and scope are not
  // applied. Blocks like verify().
  struct SignedToken {
    auth::TokenCheck check;   // valid: the signature holds (identity is not filled)
    std::string issuer;       // the issuer configuration that verified it
    std::string claims_json;  // the payload (a JSON object)
  };
  SignedToken verify_signature_of(std::string_view jwt);
  // The endpoints discovery named for `issuer` (OpenID Connect Discovery 1.0 3); empty
  // strings until a discovery document was read (fetched now, blocking, when none was yet).
  struct Endpoints {
    std::string authorization;
    std::string token;
    std::string end_session;  // RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)
  };
  Endpoints endpoints(std::string_view issuer);

  // Fetches discovery and keys of every issuer now (tests, and `mailroomctl` diagnostics);
  // returns what failed, one line per issuer, or "" when all succeeded.
  std::string refresh_now();
  // Stops the refresher thread; verify() keeps working with what is cached.
  void stop();

  struct Impl;

 private:
  explicit TokenService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::sso
