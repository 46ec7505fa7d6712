#include "src/webmail/webmail.h"

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>

#include "auth/authenticator.h"
#include "auth/directory.h"
#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/webmail/exports.h"
#include "src/webmail/form.h"
#include "src/webmail/sessions.h"
#include "src/webmail/settings.h"
#include "src/webmail/static_files.h"

namespace mailroom::webmail {
namespace json = boost::json;

namespace {

constexpr const char* kCookie = "mailroom_session";
constexpr const char* kCsrfHeader = "x-mailroom-csrf";
constexpr std::size_t kMaxFormFields = 16;
constexpr std::size_t kMaxCredential = 1024;
constexpr int kMaxConcurrentExports = 2;  // batch saves and backups building at once (memory)

// The page's policy (every response of the client): its own scripts and styles only, frames
// only from itself (the reading pane's /webmail/frame), never framed.
constexpr const char* kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";
// The reading pane's document: no script at all (nor any other fetch), inline styles, data:
// images; `sandbox` makes it an opaque origin even if opened on its own.
constexpr const char* kFrameCsp =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'";
constexpr const char* kFrameCspImages =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:; "
    "base-uri 'none'; form-action 'none'";

}  // namespace

class Webmail {
 public:
  Webmail(core::Services& s, Options o)
      : services(s),
        options(std::move(o)),
        sessions(SessionLimits{options.session_idle, options.session_lifetime,
                               options.max_sessions_per_user, options.max_sessions}) {}
  core::Services& services;
  Options options;
  SessionStore sessions;
  std::atomic<int> exports{0};
  std::function<std::string(const std::string&)> logout_hook;  // sso.h; set before serving
};

namespace {

http::Response secure(http::Response r, const char* csp = kPageCsp) {
  r.set_header("Content-Security-Policy", csp);
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  if (csp == kPageCsp) r.set_header("X-Frame-Options", "DENY");
  return r;
}

http::Response problem(int status, std::string_view title, std::string_view detail) {
  auto r = http::Response::problem(status, title, detail);
  r.set_header("Cache-Control", "no-store");
  return secure(std::move(r));
}

// The authority of an Origin ("https://mail.example.com:8443" -> "mail.example.com:8443").
std::optional<std::string> origin_authority(std::string_view origin) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (origin.starts_with(scheme)) return core::ascii_lower(origin.substr(scheme.size()));
  }
  return std::nullopt;
}

// A request the page itself sent: Sec-Fetch-Site (Fetch Metadata) says same-origin, and an
// Origin names this host. At least one must be present (every browser that runs the client
// sends both on a POST). The scheme is not compared: behind a TLS proxy the listener sees
// http while the browser says https.
//
// A form posted into the sandboxed reading-pane frame is sent with "Origin: null" (the frame's
// opaque origin); the browser's own Sec-Fetch-Site still says same-origin, which a page of
// another site cannot make it say, so "null" counts as absent when Sec-Fetch-Site is present.
bool same_origin(const http::Request& req) {
  auto site = req.header("sec-fetch-site");
  auto origin = req.header("origin");
  if (origin && *origin == "null" && site) origin.reset();
  if (!site && !origin) return false;
  if (site && *site != "same-origin") return false;
  if (origin) {
    auto authority = origin_authority(*origin);
    auto host = req.header("host");
    if (!authority || !host || *authority != core::ascii_lower(*host)) return false;
  }
  return true;
}

std::string set_cookie(const std::string& value, bool clear) {
  // RFC 6265 4.1; SameSite (RFC 6265bis): the cookie never rides a cross-site request.
  std::string c =
      std::string(kCookie) + "=" + value + "; HttpOnly; Secure; SameSite=Strict; Path=/";
  if (clear) c += "; Max-Age=0";
  return c;
}

// `office_preview`: Office attachments have a Preview (src/preview): the client shows its button.
std::string session_json(const Session& s, bool office_preview) {
  json::object o;
  o["accountId"] = s.account_id;
  o["username"] = s.address.empty() ? s.login : s.address;
  o["csrf"] = s.csrf;
  o["officePreview"] = office_preview;
  return json::serialize(o);
}

struct Found {
  std::string token;
  std::optional<Session> session;
  http::Response refusal;
};

// The session of the request's cookie, re-checked against the directory every
// account_check seconds: a removed or disabled account ends it (as the account sweep closes
// IMAP sessions); a directory that cannot answer keeps it.
Found find_session(Webmail& w, const http::Request& req) {
  Found f;
  auto cookies = req.header("cookie");
  auto token = cookies ? cookie_value(*cookies, kCookie) : std::nullopt;
  if (token) f.token = *token;
  // A push stream's recheck (src/jmap/jmap.h Options::session_auth) must not keep an idle
  // web session alive: [webmail] session_idle counts the user's requests only.
  bool renew = !req.header("x-mailroom-recheck");
  f.session = f.token.empty() ? std::nullopt : w.sessions.find(f.token, renew);
  if (!f.session) {
    f.refusal = problem(401, "Unauthorized", "not signed in");
    return f;
  }
  if (f.session->last_checked + w.options.account_check <= f.session->last_used) {
    auto account = w.services.directory->find_account_by_id(f.session->account_id);
    bool gone = (!account && account.code() == core::Code::not_found) ||
                (account && account->status != auth::AccountStatus::active);
    if (gone) {
      w.sessions.remove_account(f.session->account_id);
      MR_LOG_INFO("event=session_revoked account={} reason=account_inactive protocol=webmail",
                  f.session->account_id);
      f.session.reset();
      f.refusal = problem(401, "Unauthorized", "not signed in");
      return f;
    }
    if (account) w.sessions.mark_checked(f.token);
  }
  return f;
}

// The CSRF checks of a cookie-authenticated request that changes state.
bool csrf_ok(const http::Request& req, const Session& s, const std::string& presented) {
  bool origin_ok = same_origin(req);
  bool token_ok = SessionStore::equal_constant_time(presented, s.csrf);
  if (!origin_ok || !token_ok) {
    MR_LOG_INFO(
        "event=webmail.csrf_refused session={} account={} path={} origin={} site={} token={}",
        req.session_id, s.account_id, core::quote(req.path),
        core::quote(req.header("origin").value_or("-").substr(0, 100)),
        core::quote(req.header("sec-fetch-site").value_or("-").substr(0, 30)),
        presented.empty() ? "missing" : (token_ok ? "ok" : "wrong"));
  }
  return origin_ok && token_ok;
}

http::Response login(Webmail& w, http::Request& req) {
  if (!same_origin(req)) return problem(403, "Forbidden", "cross-site sign-in refused");
  auto type = core::ascii_lower(req.header("content-type").value_or(""));
  type = type.substr(0, type.find(';'));
  std::string user, password;
  if (type == "application/json") {
    boost::system::error_code ec;
    auto v = json::parse(req.body, ec);
    auto* o = ec ? nullptr : v.if_object();
    auto* u = o ? o->if_contains("username") : nullptr;
    auto* p = o ? o->if_contains("password") : nullptr;
    if (!u || !p || !u->is_string() || !p->is_string()) {
      return problem(400, "Bad Request", "username and password are required");
    }
    user = std::string(u->as_string());
    password = std::string(p->as_string());
  } else if (type == "application/x-www-form-urlencoded") {
    auto fields = parse_form(req.body, kMaxFormFields);
    if (!fields) return problem(400, "Bad Request", "malformed form");
    for (auto& [k, v] : *fields) {
      if (k == "username") user = v;
      if (k == "password") password = v;
    }
  } else {
    return problem(415, "Unsupported Media Type", "send JSON or a form");
  }
  if (user.empty() || password.empty() || user.size() > kMaxCredential ||
      password.size() > kMaxCredential) {
    return problem(400, "Bad Request", "username and password are required");
  }
  auth::ClientInfo ci{req.session_id, "http", req.remote_ip, req.tls, req.loopback};
  auto step = w.services.authenticator->check_plain(user, password, ci);
  switch (step.outcome) {
    case auth::AuthOutcome::success:
      break;
    case auth::AuthOutcome::throttled: {
      auto r = problem(429, "Too Many Requests", "too many failed sign-ins; try again later");
      r.set_header("Retry-After", "60");
      return r;
    }
    case auth::AuthOutcome::unavailable: {
      auto r = problem(503, "Service Unavailable", "try again later");
      r.set_header("Retry-After", "30");
      return r;
    }
    case auth::AuthOutcome::encryption_required:
      return problem(403, "Forbidden", "use HTTPS to sign in");
    default:
      return problem(401, "Unauthorized", "wrong user name or password");
  }
  const auth::Principal& p = step.principal;
  // An app password signs in a mail app (its protocol limits were made for that), not the web
  // client, whose session outlives a revocation until the next account check.
  if (!p.app_password_id.empty()) {
    MR_LOG_INFO("event=webmail.login_refused session={} account={} reason=app_password",
                req.session_id, p.account_id);
    return problem(401, "Unauthorized", "sign in with your account password");
  }
  auto created = w.sessions.create(p.account_id, p.login, p.address);
  if (!created) {
    MR_LOG_WARN("event=webmail.sessions_full session={} max={}", req.session_id,
                w.options.max_sessions);
    auto r = problem(503, "Service Unavailable", "too many signed-in sessions; try again later");
    r.set_header("Retry-After", "60");
    return r;
  }
  MR_LOG_INFO("event=webmail.login session={} account={} sessions={}", req.session_id, p.account_id,
              w.sessions.size());
  auto r =
      http::Response::json(200, session_json(created->session, w.options.office_preview_ready));
  r.set_header("Set-Cookie", set_cookie(created->token, false));
  r.set_header("Cache-Control", "no-store");
  return secure(std::move(r));
}

http::Response session_info(Webmail& w, http::Request& req) {
  auto f = find_session(w, req);
  if (!f.session) return f.refusal;
  auto r = http::Response::json(200, session_json(*f.session, w.options.office_preview_ready));
  r.set_header("Cache-Control", "no-store");
  return secure(std::move(r));
}

http::Response logout(Webmail& w, http::Request& req) {
  auto f = find_session(w, req);
  if (!f.session) return f.refusal;
  if (!csrf_ok(req, *f.session, req.header(kCsrfHeader).value_or(""))) {
    return problem(403, "Forbidden", "missing or wrong CSRF token");
  }
  w.sessions.remove(f.token);
  MR_LOG_INFO("event=webmail.logout session={} account={}", req.session_id, f.session->account_id);
  http::Response r;
  r.status = 204;
  if (std::string end = w.logout_hook ? w.logout_hook(f.token) : ""; !end.empty()) {
    r = http::Response::json(200, json::serialize(json::object{{"endSession", end}}));
  }
  r.set_header("Set-Cookie", set_cookie("", true));
  r.set_header("Cache-Control", "no-store");
  return secure(std::move(r));
}

// The reading pane's document. The client sanitised the HTML (web/src/sanitize.ts); this
// response's CSP is the second wall: even unsanitised markup could run no script here.
http::Response frame(Webmail& w, http::Request& req) {
  auto f = find_session(w, req);
  if (!f.session) return f.refusal;
  auto fields = parse_form(req.body, kMaxFormFields);
  if (!fields) return problem(400, "Bad Request", "malformed form");
  std::string html, csrf;
  bool images = false;
  for (auto& [k, v] : *fields) {
    if (k == "html") html = std::move(v);
    if (k == "csrf") csrf = v;
    if (k == "images") images = v == "1";
  }
  if (!csrf_ok(req, *f.session, csrf)) {
    return problem(403, "Forbidden", "missing or wrong CSRF token");
  }
  http::Response r;
  r.status = 200;
  r.body = "<!DOCTYPE html><html><head></head><body>" + html + "</body></html>";
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  return secure(std::move(r), images ? kFrameCspImages : kFrameCsp);
}

// Batch save and folder backup (exports.h): a cookie session, the CSRF rules of any
// state-changing request (the header token and a same-origin request: a download is a POST so
// that another site cannot make the browser fetch it), a form body.
http::Response export_route(Webmail& w, http::Request& req, bool backup) {
  auto f = find_session(w, req);
  if (!f.session) return f.refusal;
  if (!csrf_ok(req, *f.session, req.header(kCsrfHeader).value_or(""))) {
    return problem(403, "Forbidden", "missing or wrong CSRF token");
  }
  auto fields = parse_form(req.body, kMaxFormFields);
  if (!fields) return problem(400, "Bad Request", "malformed form");
  std::string ids;
  for (auto& [k, v] : *fields) {
    if (k == (backup ? "mailboxId" : "ids")) ids = v;
  }
  ExportLimits limits{static_cast<std::size_t>(w.options.export_max_messages),
                      w.options.export_max_bytes};
  // Email ids are "M" + a 32-digit guid; a mailbox id one id of at most 64 characters.
  auto list = backup ? parse_id_list(ids, 'F', 1, 64)
                     : parse_id_list(ids, 'M', limits.max_messages + 1, 32);
  if (!list) {
    return problem(400, "Bad Request", backup ? "mailboxId: one Mailbox id" : "ids: Email ids");
  }
  if (!backup && list->size() > limits.max_messages) {
    return problem(413, "Content Too Large",
                   "at most " + std::to_string(limits.max_messages) + " messages");
  }
  if (w.exports.fetch_add(1) >= kMaxConcurrentExports) {
    w.exports.fetch_sub(1);
    auto r = problem(503, "Service Unavailable", "other downloads are being prepared; try again");
    r.set_header("Retry-After", "10");
    return r;
  }
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{w.exports};
  auto& store = *w.services.store;
  return secure(
      backup ? folder_backup(store, f.session->account_id, list->front(), limits, req.session_id)
             : batch_save(store, f.session->account_id, *list, limits, req.session_id));
}

// The settings screens' routes (settings.h): the session of the cookie, and for every method
// but GET the CSRF checks; the handler gets the session's account only.
using SettingsHandler = std::function<http::Response(const SettingsCaller&, http::Request&)>;
void add_settings_route(http::Router& router, std::shared_ptr<Webmail> w, const char* method,
                        const char* path, SettingsHandler handler) {
  router.add(method, path, [w, handler = std::move(handler)](http::Request& req) {
    auto f = find_session(*w, req);
    if (!f.session) return f.refusal;
    if (req.method != "GET" && !csrf_ok(req, *f.session, req.header(kCsrfHeader).value_or(""))) {
      return problem(403, "Forbidden", "missing or wrong CSRF token");
    }
    SettingsCaller caller{f.session->account_id, f.session->last_used - f.session->created,
                          req.session_id};
    return secure(handler(caller, req));
  });
}

void add_settings_routes(http::Router& router, const std::shared_ptr<Webmail>& w) {
  core::Services& s = w->services;
  const int64_t reauth = w->options.app_password_reauth;
  constexpr const char* kLists = "/webmail/api/personal-lists";
  add_settings_route(router, w, "GET", kLists, [&s](const SettingsCaller& c, http::Request&) {
    return personal_lists_show(s, c);
  });
  add_settings_route(router, w, "PATCH", kLists, [&s](const SettingsCaller& c, http::Request& r) {
    return personal_lists_options(s, c, r);
  });
  add_settings_route(
      router, w, "POST", "/webmail/api/personal-lists/{list}",
      [&s](const SettingsCaller& c, http::Request& r) { return personal_list_add(s, c, r); });
  add_settings_route(
      router, w, "DELETE", "/webmail/api/personal-lists/{list}/{entry}",
      [&s](const SettingsCaller& c, http::Request& r) { return personal_list_remove(s, c, r); });
  constexpr const char* kAppPasswords = "/webmail/api/app-passwords";
  add_settings_route(router, w, "GET", kAppPasswords,
                     [&s, reauth](const SettingsCaller& c, http::Request&) {
                       return app_passwords_list(s, c, reauth);
                     });
  add_settings_route(router, w, "POST", kAppPasswords,
                     [&s, reauth](const SettingsCaller& c, http::Request& r) {
                       return app_password_create(s, c, r, reauth);
                     });
  add_settings_route(
      router, w, "DELETE", "/webmail/api/app-passwords/{id}",
      [&s](const SettingsCaller& c, http::Request& r) { return app_password_revoke(s, c, r); });
}

}  // namespace

std::string default_root() {
#ifdef MAILROOM_WEBMAIL_ROOT
  return MAILROOM_WEBMAIL_ROOT;
#else
  return "";
#endif
}

Options parse_options(core::ConfigSection& s, const std::string& default_root_dir) {
  Options o;
  o.enabled = s.get_bool("enabled", true);
  o.root = s.get_string("root", default_root_dir);
  o.session_idle = s.get_seconds("session_idle", o.session_idle);
  o.session_lifetime = s.get_seconds("session_lifetime", o.session_lifetime);
  o.account_check = s.get_seconds("account_check", o.account_check);
  o.max_sessions_per_user = static_cast<uint64_t>(
      s.get_int("max_sessions_per_user", static_cast<int64_t>(o.max_sessions_per_user), 1, 1000));
  o.max_sessions = static_cast<uint64_t>(
      s.get_int("max_sessions", static_cast<int64_t>(o.max_sessions), 1, 10000000));
  o.export_max_messages = static_cast<uint64_t>(s.get_int(
      "export_max_messages", static_cast<int64_t>(o.export_max_messages), 1, 65535));  // no ZIP64
  o.export_max_bytes = s.get_size("export_max_bytes", o.export_max_bytes);
  if (o.export_max_bytes == 0 || o.export_max_bytes > (2048ull << 20)) {
    s.error("export_max_bytes", "must be between 1 and 2G (the file is built in memory)");
  }
  o.app_password_reauth = s.get_seconds("app_password_reauth", o.app_password_reauth);
  o.sso = parse_sso_options(s);
  o.office = preview::parse_options(s);
  if (o.session_idle <= 0) s.error("session_idle", "must be positive");
  if (o.session_lifetime <= 0) s.error("session_lifetime", "must be positive");
  if (o.app_password_reauth <= 0) s.error("app_password_reauth", "must be positive");
  if (o.account_check < 0) s.error("account_check", "must not be negative");
  s.finish();
  return o;
}

std::shared_ptr<Webmail> make_webmail(core::Services& services, Options options) {
  std::error_code ec;
  if (options.enabled && !std::filesystem::is_regular_file(options.root + "/index.html", ec)) {
    MR_LOG_WARN(
        "event=webmail.not_built root={} detail=\"no index.html: build the client (npm, "
        "web/README) or set [webmail] root\"",
        core::quote(options.root));
  }
  return std::make_shared<Webmail>(services, std::move(options));
}

void add_routes(http::Router& router, std::shared_ptr<Webmail> w) {
  if (!w->options.enabled) return;
  router.add("POST", "/webmail/login", [w](http::Request& r) { return login(*w, r); });
  router.add("POST", "/webmail/logout", [w](http::Request& r) { return logout(*w, r); });
  router.add("POST", "/webmail/frame", [w](http::Request& r) { return frame(*w, r); });
  router.add("POST", "/webmail/save", [w](http::Request& r) { return export_route(*w, r, false); });
  router.add("POST", "/webmail/backup",
             [w](http::Request& r) { return export_route(*w, r, true); });
  router.add("GET", "/webmail/session", [w](http::Request& r) { return session_info(*w, r); });
  add_settings_routes(router, w);  // before the files' catch-all below
  router.add("GET", "/webmail", [](http::Request&) {
    http::Response r;
    r.status = 301;
    r.set_header("Location", "/webmail/");
    return secure(std::move(r));
  });
  router.add("GET", "/webmail/", [w](http::Request& r) {
    return secure(
        serve_file(w->options.root, "index.html", r.header("accept-encoding").value_or("")));
  });
  router.add("GET", "/webmail/{path...}", [w](http::Request& r) {
    std::string rel = r.params.empty() ? "" : r.params.back();
    return secure(serve_file(w->options.root, rel, r.header("accept-encoding").value_or("")));
  });
}

bool authenticate_cookie(Webmail& w, const http::Request& req, auth::Principal& principal,
                         http::Response& refusal) {
  auto cookies = req.header("cookie");
  if (!w.options.enabled || !cookies || !cookie_value(*cookies, kCookie)) return false;
  auto f = find_session(w, req);
  if (!f.session) {
    refusal = f.refusal;
    return true;
  }
  if (req.method != "GET" && req.method != "HEAD" &&
      !csrf_ok(req, *f.session, req.header(kCsrfHeader).value_or(""))) {
    refusal = problem(403, "Forbidden", "missing or wrong CSRF token");
    return true;
  }
  principal.account_id = f.session->account_id;
  principal.login = f.session->login;
  principal.address = f.session->address;
  return true;
}

std::optional<NewSession> create_session(Webmail& w, const auth::Principal& p) {
  auto created = w.sessions.create(p.account_id, p.login, p.address);
  if (!created) return std::nullopt;
  return NewSession{created->token, set_cookie(created->token, false)};
}

void set_logout_hook(Webmail& w, std::function<std::string(const std::string&)> hook) {
  w.logout_hook = std::move(hook);
}

std::size_t close_account(Webmail& w, const std::string& account_id) {
  return w.sessions.remove_account(account_id);
}

}  // namespace mailroom::webmail
