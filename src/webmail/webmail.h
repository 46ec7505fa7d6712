// The web client's server side (issue 19): its files, password sign-in with cookie sessions,
// CSRF checks, and the reading pane's frame. Mounted on the router of the [[listener]]
// protocol = "http" listeners next to JMAP (src/server/daemon.cpp); the client itself talks
// JMAP only (src/jmap), which accepts the session cookie through authenticate_cookie().
//
//   GET  /webmail/             index.html (no-cache); /webmail/assets/* hashed, cached a year
//   POST /webmail/login        {"username","password"} (JSON or a form): Set-Cookie + the CSRF
//                              token; the password goes through services.authenticator as IMAP
//                              LOGIN's does (protocol "http": policies, throttle, audit)
//   GET  /webmail/session      the signed-in account and its CSRF token, or 401
//   POST /webmail/logout       ends the session (CSRF token required)
//   POST /webmail/save         batch save: a ZIP of .eml files (exports.h)
//   POST /webmail/backup       folder backup: one mbox (exports.h)
//   /webmail/api/...          the settings screens: the user's own block/allow lists and app
//                              passwords (settings.h)
//   POST /webmail/frame        a form post of the client's sanitised HTML of one message
//                              (fields html, images, csrf), echoed back as a document with its
//                              own CSP (no script, inline styles, data: images; http(s) images
//                              only with images=1) for the sandboxed reading-pane iframe
//
// Every response carries a strict CSP, nosniff and Referrer-Policy: no-referrer.
// A cookie-authenticated request that changes state (every method but GET/HEAD) needs the
// session's token in X-Mailroom-CSRF (a form field csrf for /webmail/frame) and a same-origin
// Origin or Sec-Fetch-Site; GET never changes state.
//
// Layers: uses src/http, src/core, auth (the authenticator, the directory), src/store
// (batch save and folder backup read messages) and src/service (the settings screens' lists
// and app passwords, the operations mailroomctl and the admin API call); JMAP calls in
// through the function below, so webmail does not depend on src/jmap.
// Threading: every route runs on the worker pool (it may block on the directory).
// State: sessions in this process's memory (sessions.h: a single-node shortcut).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/http/http.h"
#include "src/preview/options.h"
#include "src/webmail/sso_options.h"

namespace mailroom::core {
class ConfigSection;
struct Services;
}  // namespace mailroom::core
namespace mailroom::auth {
struct Principal;
}

namespace mailroom::webmail {

// [webmail]
struct Options {
  bool enabled = true;
  std::string root;                      // the built client (web/build.mjs's output directory)
  int64_t session_idle = 30 * 60;        // seconds without a request before a session ends
  int64_t session_lifetime = 12 * 3600;  // seconds after sign-in before it ends regardless
  int64_t account_check = 30;  // seconds between directory checks that the account is active
  uint64_t max_sessions_per_user = 20;
  uint64_t max_sessions = 10000;
  uint64_t export_max_messages = 1000;     // batch save: messages in one ZIP
  uint64_t export_max_bytes = 100u << 20;  // batch save / folder backup: stored bytes in one file
  int64_t app_password_reauth = 10 * 60;   // creating an app password: signed in this recently
  std::vector<SsoProviderOptions> sso;     // [[webmail.sso]]: company sign-in (sso.h)
  preview::Options office;                 // office_*: Office documents as PDF (src/preview)
  // Set by mailroomd when the Office preview runs (on, and its tools installed): GET
  // /webmail/session then says "officePreview": true and the client shows its button.
  bool office_preview_ready = false;
};
// `default_root`: the build's output directory (the CMake build passes its own).
Options parse_options(core::ConfigSection& section, const std::string& default_root);
// Where this build writes the client (CMake: <build>/webmail).
std::string default_root();

class Webmail;

// `services` must outlive the result.
std::shared_ptr<Webmail> make_webmail(core::Services& services, Options options);
void add_routes(http::Router& router, std::shared_ptr<Webmail> webmail);

// The JMAP hook (src/jmap/jmap.h Options::session_auth) for a request without an
// Authorization header: false when it carries no session cookie (the caller answers as
// usual). True otherwise, with `principal` filled (account_id non-empty) for a live session of
// an active account whose state-changing request passed the CSRF checks, or `refusal` set
// (401 for an unknown or ended session, 403 for a CSRF failure). Blocks (directory).
bool authenticate_cookie(Webmail& webmail, const http::Request& request, auth::Principal& principal,
                         http::Response& refusal);

// For the company sign-in (sso.h), which checked the account itself: a new web session of
// `principal` — the session token and its Set-Cookie value; nullopt when the table is full.
struct NewSession {
  std::string token;
  std::string set_cookie;
};
std::optional<NewSession> create_session(Webmail& webmail, const auth::Principal& principal);
// At sign-out, `hook(session token)` may name where the browser goes next (the identity
// provider's end-session URL): POST /webmail/logout then answers 200 {"endSession": url}
// instead of 204.
void set_logout_hook(Webmail& webmail, std::function<std::string(const std::string&)> hook);

// Ends every web session of the account (the admin API's "close sessions"); returns how many.
std::size_t close_account(Webmail& webmail, const std::string& account_id);

}  // namespace mailroom::webmail
