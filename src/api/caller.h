// The caller authenticator of mailroomd's HTTP front ends (api::CallerAuthenticator,
// context.h): `Authorization: Bearer <token>` (RFC 6750 2.1) to a service::Caller.
//
//   mrt_...        a Mailroom API token (service::ApiTokenStore): the caller is
//                  "token:<name>" with the token's own grants.
//   anything else  with [sso], a token of the company's identity provider, checked by the
//                  verifier OAUTHBEARER uses (auth::TokenVerifier) and mapped to an account as
//                  an OAUTHBEARER login maps it (claim value as a login, or as the immutable
//                  id); the caller is the account's address with its role grants, direct or
//                  through directory groups (service::RoleGrants::caller_for_account).
//
// Answers (the response is in AuthResult):
//   401 + WWW-Authenticate: Bearer realm="mailroom"    no Authorization, another scheme, or
//                                                       a value that is not one b64token
//   401 + ... error="invalid_token" (RFC 6750 3.1)      unknown, wrong, expired or revoked
//                                                       token, or no account for it; which
//                                                       one is logged, never said
//   403 "no administrative role"                        a valid identity-provider token for an
//                                                       account without a role (or disabled)
//   429 + Retry-After                                   the client IP failed too often
//   503 + Retry-After                                   identity provider, directory or
//                                                       admin.db cannot answer now
// Failures (malformed, invalid, no account) count per client IP (auth::Throttle, the
// login throttle's own mechanism); past `max_failures_per_ip` within the window the IP gets
// 429 for `lockout_seconds`, even with a good token, so the API is no token-guessing oracle.
// A missing header does not count (a browser's first request has none).
//
// Log: event=api.auth_failed ip= reason= (the token's public id for API tokens; never a
// secret) and event=api.auth_throttled.
//
// Threading: thread-safe; authenticate() blocks (SQLite, directory, identity provider): call
// it from the worker pool (HTTP handlers run there).
#pragma once

#include <cstdint>
#include <memory>

#include "src/api/context.h"
#include "src/core/clock.h"

namespace mailroom::auth {
class Resolver;
class TokenVerifier;
}  // namespace mailroom::auth
namespace mailroom::service {
class ApiTokenStore;
class RoleGrants;
struct AdminAccess;
}  // namespace mailroom::service

namespace mailroom::api {

struct CallerAuthOptions {
  int max_failures_per_ip = 10;
  int64_t failure_window_seconds = 300;
  int64_t lockout_seconds = 900;
  size_t max_token_bytes = 16384;  // a longer Authorization value is malformed, unread
  std::string realm = "mailroom";
};

// `idp` may be null (no [sso]: only API tokens are accepted). Every object must outlive the
// authenticator's use; `clock` too.
std::shared_ptr<CallerAuthenticator> make_caller_authenticator(
    std::shared_ptr<service::ApiTokenStore> tokens, std::shared_ptr<service::RoleGrants> grants,
    std::shared_ptr<auth::Resolver> resolver, std::shared_ptr<auth::TokenVerifier> idp,
    CallerAuthOptions options = {}, const core::Clock& clock = core::real_clock());

// The same from what mailroomd has: services.resolver, services.token_verifier, and admin.db
// opened with service::open_admin_access(services.data_dir, services.resolver).
std::shared_ptr<CallerAuthenticator> make_caller_authenticator(const core::Services& services,
                                                               const service::AdminAccess& admin,
                                                               CallerAuthOptions options = {});

}  // namespace mailroom::api
