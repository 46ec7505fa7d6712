// The company sign-in (src/webmail/sso*): sign-ins in flight (random state, nonce and PKCE
// verifier; single use, bound to the browser, expiring, bounded), the callback query parser
// on hostile strings, the ID Token claim checks, the [[webmail.sso]] options, and the routes
// end to end against a fake identity provider whose ID Tokens are signed with a local key
// (the real sso::TokenService checks them): success, replay, another browser, provider
// errors, a refused client secret, bad tokens, accounts that are unknown, disabled or whose
// policy forbids SSO, and the RP-initiated logout URL.
#include "src/webmail/sso.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <ctime>
#include <fstream>
#include <set>

#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "auth/resolver.h"
#include "src/core/config_section.h"
#include "src/core/services.h"
#include "src/webmail/sso_pending.h"
#include "src/webmail/sso_protocol.h"
#include "src/webmail/webmail.h"
#include "tests/unit/auth/test_util.h"
#include "tests/unit/sso/test_keys.h"

namespace mailroom::webmail {
namespace {
namespace json = boost::json;

// --- sign-ins in flight ---------------------------------------------------------------------

TEST(SsoPendingTest, TokensAreRandomAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = random_token();
    EXPECT_EQ(t.size(), 43u);  // 256 bits, base64url without padding (RFC 7636 4.1)
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_TRUE(seen.insert(t).second);
  }
}

TEST(SsoPendingTest, ChallengeIsS256OfTheVerifier) {
  // Computed independently (Python hashlib + base64.urlsafe_b64encode, padding stripped).
  EXPECT_EQ(pkce_challenge_s256("mailroom-pkce-test-verifier-0123456789abcdefghijk"),
            "qW4yLjxenhzXrdX5-PuxQKBNqK5CWwVrtcx1aFS_l-Q");
}

TEST(SsoPendingTest, StateIsSingleUseBoundToTheBrowserAndExpires) {
  int64_t now = 1000;
  PendingLogins p(100, [&] { return now; });
  auto a = p.start(0, "cookie-a", "https://mail/webmail/sso/callback", 600);
  auto b = p.start(1, "cookie-a", "https://mail/webmail/sso/callback", 600);
  EXPECT_NE(a.state, b.state);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.state, a.nonce);
  PendingLogins::Refusal why;
  auto got = p.take(a.state, "cookie-a", &why);
  ASSERT_TRUE(got);
  EXPECT_EQ(why, PendingLogins::Refusal::none);
  EXPECT_EQ(got->nonce, a.nonce);
  EXPECT_EQ(pkce_challenge_s256(got->code_verifier), a.code_challenge);
  EXPECT_NE(got->code_verifier, a.code_challenge);
  EXPECT_FALSE(p.take(a.state, "cookie-a", &why));  // replay
  EXPECT_EQ(why, PendingLogins::Refusal::unknown);
  // Another browser's cookie: refused, and the state is gone (no second guess).
  EXPECT_FALSE(p.take(b.state, "cookie-b", &why));
  EXPECT_EQ(why, PendingLogins::Refusal::other_browser);
  EXPECT_FALSE(p.take(b.state, "cookie-a", &why));
  EXPECT_EQ(why, PendingLogins::Refusal::unknown);
  auto c = p.start(0, "cookie-a", "https://mail/webmail/sso/callback", 600);
  now += 601;
  EXPECT_FALSE(p.take(c.state, "cookie-a", &why));
  EXPECT_EQ(why, PendingLogins::Refusal::expired);
  EXPECT_FALSE(p.take("", "", &why));
  EXPECT_EQ(p.size(), 0u);
}

TEST(SsoPendingTest, BoundedOldestGoFirst) {
  int64_t now = 0;
  PendingLogins p(3, [&] { return now; });
  std::vector<std::string> states;
  for (int i = 0; i < 5; ++i) {
    ++now;
    states.push_back(p.start(0, "c", "r", 600).state);
  }
  EXPECT_EQ(p.size(), 3u);
  PendingLogins::Refusal why;
  EXPECT_FALSE(p.take(states[0], "c", &why));
  EXPECT_FALSE(p.take(states[1], "c", &why));
  EXPECT_TRUE(p.take(states[4], "c", &why));
}

// --- the callback's query string --------------------------------------------------------------

TEST(SsoCallbackParserTest, AcceptsWhatProvidersSend) {
  std::string why;
  auto p = parse_callback_query("code=SplxlOBeZQQYbYS6WxSbIA&state=xyz", &why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->code, "SplxlOBeZQQYbYS6WxSbIA");
  EXPECT_EQ(p->state, "xyz");
  p = parse_callback_query(
      "state=s&session_state=abc.def&code=a%2Fb+c&iss=https%3A%2F%2Fidp.example&scope=openid",
      &why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->code, "a/b c");
  EXPECT_EQ(p->iss, "https://idp.example");
  p = parse_callback_query("error=access_denied&error_description=The+user+said+no&state=s", &why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->error, "access_denied");
  EXPECT_EQ(p->error_description, "The user said no");
  EXPECT_TRUE(p->code.empty());
}

TEST(SsoCallbackParserTest, RefusesHostileQueries) {
  const std::string big(kMaxCallbackValue + 1, 'a');
  std::string many;
  for (int i = 0; i < 40; ++i) many += "x" + std::to_string(i) + "=1&";
  const std::pair<std::string, std::string> cases[] = {
      {"", "no state"},
      {"code=abc", "no state"},
      {"state=s", "neither code nor error"},
      {"code=a&error=access_denied&state=s", "both code and error"},
      {"code=a&code=b&state=s", "repeated"},
      {"code=a&state=s&state=t", "repeated"},
      {"code=a&state=s&iss=x&iss=y", "repeated"},
      {"code=a%zz&state=s", "percent"},
      {"code=a%&state=s", "percent"},
      {"code=a%0d%0aSet-Cookie:x&state=s", "bad characters"},
      {"code=a&state=s%00", "bad characters"},
      {"error=a%22b&state=s", "bad characters"},
      {"error=%C3%A9&state=s", "bad characters"},
      {"code=" + big + "&state=s", "too long"},
      {"code=a&state=s&" + many, "too many"},
      {std::string(kMaxCallbackQuery + 1, 'a'), "too long"},
  };
  for (const auto& [query, expect] : cases) {
    std::string why;
    EXPECT_FALSE(parse_callback_query(query, &why)) << query.substr(0, 80);
    EXPECT_NE(why.find(expect), std::string::npos) << query.substr(0, 80) << " -> " << why;
  }
}

TEST(SsoCallbackParserTest, OneByteAtATimeNeverCrashes) {
  const std::string q = "code=a%2Fb&state=s%20t&error_description=x&iss=https%3A%2F%2Fi";
  for (std::size_t n = 0; n <= q.size(); ++n) {
    std::string why;
    auto p = parse_callback_query(q.substr(0, n), &why);
    if (!p) EXPECT_FALSE(why.empty());
  }
}

// --- ID Token claims (OpenID Connect Core 3.1.3.7) -------------------------------------------

json::object good_claims(int64_t now) {
  return json::object{{"iss", "https://idp.example"},
                      {"aud", "webmail"},
                      {"exp", now + 300},
                      {"iat", now},
                      {"nonce", "n-1"},
                      {"sub", "u-1"},
                      {"email", "alice@example.com"},
                      {"azp", "webmail"}};
}

TEST(SsoIdTokenTest, ChecksEveryRequiredClaim) {
  const int64_t now = 1700000000;
  IdTokenExpectations e{"https://idp.example", "webmail", "n-1", "email", now, 60};
  std::string why;
  auto ok = check_id_token_claims(json::serialize(good_claims(now)), e, &why);
  ASSERT_TRUE(ok) << why;
  EXPECT_EQ(ok->value, "alice@example.com");
  EXPECT_EQ(ok->subject, "u-1");
  auto with = [&](const char* key, json::value v) {
    auto c = good_claims(now);
    if (v.is_null()) {
      c.erase(key);
    } else {
      c[key] = v;
    }
    return json::serialize(c);
  };
  const std::tuple<const char*, json::value, const char*> bad[] = {
      {"iss", "https://evil.example", "iss"},
      {"iss", nullptr, "iss"},
      {"aud", "other-client", "aud"},
      {"aud", json::array{"other", "more"}, "aud"},
      {"aud", nullptr, "aud"},
      {"azp", "other-client", "azp"},
      {"exp", now - 61, "expired"},
      {"exp", nullptr, "no exp"},
      {"exp", "tomorrow", "not a number"},
      {"exp", 1e300, "not a number"},  // beyond int64 (found by fuzz.webmail_sso)
      {"iat", -1e300, "not a number"},
      {"exp", INT64_MIN + 1, "expired"},
      {"iat", nullptr, "no iat"},
      {"iat", now + 120, "future"},
      {"nbf", now + 120, "nbf"},
      {"nonce", "n-2", "nonce"},
      {"nonce", nullptr, "no nonce"},
      {"nonce", 1, "nonce"},
      {"sub", nullptr, "no sub"},
      {"email", nullptr, "no email"},
      {"email", 7, "no email"},
      {"email_verified", false, "email_verified"},
  };
  for (const auto& [key, value, expect] : bad) {
    auto text = with(key, value);
    EXPECT_FALSE(check_id_token_claims(text, e, &why)) << text;
    EXPECT_NE(why.find(expect), std::string::npos) << text << " -> " << why;
  }
  // Several audiences: accepted with azp = this client, refused without azp.
  auto c = good_claims(now);
  c["aud"] = json::array{"webmail", "api"};
  EXPECT_TRUE(check_id_token_claims(json::serialize(c), e, &why)) << why;
  c.erase("azp");
  EXPECT_FALSE(check_id_token_claims(json::serialize(c), e, &why));
  EXPECT_FALSE(check_id_token_claims("[]", e, &why));
  EXPECT_FALSE(check_id_token_claims("{", e, &why));
}

TEST(SsoUrlsTest, AuthorizationAndEndSessionUrls) {
  AuthorizationRequest r{"https://idp.example/auth?tenant=a%20b",
                         "web mail",
                         "https://mail.example.com/webmail/sso/callback",
                         {"email"},
                         "st",
                         "no",
                         "ch"};
  EXPECT_EQ(authorization_url(r),
            "https://idp.example/auth?tenant=a%20b&response_type=code&client_id=web%20mail"
            "&redirect_uri=https%3A%2F%2Fmail.example.com%2Fwebmail%2Fsso%2Fcallback"
            "&scope=openid%20email&state=st&nonce=no&code_challenge=ch"
            "&code_challenge_method=S256");
  EXPECT_EQ(end_session_url("https://idp.example/logout", "h.p.s", "webmail", ""),
            "https://idp.example/logout?id_token_hint=h.p.s&client_id=webmail");
}

// --- options -------------------------------------------------------------------------------

class SsoOptionsTest : public ::testing::Test {
 protected:
  std::vector<SsoProviderOptions> parse(const std::string& toml, core::ConfigErrors& errors) {
    auto doc = core::ConfigDocument::load_string(toml, "test.toml", &errors);
    auto root = doc->root();
    auto s = root.child("webmail");
    return parse_sso_options(s);
  }
  mailroom::testing::TempDir tmp_;
};

TEST_F(SsoOptionsTest, SecretFileMustBePrivate) {
  std::string file = tmp_.file("secret");
  std::ofstream(file) << "s3cret\n";
  ::chmod(file.c_str(), 0644);
  std::string toml =
      "[[webmail.sso]]\nid = \"corp\"\nissuer = \"https://idp.example\"\n"
      "client_id = \"webmail\"\nclient_secret_file = \"" +
      file + "\"\n";
  core::ConfigErrors errors;
  parse(toml, errors);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.messages()[0].find("chmod 600"), std::string::npos) << errors.messages()[0];
  ::chmod(file.c_str(), 0600);
  core::ConfigErrors ok;
  auto p = parse(toml, ok);
  ASSERT_TRUE(ok.empty()) << ok.messages()[0];
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].client_secret, "s3cret");
  EXPECT_EQ(p[0].display_name, "corp");
  core::ConfigErrors missing;
  parse("[[webmail.sso]]\nid = \"a b\"\n", missing);
  EXPECT_GE(missing.messages().size(), 4u);  // id, issuer, client_id, client_secret_file
}

// --- the routes against a fake provider ------------------------------------------------------

constexpr const char* kIssuer = "https://idp.example";
constexpr const char* kClient = "webmail";
constexpr const char* kSecret = "webmail-secret";

class SsoRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = auth::LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    ASSERT_TRUE(dir_->add_domain(auth::Domain{"example.com"}));
    for (const char* who : {"alice", "dora", "sam"}) {
      auth::Account a;
      a.address = std::string(who) + "@example.com";
      a.login = a.address;
      auto r = dir_->add_account(a);
      ASSERT_TRUE(r) << r.status().to_string();
      ids_[who] = r->id;
    }
    ASSERT_TRUE(dir_->set_status(ids_["dora"], auth::AccountStatus::disabled));
    auth::PolicyBundle no_sso;
    no_sso.name = "password-only";
    no_sso.values.login_methods = std::vector<std::string>{"password"};
    ASSERT_TRUE(dir_->add_policy(no_sso));
    ASSERT_TRUE(
        dir_->assign_policy({"password-only", auth::PolicyScope::user, ids_["sam"], "", 0}));
    services_.directory = dir_;
    services_.resolver = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    services_.policies = std::make_shared<auth::PolicySource>(dir_);
    Options o;
    o.root = tmp_.path();
    web_ = make_webmail(services_, o);

    SsoProviderOptions p;
    p.id = "corp";
    p.display_name = "Example Corp";
    p.issuer = kIssuer;
    p.client_id = kClient;
    p.client_secret = kSecret;
    sso::Options so;
    so.background_refresh = false;
    auto login = make_sso_login(services_, web_, {p}, so,
                                [this](const sso::HttpRequest& r) { return idp(r); });
    ASSERT_TRUE(login) << login.status().to_string();
    add_sso_routes(router_, *login);
    add_routes(router_, web_);
  }

  // The fake provider: discovery, keys, and a token endpoint that hands out an ID Token for
  // the code "good-code" (claims from `claims_`, nonce from the authorization request).
  sso::HttpResponse idp(const sso::HttpRequest& r) {
    sso::HttpResponse out;
    out.status = 200;
    if (r.url == std::string(kIssuer) + "/.well-known/openid-configuration") {
      out.body =
          json::serialize(json::object{{"issuer", kIssuer},
                                       {"authorization_endpoint", std::string(kIssuer) + "/auth"},
                                       {"token_endpoint", std::string(kIssuer) + "/token"},
                                       {"end_session_endpoint", std::string(kIssuer) + "/logout"},
                                       {"jwks_uri", std::string(kIssuer) + "/jwks"}});
    } else if (r.url == std::string(kIssuer) + "/jwks") {
      out.body = "{\"keys\":[" + key_.jwk() + "]}";
    } else if (r.url == std::string(kIssuer) + "/token" && r.method == "POST") {
      token_requests_.push_back(r);
      if (r.basic_user != kClient || r.basic_pass != kSecret) {
        out.status = 401;
        out.body = R"({"error":"invalid_client"})";
      } else if (r.body.find("code=good-code&") == std::string::npos) {
        out.status = 400;
        out.body = R"({"error":"invalid_grant"})";
      } else {
        auto c = claims_;
        if (!c.contains("nonce")) c["nonce"] = nonce_;
        out.body = json::serialize(json::object{{"access_token", "at"},
                                                {"token_type", "Bearer"},
                                                {"id_token", signer_->sign(json::serialize(c))}});
      }
    } else {
      out.status = 404;
    }
    return out;
  }

  http::Request request(const std::string& target, const std::string& cookie = "") {
    http::Request r;
    r.method = "GET";
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.remote_ip = "192.0.2.10";
    r.tls = true;
    r.headers.emplace_back("host", "mail.example.com");
    if (!cookie.empty()) r.headers.emplace_back("cookie", cookie);
    return r;
  }
  http::Response send(http::Request r) {
    auto m = router_.match(r.method, r.path);
    if (!m.route) return http::Response::problem(404, "no route", "");
    r.params = m.params;
    return m.route->handler(r);
  }
  static std::string cookie_named(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie" && v.starts_with(name + "=")) return v;
    }
    return {};
  }
  static std::string param(const std::string& url, const std::string& name) {
    auto at = url.find("&" + name + "=");
    if (at == std::string::npos) at = url.find("?" + name + "=");
    if (at == std::string::npos) return {};
    auto start = at + name.size() + 2;
    return url.substr(start, url.find('&', start) - start);
  }
  // /start as the browser: the state and the pre-session cookie ("mailroom_sso=...").
  std::pair<std::string, std::string> start(const std::string& provider = "corp") {
    auto res = send(request("/webmail/sso/start?provider=" + provider));
    EXPECT_EQ(res.status, 303);
    auto location = res.header("Location").value_or("");
    EXPECT_TRUE(location.starts_with(std::string(kIssuer) + "/auth?")) << location;
    nonce_ = param(location, "nonce");
    challenge_ = param(location, "code_challenge");
    auto c = cookie_named(res, "mailroom_sso");
    return {param(location, "state"), c.substr(0, c.find(';'))};
  }
  std::string error_of(const http::Response& r) {
    EXPECT_EQ(r.status, 303);
    auto location = r.header("Location").value_or("");
    auto at = location.find("sso_error=");
    return at == std::string::npos ? "(none: " + location + ")" : location.substr(at + 10);
  }
  void claims_for(const std::string& email) {
    int64_t now = std::time(nullptr);
    claims_ = json::object{{"iss", kIssuer}, {"aud", kClient},      {"exp", now + 300},
                           {"iat", now},     {"sub", "s-" + email}, {"email", email}};
  }

  mailroom::testing::TempDir tmp_;
  std::shared_ptr<auth::LocalDirectory> dir_;
  std::map<std::string, std::string> ids_;
  core::Services services_;
  std::shared_ptr<Webmail> web_;
  http::Router router_;
  sso::testing::TestKey key_{"k1", "RS256"};
  sso::testing::TestKey other_key_{"k1", "RS256"};  // same kid, not published
  const sso::testing::TestKey* signer_ = &key_;
  json::object claims_;
  std::string nonce_, challenge_;
  std::vector<sso::HttpRequest> token_requests_;
};

TEST_F(SsoRoutesTest, ListsTheProviders) {
  auto res = send(request("/webmail/sso"));
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"providers":[{"id":"corp","name":"Example Corp"}]})");
}

TEST_F(SsoRoutesTest, StartSendsPkceStateNonceAndAPreSessionCookie) {
  auto res = send(request("/webmail/sso/start"));
  ASSERT_EQ(res.status, 303);
  auto location = res.header("Location").value_or("");
  EXPECT_EQ(param(location, "response_type"), "code");
  EXPECT_EQ(param(location, "client_id"), "webmail");
  EXPECT_EQ(param(location, "code_challenge_method"), "S256");
  EXPECT_EQ(param(location, "code_challenge").size(), 43u);
  EXPECT_EQ(param(location, "redirect_uri"),
            "https%3A%2F%2Fmail.example.com%2Fwebmail%2Fsso%2Fcallback");
  EXPECT_EQ(param(location, "scope"), "openid%20email%20profile");
  EXPECT_EQ(res.header("Referrer-Policy").value_or(""), "no-referrer");
  auto c = cookie_named(res, "mailroom_sso");
  for (const char* attr :
       {"; HttpOnly", "; Secure", "; SameSite=Lax", "; Path=/webmail/sso", "; Max-Age=600"}) {
    EXPECT_NE(c.find(attr), std::string::npos) << c;
  }
  EXPECT_EQ(error_of(send(request("/webmail/sso/start?provider=nope"))), "request");
  auto bad_host = request("/webmail/sso/start");
  bad_host.headers[0].second = "evil.example/<x>";
  EXPECT_EQ(error_of(send(bad_host)), "request");
}

TEST_F(SsoRoutesTest, SignsInOnceAndRefusesTheReplay) {
  auto [state, cookie] = start();
  claims_for("alice@example.com");
  auto target = "/webmail/sso/callback?code=good-code&state=" + state;
  auto res = send(request(target, cookie));
  ASSERT_EQ(res.status, 303) << res.body;
  EXPECT_EQ(res.header("Location").value_or(""), "/webmail/");
  auto session = cookie_named(res, "mailroom_session");
  EXPECT_NE(session.find("SameSite=Strict"), std::string::npos) << session;
  EXPECT_NE(cookie_named(res, "mailroom_sso").find("Max-Age=0"), std::string::npos);
  // The token request: the code, the redirect URI of /start, the verifier of the challenge.
  ASSERT_EQ(token_requests_.size(), 1u);
  const auto& tr = token_requests_[0];
  EXPECT_NE(tr.body.find("grant_type=authorization_code"), std::string::npos);
  EXPECT_NE(tr.body.find("redirect_uri=https%3A%2F%2Fmail.example.com%2Fwebmail%2Fsso%2Fcallback"),
            std::string::npos);
  auto verifier = param("?" + tr.body, "code_verifier");
  EXPECT_EQ(pkce_challenge_s256(verifier), challenge_);
  // The web session is a real one.
  auto who = send(request("/webmail/session", session.substr(0, session.find(';'))));
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(json::parse(who.body).at("accountId").as_string(), ids_["alice"]);
  // The same callback again (a replay, or the back button): refused, no token request.
  EXPECT_EQ(error_of(send(request(target, cookie))), "state");
  EXPECT_EQ(token_requests_.size(), 1u);
}

TEST_F(SsoRoutesTest, RefusesAnotherBrowsersState) {
  auto [state, cookie] = start();
  claims_for("alice@example.com");
  auto target = "/webmail/sso/callback?code=good-code&state=" + state;
  EXPECT_EQ(error_of(send(request(target, "mailroom_sso=" + random_token()))), "state");
  EXPECT_EQ(error_of(send(request(target))), "state");
  EXPECT_TRUE(token_requests_.empty());
}

TEST_F(SsoRoutesTest, ProviderErrorsAndMalformedCallbacks) {
  auto [state, cookie] = start();
  EXPECT_EQ(
      error_of(send(request("/webmail/sso/callback?error=access_denied&state=" + state, cookie))),
      "denied");
  auto [state2, cookie2] = start();
  EXPECT_EQ(
      error_of(send(request("/webmail/sso/callback?error=server_error&state=" + state2, cookie2))),
      "provider");
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=a&code=b&state=x"))), "request");
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback"))), "request");
  auto [state3, cookie3] = start();
  EXPECT_EQ(
      error_of(send(request(
          "/webmail/sso/callback?code=good-code&iss=https%3A%2F%2Fevil&state=" + state3, cookie3))),
      "token");
}

TEST_F(SsoRoutesTest, BadCodesAndTokensAreRefused) {
  claims_for("alice@example.com");
  auto [s1, c1] = start();
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=stale&state=" + s1, c1))), "token");
  // An ID Token signed by a key the provider never published.
  signer_ = &other_key_;
  auto [s2, c2] = start();
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=good-code&state=" + s2, c2))),
            "token");
  signer_ = &key_;
  // Another sign-in's nonce (an ID Token replayed into this one).
  claims_["nonce"] = "someone-elses";
  auto [s3, c3] = start();
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=good-code&state=" + s3, c3))),
            "token");
  // Meant for another client.
  claims_for("alice@example.com");
  claims_["aud"] = "other-client";
  auto [s4, c4] = start();
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=good-code&state=" + s4, c4))),
            "token");
}

TEST_F(SsoRoutesTest, AccountsThatMayNotSignIn) {
  const std::pair<const char*, const char*> cases[] = {
      {"nobody@example.com", "no_account"},
      {"dora@example.com", "disabled"},
      {"sam@example.com", "not_allowed"},  // policy: password only
  };
  for (const auto& [email, expect] : cases) {
    claims_for(email);
    auto [state, cookie] = start();
    EXPECT_EQ(
        error_of(send(request("/webmail/sso/callback?code=good-code&state=" + state, cookie))),
        expect)
        << email;
  }
}

TEST_F(SsoRoutesTest, SignOutNamesTheProvidersEndSessionUrl) {
  auto [state, cookie] = start();
  claims_for("alice@example.com");
  auto res = send(request("/webmail/sso/callback?code=good-code&state=" + state, cookie));
  auto session = cookie_named(res, "mailroom_session");
  session = session.substr(0, session.find(';'));
  auto info = send(request("/webmail/session", session));
  std::string csrf(json::parse(info.body).at("csrf").as_string());
  auto out = request("/webmail/logout", session);
  out.method = "POST";
  out.headers.emplace_back("origin", "https://mail.example.com");
  out.headers.emplace_back("sec-fetch-site", "same-origin");
  out.headers.emplace_back("x-mailroom-csrf", csrf);
  auto bye = send(out);
  ASSERT_EQ(bye.status, 200) << bye.body;
  std::string end(json::parse(bye.body).at("endSession").as_string());
  EXPECT_TRUE(end.starts_with(std::string(kIssuer) + "/logout?id_token_hint=")) << end;
  EXPECT_NE(end.find("&client_id=webmail"), std::string::npos);
  EXPECT_EQ(send(request("/webmail/session", session)).status, 401);
}

TEST_F(SsoRoutesTest, AWrongClientSecretIsRefused) {
  SsoProviderOptions p;
  p.id = "wrong";
  p.issuer = kIssuer;
  p.client_id = kClient;
  p.client_secret = "not-the-secret";
  sso::Options so;
  so.background_refresh = false;
  auto login = make_sso_login(services_, web_, {p}, so,
                              [this](const sso::HttpRequest& r) { return idp(r); });
  ASSERT_TRUE(login);
  http::Router router;
  add_sso_routes(router, *login);
  router_ = router;
  auto [state, cookie] = start("wrong");
  claims_for("alice@example.com");
  EXPECT_EQ(error_of(send(request("/webmail/sso/callback?code=good-code&state=" + state, cookie))),
            "token");
}

TEST_F(SsoRoutesTest, HttpProvidersNeedAllowHttp) {
  SsoProviderOptions p;
  p.id = "plain";
  p.issuer = "http://idp.example";
  p.client_id = kClient;
  p.client_secret = kSecret;
  sso::Options so;
  so.background_refresh = false;
  auto login = make_sso_login(services_, web_, {p}, so,
                              [](const sso::HttpRequest&) { return sso::HttpResponse{}; });
  ASSERT_FALSE(login);
  EXPECT_NE(login.status().to_string().find("allow_http"), std::string::npos);
}

}  // namespace
}  // namespace mailroom::webmail
