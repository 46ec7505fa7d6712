// The routes through the real router: sign-in (JSON and form), the cookie's attributes,
// the session endpoint, sign-out, CSRF refusals, the reading-pane frame, security headers on
// every answer, and the JMAP hook (authenticate_cookie).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/authenticator.h"
#include "src/core/config_section.h"
#include "src/core/services.h"
#include "src/webmail/settings.h"
#include "src/webmail/webmail.h"
#include "tests/fakes/fake_authenticator.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::webmail {
namespace {
namespace json = boost::json;

constexpr const char* kHost = "mail.example.com";

class WebmailRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-webr-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/assets");
    std::ofstream(dir_ + "/index.html") << "<!DOCTYPE html>";
    auto a = std::make_shared<mailroom::testing::FakeAuthenticator>();
    auth_ = a.get();
    services_.authenticator = a;
    directory_ = std::make_shared<mailroom::testing::FakeDirectory>();
    directory_->add_domain("example.com");
    directory_->add_account("alice@example.com", "wonderland", "id-alice");
    services_.directory = directory_;
    Options o;
    o.root = dir_;
    o.account_check = 0;  // every request asks the directory
    web_ = make_webmail(services_, o);
    add_routes(router_, web_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  http::Request request(const std::string& method, const std::string& path, std::string body = "",
                        std::string content_type = "") {
    http::Request r;
    r.method = method;
    r.target = r.path = path;
    r.body = std::move(body);
    r.remote_ip = "192.0.2.10";
    r.tls = true;
    r.headers.emplace_back("host", kHost);
    if (!content_type.empty()) r.headers.emplace_back("content-type", content_type);
    return r;
  }
  // What the page itself sends on a POST.
  static void same_origin(http::Request& r) {
    r.headers.emplace_back("origin", std::string("https://") + kHost);
    r.headers.emplace_back("sec-fetch-site", "same-origin");
  }
  http::Response send(http::Request& r) {
    auto m = router_.match(r.method, r.path);
    if (!m.route) return http::Response::problem(m.allow.empty() ? 404 : 405, "no route", "");
    r.params = m.params;
    return m.route->handler(r);
  }
  // Signs alice in; returns the cookie value and the CSRF token.
  std::pair<std::string, std::string> sign_in() {
    auto r = request("POST", "/webmail/login", R"({"username":"alice","password":"wonderland"})",
                     "application/json");
    same_origin(r);
    auto res = send(r);
    EXPECT_EQ(res.status, 200) << res.body;
    auto cookie = res.header("Set-Cookie").value_or("");
    auto eq = cookie.find('=');
    auto semi = cookie.find(';');
    std::string token = cookie.substr(eq + 1, semi - eq - 1);
    return {token, std::string(json::parse(res.body).at("csrf").as_string())};
  }
  static void with_cookie(http::Request& r, const std::string& token) {
    r.headers.emplace_back("cookie", "theme=dark; mailroom_session=" + token);
  }
  static void expect_secure_headers(const http::Response& r) {
    auto csp = r.header("Content-Security-Policy").value_or("");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors"), std::string::npos) << csp;
    EXPECT_EQ(r.header("X-Content-Type-Options").value_or(""), "nosniff");
    EXPECT_EQ(r.header("Referrer-Policy").value_or(""), "no-referrer");
  }

  std::string dir_;
  core::Services services_;
  mailroom::testing::FakeAuthenticator* auth_ = nullptr;
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_;
  std::shared_ptr<Webmail> web_;
  http::Router router_;
};

TEST_F(WebmailRoutesTest, SignInSetsAStrictCookieAndAnswersTheCsrfToken) {
  auto r = request("POST", "/webmail/login", R"({"username":"alice","password":"wonderland"})",
                   "application/json");
  same_origin(r);
  auto res = send(r);
  ASSERT_EQ(res.status, 200) << res.body;
  expect_secure_headers(res);
  auto cookie = res.header("Set-Cookie").value_or("");
  EXPECT_TRUE(cookie.starts_with("mailroom_session=")) << cookie;
  EXPECT_EQ(cookie.find(';'), std::string("mailroom_session=").size() + 64) << cookie;
  for (const char* attr : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Path=/"}) {
    EXPECT_NE(cookie.find(attr), std::string::npos) << attr;
  }
  EXPECT_EQ(cookie.find("Domain"), std::string::npos);
  auto body = json::parse(res.body).as_object();
  EXPECT_EQ(body.at("accountId").as_string(), "id-alice");
  EXPECT_EQ(body.at("csrf").as_string().size(), 64u);
  EXPECT_EQ(res.header("Cache-Control").value_or(""), "no-store");

  // The form variant.
  auto f = request("POST", "/webmail/login", "username=alice&password=wonderland",
                   "application/x-www-form-urlencoded");
  same_origin(f);
  EXPECT_EQ(send(f).status, 200);
}

TEST_F(WebmailRoutesTest, SignInRefusals) {
  auto wrong = request("POST", "/webmail/login", R"({"username":"alice","password":"nope"})",
                       "application/json");
  same_origin(wrong);
  auto res = send(wrong);
  EXPECT_EQ(res.status, 401);
  EXPECT_FALSE(res.header("Set-Cookie"));
  EXPECT_FALSE(res.header("WWW-Authenticate"));  // no browser password dialog
  expect_secure_headers(res);
  // Cross-site (login CSRF) and no origin facts at all.
  auto cross = request("POST", "/webmail/login", R"({"username":"alice","password":"wonderland"})",
                       "application/json");
  cross.headers.emplace_back("origin", "https://evil.example");
  cross.headers.emplace_back("sec-fetch-site", "cross-site");
  EXPECT_EQ(send(cross).status, 403);
  auto bare = request("POST", "/webmail/login", R"({"username":"alice","password":"wonderland"})",
                      "application/json");
  EXPECT_EQ(send(bare).status, 403);
  auto site_only = request("POST", "/webmail/login",
                           R"({"username":"alice","password":"wonderland"})", "application/json");
  site_only.headers.emplace_back("sec-fetch-site", "same-site");
  EXPECT_EQ(send(site_only).status, 403);
  for (const char* body :
       {"{", "[]", R"({"username":"alice"})", R"({"username":1,"password":"x"})"}) {
    auto bad = request("POST", "/webmail/login", body, "application/json");
    same_origin(bad);
    EXPECT_EQ(send(bad).status, 400) << body;
  }
  auto badform =
      request("POST", "/webmail/login", "username=%zz", "application/x-www-form-urlencoded");
  same_origin(badform);
  EXPECT_EQ(send(badform).status, 400);
  auto text = request("POST", "/webmail/login", "alice wonderland", "text/plain");
  same_origin(text);
  EXPECT_EQ(send(text).status, 415);
  // The authenticator's other answers.
  auth_->forced = auth::AuthOutcome::throttled;
  auto t = request("POST", "/webmail/login", R"({"username":"alice","password":"wonderland"})",
                   "application/json");
  same_origin(t);
  res = send(t);
  EXPECT_EQ(res.status, 429);
  EXPECT_TRUE(res.header("Retry-After"));
  auth_->forced = auth::AuthOutcome::unavailable;
  EXPECT_EQ(send(t).status, 503);
  auth_->forced = auth::AuthOutcome::encryption_required;
  EXPECT_EQ(send(t).status, 403);
}

TEST_F(WebmailRoutesTest, SessionEndpointAndSignOut) {
  auto [token, csrf] = sign_in();
  auto s = request("GET", "/webmail/session");
  EXPECT_EQ(send(s).status, 401);
  with_cookie(s, token);
  auto res = send(s);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body).at("csrf").as_string(), csrf);

  // Sign-out needs the token and the origin.
  auto out = request("POST", "/webmail/logout");
  with_cookie(out, token);
  same_origin(out);
  EXPECT_EQ(send(out).status, 403);
  out.headers.emplace_back("x-mailroom-csrf", "0" + csrf.substr(1));
  EXPECT_EQ(send(out).status, 403);
  auto ok = request("POST", "/webmail/logout");
  with_cookie(ok, token);
  ok.headers.emplace_back("x-mailroom-csrf", csrf);
  EXPECT_EQ(send(ok).status, 403);  // right token, but no Origin / Sec-Fetch-Site
  same_origin(ok);
  res = send(ok);
  EXPECT_EQ(res.status, 204);
  EXPECT_NE(res.header("Set-Cookie").value_or("").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(send(s).status, 401);  // the session is gone
}

TEST_F(WebmailRoutesTest, JmapHookAcceptsTheCookieAndChecksCsrfOnPosts) {
  auto [token, csrf] = sign_in();
  auth::Principal p;
  http::Response refusal;
  auto none = request("POST", "/jmap/api");
  EXPECT_FALSE(authenticate_cookie(*web_, none, p, refusal));  // not a cookie request

  auto get = request("GET", "/jmap/download/id-alice/Bx/x");
  with_cookie(get, token);
  ASSERT_TRUE(authenticate_cookie(*web_, get, p, refusal));
  EXPECT_EQ(p.account_id, "id-alice");

  auto post = request("POST", "/jmap/api");
  with_cookie(post, token);
  p = {};
  ASSERT_TRUE(authenticate_cookie(*web_, post, p, refusal));
  EXPECT_TRUE(p.account_id.empty());
  EXPECT_EQ(refusal.status, 403);  // no CSRF token
  post.headers.emplace_back("x-mailroom-csrf", csrf);
  post.headers.emplace_back("origin", "https://evil.example");
  ASSERT_TRUE(authenticate_cookie(*web_, post, p, refusal));
  EXPECT_TRUE(p.account_id.empty());  // right token, foreign origin
  auto good = request("POST", "/jmap/api");
  with_cookie(good, token);
  same_origin(good);
  good.headers.emplace_back("x-mailroom-csrf", csrf);
  ASSERT_TRUE(authenticate_cookie(*web_, good, p, refusal));
  EXPECT_EQ(p.account_id, "id-alice");

  auto stale = request("GET", "/jmap/api");
  with_cookie(stale, std::string(64, 'a'));
  p = {};
  ASSERT_TRUE(authenticate_cookie(*web_, stale, p, refusal));
  EXPECT_TRUE(p.account_id.empty());
  EXPECT_EQ(refusal.status, 401);
}

TEST_F(WebmailRoutesTest, DisabledAccountOrClosedSessionsEndTheSession) {
  auto [token, csrf] = sign_in();
  auto s = request("GET", "/webmail/session");
  with_cookie(s, token);
  EXPECT_EQ(send(s).status, 200);
  directory_->account("id-alice")->status = auth::AccountStatus::disabled;
  EXPECT_EQ(send(s).status, 401);
  directory_->account("id-alice")->status = auth::AccountStatus::active;
  EXPECT_EQ(send(s).status, 401);  // ended, not suspended
  // A directory that cannot answer keeps the session (as the IMAP account sweep does).
  auto again = sign_in();
  auto s2 = request("GET", "/webmail/session");
  with_cookie(s2, again.first);
  directory_->fail_all = true;
  EXPECT_EQ(send(s2).status, 200);
  directory_->fail_all = false;
  EXPECT_EQ(close_account(*web_, "id-alice"), 1u);
  EXPECT_EQ(send(s2).status, 401);
}

TEST_F(WebmailRoutesTest, FrameEchoesWithItsOwnPolicyOnlyForTheSession) {
  auto [token, csrf] = sign_in();
  auto f = request("POST", "/webmail/frame", "html=%3Cp%3Ehi%3C%2Fp%3E&images=0&csrf=" + csrf,
                   "application/x-www-form-urlencoded");
  EXPECT_EQ(send(f).status, 401);
  with_cookie(f, token);
  EXPECT_EQ(send(f).status, 403);  // no origin
  same_origin(f);
  auto res = send(f);
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("<p>hi</p>"), std::string::npos);
  auto csp = res.header("Content-Security-Policy").value_or("");
  EXPECT_TRUE(csp.starts_with("sandbox;")) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos);
  EXPECT_NE(csp.find("img-src data:;"), std::string::npos) << csp;
  auto img = request("POST", "/webmail/frame", "html=x&images=1&csrf=" + csrf,
                     "application/x-www-form-urlencoded");
  with_cookie(img, token);
  same_origin(img);
  EXPECT_NE(
      send(img).header("Content-Security-Policy").value_or("").find("img-src data: https: http:"),
      std::string::npos);
  // A form posted into the sandboxed frame says "Origin: null"; Sec-Fetch-Site decides then.
  auto null_origin =
      request("POST", "/webmail/frame", "html=x&csrf=" + csrf, "application/x-www-form-urlencoded");
  with_cookie(null_origin, token);
  null_origin.headers.emplace_back("origin", "null");
  EXPECT_EQ(send(null_origin).status, 403);
  null_origin.headers.emplace_back("sec-fetch-site", "cross-site");
  EXPECT_EQ(send(null_origin).status, 403);
  null_origin.headers.back().second = "same-origin";
  EXPECT_EQ(send(null_origin).status, 200);
  auto wrong =
      request("POST", "/webmail/frame", "html=x&csrf=bad", "application/x-www-form-urlencoded");
  with_cookie(wrong, token);
  same_origin(wrong);
  EXPECT_EQ(send(wrong).status, 403);
}

TEST_F(WebmailRoutesTest, SettingsRoutesNeedTheSessionAndCsrf) {
  auto anon = request("GET", "/webmail/api/personal-lists");
  EXPECT_EQ(send(anon).status, 401);
  auto [token, csrf] = sign_in();
  // No CSRF token, or cross-site: 403 before anything is read or written.
  auto post = request("POST", "/webmail/api/personal-lists/blocklist", R"({"entry":"a@b.example"})",
                      "application/json");
  with_cookie(post, token);
  same_origin(post);
  auto res = send(post);
  EXPECT_EQ(res.status, 403) << res.body;
  expect_secure_headers(res);
  auto cross = request("DELETE", "/webmail/api/app-passwords/abc");
  with_cookie(cross, token);
  cross.headers.emplace_back("x-mailroom-csrf", csrf);
  cross.headers.emplace_back("origin", "https://evil.example");
  EXPECT_EQ(send(cross).status, 403);
  // The session's own data; these services are not configured here: 503, never a 500.
  auto get = request("GET", "/webmail/api/app-passwords");
  with_cookie(get, token);
  res = send(get);
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.header("Cache-Control").value_or(""), "no-store");
  auto lists = request("GET", "/webmail/api/personal-lists");
  with_cookie(lists, token);
  EXPECT_EQ(send(lists).status, 503);
  // A malformed body is refused before the session's services are asked.
  auto bad = request("POST", "/webmail/api/app-passwords", "not json", "application/json");
  with_cookie(bad, token);
  same_origin(bad);
  bad.headers.emplace_back("x-mailroom-csrf", csrf);
  EXPECT_EQ(send(bad).status, 400);
}

TEST_F(WebmailRoutesTest, StaticFilesCarryThePagePolicy) {
  auto r = request("GET", "/webmail/");
  auto res = send(r);
  ASSERT_EQ(res.status, 200);
  expect_secure_headers(res);
  auto csp = res.header("Content-Security-Policy").value_or("");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  auto redirect = request("GET", "/webmail");
  EXPECT_EQ(send(redirect).status, 301);
  for (const char* bad : {"/webmail/..%2f..%2fetc%2fpasswd", "/webmail/%2e%2e/x.html",
                          "/webmail/assets/..", "/webmail/.git/config"}) {
    auto b = request("GET", bad);
    EXPECT_EQ(send(b).status, 404) << bad;
  }
}

TEST(WebmailOptions, ParsesAndValidates) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[webmail]\nroot = \"/srv/web\"\nsession_idle = \"10m\"\nmax_sessions_per_user = 5\n",
      "t.toml", &errors);
  auto s = doc->root().child("webmail");
  auto o = parse_options(s, "/default");
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(o.root, "/srv/web");
  EXPECT_EQ(o.session_idle, 600);
  EXPECT_EQ(o.max_sessions_per_user, 5u);
  core::ConfigErrors errors2;
  auto doc2 = core::ConfigDocument::load_string("[webmail]\nsession_idle = 0\nbogus = 1\n",
                                                "t.toml", &errors2);
  auto s2 = doc2->root().child("webmail");
  auto o2 = parse_options(s2, "/default");
  EXPECT_EQ(o2.root, "/default");
  EXPECT_GE(errors2.messages().size(), 2u);
}

// The re-authentication rule of app passwords (settings.h): a session that signed in longer
// ago than the window is refused with {"reauth":true} before anything else is asked.
TEST(SettingsRoutes, CreatingAnAppPasswordNeedsARecentSignIn) {
  core::Services none;  // nothing configured: a request past the rule would answer 503
  http::Request r;
  r.method = "POST";
  r.body = R"({"name":"Phone","protocols":["imap"]})";
  auto stale = app_password_create(none, SettingsCaller{"id-alice", 601, "s1"}, r, 600);
  EXPECT_EQ(stale.status, 403);
  EXPECT_TRUE(json::parse(stale.body).as_object().at("reauth").as_bool()) << stale.body;
  auto recent = app_password_create(none, SettingsCaller{"id-alice", 600, "s1"}, r, 600);
  EXPECT_EQ(recent.status, 503) << recent.body;
  // A malformed body is a 400 whatever the session's age.
  r.body = R"({"name":"Phone","secret":"mine"})";
  EXPECT_EQ(app_password_create(none, SettingsCaller{"id-alice", 601, "s1"}, r, 600).status, 400);
}

}  // namespace
}  // namespace mailroom::webmail
