// The web client's company sign-in (issue 19): OpenID Connect authorization code flow with
// PKCE (RFC 6749 4.1, RFC 7636 S256, OpenID Connect Core 1.0 3.1) as a confidential client,
// ending in the same web session as a password sign-in (webmail.h).
//
//   GET /webmail/sso                    {"providers":[{"id","name"}]} for the sign-in page
//   GET /webmail/sso/start?provider=ID  303 to the provider's authorization endpoint with
//                                       state, nonce and an S256 code challenge; sets the
//                                       pre-session cookie mailroom_sso (HttpOnly, Secure,
//                                       SameSite=Lax: it must ride the provider's redirect
//                                       back; Path=/webmail/sso; Max-Age login_timeout)
//   GET /webmail/sso/callback?code=&state=  (or error=) checks the state against the cookie
//                                       (single use, expiring: sso_pending.h), exchanges the
//                                       code at the token endpoint (client_secret_basic, the
//                                       code verifier), verifies the ID Token (signature by the
//                                       issuer's keys through sso::TokenService; iss, aud,
//                                       azp, exp, iat, nonce: sso_protocol.h), maps its claim
//                                       to an active account whose policy allows the "sso"
//                                       login method, and answers 303 to /webmail/ with the
//                                       session cookie. Any failure: 303 to
//                                       /webmail/?sso_error=<code> (the sign-in page shows
//                                       the message), never a 5xx, and one audit line
//                                       (event=webmail.sso_refused, with the reason).
// Sign-out (POST /webmail/logout) of a session started here answers {"endSession": url}
// when the provider has an end_session_endpoint (RP-initiated logout), so the browser ends
// the provider's session too.
//
// Error codes for the page: request (a malformed callback), denied (the provider said
// access_denied), provider (another provider error), state (unknown, used, or another
// browser's state), expired, token (the code exchange or the ID Token was refused),
// unavailable (the provider or the directory cannot be reached), no_account, disabled,
// not_allowed (the account's policy forbids SSO), busy (too many sessions).
//
// Threading: routes run on the worker pool (the token request blocks, bounded by [sso]
// fetch_timeout). State: sign-ins in flight and the ID Tokens kept for the logout hint live in
// this process's memory (single-node shortcuts, like the web sessions).
// Layers: uses src/http, src/core, auth (resolver, policies) and sso (TokenService, HttpFetch).
#pragma once

#include <memory>
#include <vector>

#include "src/core/status.h"
#include "src/http/http.h"
#include "src/webmail/sso_options.h"
#include "sso/sso.h"

namespace mailroom::core {
struct Services;
}

namespace mailroom::webmail {

class Webmail;
class SsoLogin;

// Checks the providers against [sso] (URLs https:// unless allow_http; claim and match
// inherited from the [[sso.issuer]] of the same issuer) and starts one sso::TokenService for
// their issuers (keys and discovery refreshed in the background). `fetch` replaces the HTTP
// client (unit tests: a fake provider). An error names the provider and the key.
core::Result<std::shared_ptr<SsoLogin>> make_sso_login(core::Services& services,
                                                       std::shared_ptr<Webmail> webmail,
                                                       std::vector<SsoProviderOptions> providers,
                                                       const sso::Options& sso_options,
                                                       sso::HttpFetch fetch = {});
// Adds the three routes; call before webmail::add_routes (its /webmail/{path...} would match).
void add_sso_routes(http::Router& router, std::shared_ptr<SsoLogin> login);

}  // namespace mailroom::webmail
