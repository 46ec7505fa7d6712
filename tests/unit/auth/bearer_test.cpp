// OAUTHBEARER (RFC 7628) and XOAUTH2 server side: message parsing and the exchange through the
// Authenticator, with a token verifier that answers from a table (the real one, sso/, has its
// own tests) and the fake directory.
#include <gtest/gtest.h>

#include <map>

#include "auth/sasl/bearer_server.h"
#include "auth/sasl/sasl_authenticator.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::auth {
namespace {

using testing::FakeDirectory;

const std::string kSep(1, '\x01');

std::string oauthbearer(const std::string& gs2, const std::string& token) {
  return gs2 + kSep + "host=mail.example.com" + kSep + "port=993" + kSep + "auth=Bearer " + token +
         kSep + kSep;
}
std::string xoauth2(const std::string& user, const std::string& token) {
  return "user=" + user + kSep + "auth=Bearer " + token + kSep + kSep;
}

TEST(BearerParse, OAuthBearerWithAndWithoutAuthzid) {
  auto m = parse_oauthbearer(oauthbearer("n,a=alice@example.com,", "tok.en-1_~+/="));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->user, "alice@example.com");
  EXPECT_EQ(m->token, "tok.en-1_~+/=");
  m = parse_oauthbearer(oauthbearer("n,,", "abc"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->user, "");
  // RFC 5801 saslname escapes in the authzid.
  m = parse_oauthbearer(oauthbearer("y,a=a=2Cb=3Dc,", "abc"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->user, "a,b=c");
  // The scheme is case-insensitive.
  m = parse_oauthbearer("n,," + kSep + "auth=bearer abc" + kSep + kSep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->token, "abc");
}

TEST(BearerParse, OAuthBearerMalformed) {
  for (const std::string& bad : {
           std::string(""),
           std::string("n,,"),                                       // no kvpairs
           "p=tls-unique,," + kSep + "auth=Bearer a" + kSep + kSep,  // channel binding
           "n,b=x," + kSep + "auth=Bearer a" + kSep + kSep,          // not an authzid
           "n,a=bad=escape," + kSep + "auth=Bearer a" + kSep + kSep,
           "n,," + kSep + "auth=Bearer a" + kSep,               // no final separator
           "n,," + kSep + "auth=Bearer a" + kSep + kSep + "x",  // data after it
           "n,," + kSep + "host=x" + kSep + kSep,               // no auth
           "n,," + kSep + "auth=Basic YQ==" + kSep + kSep,      // not bearer
           "n,," + kSep + "auth=Bearer " + kSep + kSep,         // empty token
           "n,," + kSep + "auth=Bearer a b" + kSep + kSep,      // not a b64token
           "n,," + kSep + "auth=Bearer =a" + kSep + kSep,       // '=' only at the end
           "n,," + kSep + "auth=Bearer a" + kSep + "auth=Bearer b" + kSep + kSep,  // two
           "n,," + kSep + "=v" + kSep + "auth=Bearer a" + kSep + kSep,             // no key
           "n,a=al" + kSep + "ice,," + kSep + "auth=Bearer a" + kSep + kSep,       // found by fuzz
       }) {
    EXPECT_FALSE(parse_oauthbearer(bad)) << bad;
  }
}

TEST(BearerParse, XOAuth2) {
  auto m = parse_xoauth2(xoauth2("alice@example.com", "ya29.token"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->user, "alice@example.com");
  EXPECT_EQ(m->token, "ya29.token");
  EXPECT_FALSE(parse_xoauth2("user=a" + kSep + kSep));
  EXPECT_FALSE(parse_xoauth2("user=a\rb" + kSep + "auth=Bearer t" + kSep + kSep));
  EXPECT_FALSE(parse_xoauth2("user=a" + kSep + "auth=Bearer t" + kSep));
}

class TableVerifier : public TokenVerifier {
 public:
  std::map<std::string, TokenCheck> answers;
  int calls = 0;
  TokenCheck verify(std::string_view token) override {
    ++calls;
    auto it = answers.find(std::string(token));
    if (it != answers.end()) return it->second;
    TokenCheck no;
    no.reason = "unknown token";
    return no;
  }
  std::string required_scope() const override { return "mail"; }
  std::string openid_configuration() const override {
    return "https://idp.example.com/.well-known/openid-configuration";
  }
};

TokenCheck valid(const std::string& value, TokenMatch match = TokenMatch::login) {
  TokenCheck c;
  c.verdict = TokenVerdict::valid;
  c.identity = {"https://idp.example.com", match == TokenMatch::id ? "sub" : "email", value, match};
  return c;
}

class BearerExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_shared<FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com", "wonderland");
    dir_->add_account("bob@example.com", "builder");
    dir_->add_account("carol@example.com", "x").status = AccountStatus::disabled;
    tokens_ = std::make_shared<TableVerifier>();
    tokens_->answers["alice-token"] = valid("alice@example.com");
    tokens_->answers["alice-by-id"] = valid("id-alice@example.com", TokenMatch::id);
    tokens_->answers["carol-token"] = valid("carol@example.com");
    tokens_->answers["ghost-token"] = valid("ghost@example.com");
    TokenCheck down;
    down.verdict = TokenVerdict::unavailable;
    down.reason = "no keys";
    tokens_->answers["down-token"] = down;
    TokenCheck scope;
    scope.reason = "scope mail not granted";
    scope.status = "insufficient_scope";
    tokens_->answers["scope-token"] = scope;
    AuthOptions o;
    o.throttle.max_failures_per_account = 3;
    o.throttle.max_failures_per_ip = 100;
    auth_ = make_sasl_authenticator(std::make_shared<Resolver>(dir_, ResolverOptions{}), o, clock_,
                                    nullptr, tokens_);
    tls_.session_id = "s1";
    tls_.protocol = "imap";
    tls_.remote_ip = "192.0.2.1";
    tls_.tls = true;
  }

  AuthStep run(const std::string& mech, const std::string& message, std::string* error = nullptr) {
    auto ex = auth_->start(mech, tls_);
    auto s = ex->step(message);
    if (s.outcome == AuthOutcome::in_progress) {
      if (error) *error = s.challenge;
      s = ex->step(mech == "OAUTHBEARER" ? std::string(kSep) : std::string());
    }
    return s;
  }

  core::ManualClock clock_{1000};
  std::shared_ptr<FakeDirectory> dir_;
  std::shared_ptr<TableVerifier> tokens_;
  std::shared_ptr<Authenticator> auth_;
  ClientInfo tls_;
};

TEST_F(BearerExchangeTest, OfferedOnlyWithAVerifierAndOnlyWhereCredentialsMayTravel) {
  auto mechs = auth_->mechanisms(tls_);
  EXPECT_NE(std::find(mechs.begin(), mechs.end(), "OAUTHBEARER"), mechs.end());
  EXPECT_NE(std::find(mechs.begin(), mechs.end(), "XOAUTH2"), mechs.end());
  ClientInfo clear = tls_;
  clear.tls = false;
  mechs = auth_->mechanisms(clear);
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "OAUTHBEARER"), mechs.end());
  EXPECT_EQ(
      auth_->start("XOAUTH2", clear)->step(xoauth2("alice@example.com", "alice-token")).outcome,
      AuthOutcome::encryption_required);
  auto without = make_sasl_authenticator(std::make_shared<Resolver>(dir_, ResolverOptions{}),
                                         AuthOptions{}, clock_);
  mechs = without->mechanisms(tls_);
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "XOAUTH2"), mechs.end());
  EXPECT_EQ(without->start("XOAUTH2", tls_)->step(xoauth2("a", "alice-token")).outcome,
            AuthOutcome::bad_mechanism);
}

TEST_F(BearerExchangeTest, ValidTokenLogsTheAccountIn) {
  auto s = run("XOAUTH2", xoauth2("alice@example.com", "alice-token"));
  ASSERT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");
  s = run("OAUTHBEARER", oauthbearer("n,,", "alice-token"));
  EXPECT_EQ(s.outcome, AuthOutcome::success);
  s = run("OAUTHBEARER", oauthbearer("n,a=alice@example.com,", "alice-by-id"));
  ASSERT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.address, "alice@example.com");
  EXPECT_EQ(s.principal.expires_at, 0);  // the token told no expiry
  // The token's expiry reaches the principal (a JMAP push stream ends then).
  auto expiring = valid("alice@example.com");
  expiring.identity.expires_at = 4102444800;
  tokens_->answers["expiring-token"] = expiring;
  s = run("OAUTHBEARER", oauthbearer("n,,", "expiring-token"));
  ASSERT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.expires_at, 4102444800);
}

TEST_F(BearerExchangeTest, NoInitialResponseGetsAnEmptyChallenge) {
  auto ex = auth_->start("OAUTHBEARER", tls_);
  auto first = ex->step(std::nullopt);
  ASSERT_EQ(first.outcome, AuthOutcome::in_progress);
  EXPECT_EQ(first.challenge, "");
  EXPECT_EQ(ex->step(oauthbearer("n,,", "alice-token")).outcome, AuthOutcome::success);
}

TEST_F(BearerExchangeTest, InvalidTokenGetsTheJsonErrorThenFails) {
  std::string error;
  auto s = run("OAUTHBEARER", oauthbearer("n,,", "forged"), &error);
  EXPECT_EQ(s.outcome, AuthOutcome::failed);
  EXPECT_EQ(error,
            "{\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":"
            "\"https://idp.example.com/.well-known/openid-configuration\"}");
  s = run("OAUTHBEARER", oauthbearer("n,,", "scope-token"), &error);
  EXPECT_EQ(s.outcome, AuthOutcome::failed);
  EXPECT_NE(error.find("\"status\":\"insufficient_scope\""), std::string::npos) << error;
  // XOAUTH2 answers in Google's form.
  s = run("XOAUTH2", xoauth2("alice@example.com", "forged"), &error);
  EXPECT_EQ(s.outcome, AuthOutcome::failed);
  EXPECT_EQ(error.rfind("{\"status\":\"401\",\"schemes\":\"bearer\"", 0), 0u) << error;
}

TEST_F(BearerExchangeTest, TheNamedUserMustBeTheTokensAccount) {
  EXPECT_EQ(run("XOAUTH2", xoauth2("bob@example.com", "alice-token")).outcome, AuthOutcome::failed);
  EXPECT_EQ(run("OAUTHBEARER", oauthbearer("n,a=nobody@example.com,", "alice-token")).outcome,
            AuthOutcome::failed);
}

TEST_F(BearerExchangeTest, DisabledUnknownAndUnavailable) {
  EXPECT_EQ(run("XOAUTH2", xoauth2("carol@example.com", "carol-token")).outcome,
            AuthOutcome::disabled);
  EXPECT_EQ(run("XOAUTH2", xoauth2("ghost@example.com", "ghost-token")).outcome,
            AuthOutcome::failed);
  // The provider cannot be asked: temporary, and without the error round trip.
  auto ex = auth_->start("XOAUTH2", tls_);
  EXPECT_EQ(ex->step(xoauth2("alice@example.com", "down-token")).outcome, AuthOutcome::unavailable);
  // The directory cannot be asked: temporary too.
  dir_->fail_keys.insert("alice@example.com");
  EXPECT_EQ(run("XOAUTH2", xoauth2("alice@example.com", "alice-token")).outcome,
            AuthOutcome::unavailable);
}

TEST_F(BearerExchangeTest, MalformedMessages) {
  EXPECT_EQ(run("XOAUTH2", "user=alice").outcome, AuthOutcome::malformed);
  EXPECT_EQ(run("OAUTHBEARER", "p=x,," + kSep + "auth=Bearer a" + kSep + kSep).outcome,
            AuthOutcome::failed);  // channel binding is not offered
  EXPECT_EQ(tokens_->calls, 0);
}

TEST_F(BearerExchangeTest, FailuresAreThrottled) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run("XOAUTH2", xoauth2("alice@example.com", "forged")).outcome, AuthOutcome::failed);
  }
  int calls = tokens_->calls;
  EXPECT_EQ(run("XOAUTH2", xoauth2("alice@example.com", "alice-token")).outcome,
            AuthOutcome::throttled);
  EXPECT_EQ(tokens_->calls, calls);  // refused before the token is looked at
}

}  // namespace
}  // namespace mailroom::auth
