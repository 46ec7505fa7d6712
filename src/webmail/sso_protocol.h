// The wire pieces of the web client's company sign-in (sso.h), pure functions without I/O so
// they can be table-tested and fuzzed: the authorization request URL (RFC 6749 4.1.1, RFC 7636
// 4.3, OpenID Connect Core 1.0 3.1.2.1), the callback's query string (RFC 6749 4.1.2 and
// 4.1.2.1, RFC 9207), the token response (RFC 6749 5.1/5.2), the ID Token's claims (OpenID
// Connect Core 1.0 3.1.3.7) and the RP-initiated logout URL (OpenID Connect RP-Initiated
// Logout 1.0 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::webmail {

struct AuthorizationRequest {
  std::string endpoint;  // the provider's authorization_endpoint (may carry a query already)
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;  // "openid" is added when missing
  std::string state;
  std::string nonce;
  std::string code_challenge;  // S256
};
std::string authorization_url(const AuthorizationRequest& r);

// The callback's parameters. Either `error` is set (the provider refused: RFC 6749 4.1.2.1),
// or `code` is; `state` always is.
struct CallbackParams {
  std::string code;
  std::string state;
  std::string error;
  std::string error_description;
  std::string iss;  // RFC 9207, when the provider sends it
};
// Limits of the callback parser: the whole query, one value, the number of parameters.
inline constexpr std::size_t kMaxCallbackQuery = 8192;
inline constexpr std::size_t kMaxCallbackValue = 4096;
inline constexpr std::size_t kMaxCallbackParams = 32;
// Parses the query string of /webmail/sso/callback (after '?', not decoded). nullopt, with
// `why` for the log, when it is too long, malformed (a bad percent escape, a control
// character in a value), names a parameter twice (RFC 6749 3.1), or lacks state, or both code
// and error. Unknown parameters (session_state, scope, ...) are ignored (RFC 6749 4.1.2).
std::optional<CallbackParams> parse_callback_query(std::string_view query, std::string* why);

// The token endpoint's answer: the ID Token, or the provider's error code.
struct TokenResponse {
  std::string id_token;
  std::string error;              // RFC 6749 5.2 ("invalid_client", "invalid_grant", ...)
  std::string error_description;  // for the log only
};
// nullopt when the body is not a JSON object.
std::optional<TokenResponse> parse_token_response(std::string_view body);

struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  std::string claim;  // the claim naming the account
  int64_t now = 0;    // seconds since the epoch
  int64_t skew = 60;
};
struct IdTokenClaims {
  std::string subject;  // sub
  std::string value;    // the naming claim's value
};
// OpenID Connect Core 3.1.3.7 on the (signature-checked) claims: iss is the issuer; aud is
// the client id or an array holding it (with several audiences azp must be present); azp, if
// present, is the client id; exp (required) not past; iat (required) not in the future; nbf
// not in the future; nonce equals the one sent; sub present; the naming claim a non-empty
// string (an email claim with email_verified = false is refused). nullopt with `why`.
std::optional<IdTokenClaims> check_id_token_claims(std::string_view claims_json,
                                                   const IdTokenExpectations& expect,
                                                   std::string* why);

std::string end_session_url(const std::string& endpoint, const std::string& id_token_hint,
                            const std::string& client_id,
                            const std::string& post_logout_redirect_uri);

}  // namespace mailroom::webmail
