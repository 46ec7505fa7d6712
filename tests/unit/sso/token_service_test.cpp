// TokenService (sso/sso.h) with the provider's HTTP answers from a table: discovery, JWKS and
// introspection, and what the service does when they change or fail. The real HTTP client and
// real providers are in tests/integration/sso.
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>

#include "sso/sso.h"
#include "tests/unit/sso/test_keys.h"

namespace mailroom::sso {
namespace {

using testing::jwks_of;
using testing::TestKey;

const std::string kIssuer = "https://idp.example.com";

struct FakeProvider {
  std::mutex mu;
  std::map<std::string, HttpResponse> answers;  // "GET url" / "POST url" -> answer
  std::map<std::string, int> requests;
  std::vector<HttpRequest> posts;

  void set(const std::string& key, int status, std::string body) {
    std::lock_guard lock(mu);
    answers[key] = HttpResponse{status, std::move(body), status ? "" : "connection refused"};
  }
  int count(const std::string& key) {
    std::lock_guard lock(mu);
    return requests[key];
  }
  HttpFetch fetch() {
    return [this](const HttpRequest& r) {
      std::lock_guard lock(mu);
      std::string key = r.method + " " + r.url;
      ++requests[key];
      if (r.method == "POST") posts.push_back(r);
      auto it = answers.find(key);
      if (it == answers.end()) return HttpResponse{0, "", "connection refused"};
      return it->second;
    };
  }
};

std::string discovery(const std::string& issuer = kIssuer, bool introspection = false) {
  std::string out = "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + kIssuer + "/jwks\"";
  if (introspection) out += ",\"introspection_endpoint\":\"" + kIssuer + "/introspect\"";
  return out + "}";
}

std::string claims(const std::string& extra = "", int64_t exp_in = 600) {
  int64_t now = std::time(nullptr);
  std::string out =
      "{\"iss\":\"" + kIssuer + "\",\"aud\":\"mail-server\",\"sub\":\"u-1\"," +
      "\"email\":\"alice@example.com\",\"scope\":\"openid mail\",\"iat\":" + std::to_string(now) +
      ",\"exp\":" + std::to_string(now + exp_in);
  if (!extra.empty()) out += "," + extra;
  return out + "}";
}

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    provider_.set("GET " + kIssuer + "/.well-known/openid-configuration", 200, discovery());
    provider_.set("GET " + kIssuer + "/jwks", 200, jwks_of({&rsa_, &ec_}));
  }

  std::shared_ptr<TokenService> start(Options o = {}) {
    o.background_refresh = false;
    if (o.issuers.empty()) {
      IssuerOptions i;
      i.issuer = kIssuer;
      i.audiences = {"mail-server"};
      i.required_scope = "mail";
      o.issuers.push_back(i);
    }
    auto s = TokenService::start(o, provider_.fetch());
    EXPECT_TRUE(s);
    service_ = *s;
    return service_;
  }

  FakeProvider provider_;
  TestKey rsa_{"r1", "RS256"};
  TestKey ec_{"e1", "ES256"};
  std::shared_ptr<TokenService> service_;
};

TEST_F(TokenServiceTest, ValidTokenNamesTheAccountByTheConfiguredClaim) {
  auto s = start();
  EXPECT_EQ(s->refresh_now(), "");
  auto c = s->verify(rsa_.sign(claims()));
  ASSERT_EQ(c.verdict, auth::TokenVerdict::valid) << c.reason;
  EXPECT_EQ(c.identity.value, "alice@example.com");
  EXPECT_EQ(c.identity.claim, "email");
  EXPECT_EQ(c.identity.match, auth::TokenMatch::login);
  // exp is handed on: what outlives the request (a push stream) ends then.
  c = s->verify(rsa_.sign(claims("\"exp\":4102444800")));
  ASSERT_EQ(c.verdict, auth::TokenVerdict::valid) << c.reason;
  EXPECT_EQ(c.identity.expires_at, 4102444800);
  EXPECT_EQ(s->verify(ec_.sign(claims())).verdict, auth::TokenVerdict::valid);
  EXPECT_EQ(s->openid_configuration(), kIssuer + "/.well-known/openid-configuration");
  EXPECT_EQ(s->required_scope(), "mail");
}

TEST_F(TokenServiceTest, ClaimsPolicy) {
  auto s = start();
  auto check = [&](const std::string& token) { return s->verify(token); };
  int64_t now = std::time(nullptr);
  EXPECT_EQ(check(rsa_.sign(claims("", -120))).reason.rfind("expired", 0), 0u);
  EXPECT_EQ(check(rsa_.sign(claims("", -30))).verdict, auth::TokenVerdict::valid)
      << "within clock_skew";
  EXPECT_EQ(check(rsa_.sign(claims("\"nbf\":" + std::to_string(now + 3600)))).reason,
            "not yet valid (nbf)");
  // Times beyond int64 or near its ends: refused, without undefined conversions or overflow
  // (UBSan would abort here).
  EXPECT_EQ(check(rsa_.sign(claims("\"iat\":1e300"))).reason, "issued in the future (iat)");
  EXPECT_EQ(check(rsa_.sign(claims("\"nbf\":-1e300"))).reason, "not yet valid (nbf)");
  EXPECT_EQ(check(rsa_.sign(claims("\"exp\":-9223372036854775807"))).reason, "expired");
  // Claims are JSON: a later duplicate replaces an earlier one (Boost.JSON keeps the last).
  EXPECT_EQ(check(rsa_.sign(claims("\"aud\":[\"x\",\"mail-server\"]"))).verdict,
            auth::TokenVerdict::valid);
  EXPECT_EQ(check(rsa_.sign(claims("\"aud\":\"other\""))).reason, "audience not accepted");
  auto scope = check(rsa_.sign(claims("\"scope\":\"openid\"")));
  EXPECT_EQ(scope.status, "insufficient_scope");
  EXPECT_EQ(check(rsa_.sign(claims("\"scope\":\"x\",\"scp\":[\"mail\"]"))).verdict,
            auth::TokenVerdict::valid);
  EXPECT_EQ(check(rsa_.sign(claims("\"email\":\"\""))).reason, "no email claim");
  EXPECT_EQ(check(rsa_.sign(claims("\"exp\":\"tomorrow\""))).reason, "no exp");
  std::string no_exp = "{\"iss\":\"" + kIssuer +
                       "\",\"aud\":\"mail-server\",\"scope\":\"mail\","
                       "\"email\":\"a@example.com\"}";
  EXPECT_EQ(check(rsa_.sign(no_exp)).reason, "no exp");
  std::string other_iss = claims();
  other_iss.replace(other_iss.find(kIssuer), kIssuer.size(), "https://evil.example");
  EXPECT_EQ(check(rsa_.sign(other_iss)).reason, "untrusted issuer https://evil.example");
}

TEST_F(TokenServiceTest, RefusedAlgorithmsAndForgeries) {
  auto s = start();
  std::string body = base64url_encode(claims());
  EXPECT_EQ(s->verify(base64url_encode("{\"alg\":\"none\"}") + "." + body + ".").reason,
            "algorithm none refused");
  EXPECT_EQ(s->verify(base64url_encode("{\"alg\":\"HS256\",\"kid\":\"r1\"}") + "." + body + ".c2ln")
                .reason,
            "algorithm HS256 refused");
  // The header names the RSA key, the signature is the EC key's over the same input.
  std::string token = rsa_.sign(claims());
  std::string input = token.substr(0, token.rfind('.'));
  EXPECT_EQ(s->verify(input + "." + base64url_encode(rsa_.signature(input + "x"))).reason,
            "bad signature");
  // A header that claims ES256 with the RSA key's kid: no EC key of that kid.
  std::string h = "{\"alg\":\"ES256\",\"kid\":\"r1\"}";
  std::string forged = base64url_encode(h) + "." + body;
  EXPECT_EQ(s->verify(forged + "." + base64url_encode(ec_.signature(forged))).verdict,
            auth::TokenVerdict::invalid);
  EXPECT_EQ(
      s->verify(rsa_.sign(claims(), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"x\"]}")).reason,
      "critical header extension");
  EXPECT_EQ(s->verify("a.b.c").reason, "malformed JWT");
  EXPECT_EQ(s->verify(std::string(20000, 'a')).reason, "token longer than 16384 bytes");
}

TEST_F(TokenServiceTest, UnknownKidFetchesOncePerInterval) {
  Options o;
  o.unknown_key_interval = 3600;
  auto s = start(o);
  ASSERT_EQ(s->refresh_now(), "");
  const std::string jwks = "GET " + kIssuer + "/jwks";
  int fetched = provider_.count(jwks);
  TestKey rotated("r2", "RS256");
  std::string token = rotated.sign(claims());
  auto c = s->verify(token);
  EXPECT_EQ(c.reason, "no key r2");
  EXPECT_EQ(provider_.count(jwks), fetched + 1);
  provider_.set("GET " + kIssuer + "/jwks", 200, jwks_of({&rsa_, &rotated}));
  EXPECT_EQ(s->verify(token).reason, "no key r2");
  EXPECT_EQ(provider_.count(jwks), fetched + 1) << "a second unknown kid within the interval";
  // The scheduled refresh (here: refresh_now) brings it in.
  EXPECT_EQ(s->refresh_now(), "");
  EXPECT_EQ(s->verify(token).verdict, auth::TokenVerdict::valid);
}

TEST_F(TokenServiceTest, ProviderDownKeepsCachedKeysAndWithoutKeysIsUnavailable) {
  auto s = start();
  ASSERT_EQ(s->refresh_now(), "");
  provider_.set("GET " + kIssuer + "/jwks", 0, "");
  EXPECT_NE(s->refresh_now(), "");
  EXPECT_EQ(s->verify(rsa_.sign(claims())).verdict, auth::TokenVerdict::valid);
  // A bad key set does not replace a good one either.
  provider_.set("GET " + kIssuer + "/jwks", 200, "{\"keys\":\"no\"}");
  EXPECT_NE(s->refresh_now(), "");
  EXPECT_EQ(s->verify(rsa_.sign(claims())).verdict, auth::TokenVerdict::valid);

  FakeProvider down;
  auto fresh = TokenService::start(
      [] {
        Options o;
        o.background_refresh = false;
        IssuerOptions i;
        i.issuer = kIssuer;
        i.audiences = {"mail-server"};
        o.issuers.push_back(i);
        return o;
      }(),
      down.fetch());
  ASSERT_TRUE(fresh);
  (*fresh)->refresh_now();
  auto c = (*fresh)->verify(rsa_.sign(claims()));
  EXPECT_EQ(c.verdict, auth::TokenVerdict::unavailable) << c.reason;
}

TEST_F(TokenServiceTest, DiscoveryMustNameItsIssuer) {
  provider_.set("GET " + kIssuer + "/.well-known/openid-configuration", 200,
                discovery("https://other.example.com"));
  auto s = start();
  std::string error = s->refresh_now();
  EXPECT_NE(error.find("is not"), std::string::npos) << error;
  EXPECT_EQ(s->verify(rsa_.sign(claims())).verdict, auth::TokenVerdict::unavailable);
}

TEST_F(TokenServiceTest, ConfiguredJwksUriSkipsDiscovery) {
  Options o;
  IssuerOptions i;
  i.issuer = kIssuer;
  i.audiences = {"*"};
  i.jwks_uri = kIssuer + "/jwks";
  i.claim = "sub";
  i.match = auth::TokenMatch::id;
  o.issuers.push_back(i);
  auto s = start(o);
  EXPECT_EQ(s->refresh_now(), "");
  EXPECT_EQ(provider_.count("GET " + kIssuer + "/.well-known/openid-configuration"), 0);
  auto c = s->verify(rsa_.sign(claims("\"aud\":\"anything\"")));
  ASSERT_EQ(c.verdict, auth::TokenVerdict::valid) << c.reason;
  EXPECT_EQ(c.identity.value, "u-1");
  EXPECT_EQ(c.identity.match, auth::TokenMatch::id);
}

TEST_F(TokenServiceTest, OpaqueTokensByIntrospectionWithACache) {
  provider_.set("GET " + kIssuer + "/.well-known/openid-configuration", 200,
                discovery(kIssuer, true));
  Options o;
  IssuerOptions i;
  i.issuer = kIssuer;
  i.audiences = {"mail-server"};
  i.client_id = "mailroom";
  i.client_secret = "s3cret";
  o.issuers.push_back(i);
  auto s = start(o);
  const std::string post = "POST " + kIssuer + "/introspect";
  int64_t now = std::time(nullptr);
  provider_.set(post, 200,
                "{\"active\":true,\"iss\":\"" + kIssuer +
                    "\",\"aud\":\"mail-server\",\"email\":\"bob@example.com\",\"exp\":" +
                    std::to_string(now + 600) + "}");
  auto c = s->verify("opaque-token-1");
  ASSERT_EQ(c.verdict, auth::TokenVerdict::valid) << c.reason;
  EXPECT_EQ(c.identity.value, "bob@example.com");
  EXPECT_EQ(s->verify("opaque-token-1").verdict, auth::TokenVerdict::valid);
  EXPECT_EQ(provider_.count(post), 1) << "the second check comes from the cache";
  {
    std::lock_guard lock(provider_.mu);
    ASSERT_EQ(provider_.posts.size(), 1u);
    EXPECT_EQ(provider_.posts[0].body, "token=opaque-token-1&token_type_hint=access_token");
    EXPECT_EQ(provider_.posts[0].basic_user, "mailroom");
    EXPECT_EQ(provider_.posts[0].basic_pass, "s3cret");
  }
  provider_.set(post, 200, "{\"active\":false}");
  EXPECT_EQ(s->verify("opaque-token-2").reason, "inactive token");
  EXPECT_EQ(s->verify("opaque-token-2").reason, "inactive token");
  EXPECT_EQ(provider_.count(post), 2);
  provider_.set(post, 0, "");
  EXPECT_EQ(s->verify("opaque-token-3").verdict, auth::TokenVerdict::unavailable);
}

TEST_F(TokenServiceTest, SeveralIssuersEachWithItsOwnKeysAndPolicy) {
  const std::string other = "https://login.partner.example";
  TestKey partner_key("p1", "EdDSA");
  provider_.set("GET " + other + "/.well-known/openid-configuration", 200,
                "{\"issuer\":\"" + other + "\",\"jwks_uri\":\"" + other + "/keys\"}");
  provider_.set("GET " + other + "/keys", 200, jwks_of({&partner_key}));
  Options o;
  IssuerOptions mine;
  mine.issuer = kIssuer;
  mine.audiences = {"mail-server"};
  IssuerOptions partner;
  partner.issuer = other;
  partner.audiences = {"partner-mail"};
  partner.claim = "upn";
  o.issuers = {mine, partner};
  auto s = start(o);
  EXPECT_EQ(s->refresh_now(), "");
  std::string partner_claims = claims("\"aud\":\"partner-mail\",\"upn\":\"carol@example.com\"");
  partner_claims.replace(partner_claims.find(kIssuer), kIssuer.size(), other);
  auto c = s->verify(partner_key.sign(partner_claims));
  ASSERT_EQ(c.verdict, auth::TokenVerdict::valid) << c.reason;
  EXPECT_EQ(c.identity.issuer, other);
  EXPECT_EQ(c.identity.value, "carol@example.com");
  // The partner's key does not sign for our issuer, nor ours for the partner.
  EXPECT_EQ(s->verify(partner_key.sign(claims())).verdict, auth::TokenVerdict::invalid);
  EXPECT_EQ(s->verify(rsa_.sign(partner_claims)).verdict, auth::TokenVerdict::invalid);
  EXPECT_EQ(s->verify(rsa_.sign(claims())).verdict, auth::TokenVerdict::valid);
}

TEST(SsoOptions, OpaqueTokenWithoutIntrospectionIsInvalid) {
  Options o;
  o.background_refresh = false;
  IssuerOptions i;
  i.issuer = kIssuer;
  i.audiences = {"x"};
  o.issuers.push_back(i);
  FakeProvider p;
  auto s = TokenService::start(o, p.fetch());
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->verify("opaque").reason, "not a JWT, and no issuer to introspect it");
  EXPECT_FALSE(TokenService::start(Options{}, p.fetch()));
}

}  // namespace
}  // namespace mailroom::sso
