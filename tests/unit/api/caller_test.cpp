// api::make_caller_authenticator (src/api/caller.h): the Authorization header's forms, API
// tokens (valid, wrong, expired, revoked), identity-provider tokens mapped to accounts with
// and without roles, what cannot answer (503), and the per-IP throttle (429).
#include "src/api/caller.h"

#include <gtest/gtest.h>

#include "auth/resolver.h"
#include "src/service/admin_store.h"
#include "src/service/api_tokens.h"
#include "src/service/role_grants.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_token_verifier.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::api {
namespace {

using service::Grant;
using service::Role;

class CallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_shared<mailroom::testing::FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com");
    dir_->add_account("bob@example.com");
    dir_->add_account("carol@example.com");
    dir_->add_group("helpdesk@example.com", {"bob@example.com"});
    resolver_ = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    auto a = service::open_admin_access(tmp_.file("data"), resolver_, clock_);
    ASSERT_TRUE(a) << a.status().to_string();
    admin_ = *a;
    ASSERT_TRUE(admin_.grants->grant(Role::domain_admin, {"example.com"},
                                     "account:alice@example.com", "test"));
    ASSERT_TRUE(admin_.grants->grant(Role::helpdesk, {}, "group:helpdesk@example.com", "test"));
    idp_ = std::make_shared<mailroom::testing::FakeTokenVerifier>();
    idp_->add_valid("idp.alice", "alice@example.com");
    idp_->add_valid("idp.bob-by-id", "id-bob@example.com", auth::TokenMatch::id);
    idp_->add_valid("idp.carol", "carol@example.com");
    idp_->add_valid("idp.nobody", "nobody@example.com");
    auto t = admin_.tokens->create("ci", {Grant{Role::auditor, {}, ""}}, 3600, "test");
    ASSERT_TRUE(t) << t.status().to_string();
    token_ = t->secret;
    CallerAuthOptions o;
    o.max_failures_per_ip = 3;
    o.lockout_seconds = 600;
    auth_ = make_caller_authenticator(admin_.tokens, admin_.grants, resolver_, idp_, o, clock_);
  }

  static http::Request request(std::optional<std::string> authorization,
                               std::string ip = "192.0.2.1") {
    http::Request r;
    r.method = "GET";
    r.target = r.path = "/api/v1/users";
    r.remote_ip = std::move(ip);
    if (authorization) r.headers.emplace_back("authorization", *authorization);
    return r;
  }
  AuthResult run(std::optional<std::string> authorization, std::string ip = "192.0.2.1") {
    return auth_->authenticate(request(std::move(authorization), std::move(ip)), "api");
  }
  static std::string www(const AuthResult& r) {
    return r.error_response().header("WWW-Authenticate").value_or("");
  }

  mailroom::testing::TempDir tmp_;
  core::ManualClock clock_;
  std::shared_ptr<mailroom::testing::FakeDirectory> dir_;
  std::shared_ptr<auth::Resolver> resolver_;
  service::AdminAccess admin_;
  std::shared_ptr<mailroom::testing::FakeTokenVerifier> idp_;
  std::string token_;
  std::shared_ptr<CallerAuthenticator> auth_;
};

const std::string kRealmOnly = "Bearer realm=\"mailroom\"";

TEST_F(CallerTest, MissingOrOtherSchemeAsksForABearerToken) {
  for (std::optional<std::string> h :
       {std::optional<std::string>(), std::optional<std::string>("Basic YWxpY2U6eA=="),
        std::optional<std::string>("Bearer"), std::optional<std::string>("Bearerx " + token_),
        std::optional<std::string>("")}) {
    auto r = run(h);
    ASSERT_FALSE(r) << h.value_or("(none)");
    EXPECT_EQ(r.error_response().status, 401);
    EXPECT_EQ(www(r), kRealmOnly) << h.value_or("(none)");
  }
  EXPECT_EQ(idp_->calls, 0);
}

TEST_F(CallerTest, MalformedTokensAreRefusedUnread) {
  for (std::string h :
       std::vector<std::string>{"Bearer a b", "Bearer " + token_ + ", Bearer " + token_,
                                "Bearer ab=c", "Bearer =", "Bearer tok\x01",
                                "Bearer " + token_ + " ", "Bearer " + std::string(16385, 'a')}) {
    clock_.advance(std::chrono::seconds(1000));  // stay below the throttle
    auto r = run(h);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error_response().status, 401) << h;
    EXPECT_EQ(www(r), kRealmOnly) << h;
  }
  EXPECT_EQ(idp_->calls, 0);
}

TEST_F(CallerTest, ApiTokenIsTheCaller) {
  for (std::string h : {"Bearer " + token_, "bearer " + token_, "BEARER   " + token_}) {
    auto r = run(h);
    ASSERT_TRUE(r) << h << " " << r.error_response().status;
    EXPECT_EQ(r->name, "token:ci");
    EXPECT_EQ(r->front_end, "api");
    ASSERT_EQ(r->grants.size(), 1u);
    EXPECT_EQ(r->grants[0].role, Role::auditor);
    EXPECT_TRUE(r->can(service::Action::audit, "any.example"));
    EXPECT_FALSE(r->can(service::Action::write, "example.com"));
  }
  auto scim = auth_->authenticate(request("Bearer " + token_), "scim");
  ASSERT_TRUE(scim);
  EXPECT_EQ(scim->front_end, "scim");
  EXPECT_EQ(idp_->calls, 0);  // an mrt_ token never goes to the identity provider
}

TEST_F(CallerTest, WrongExpiredAndRevokedTokensLookTheSame) {
  std::string wrong = token_;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto other = admin_.tokens->create("other", {Grant{Role::auditor, {}, ""}}, 3600, "t");
  ASSERT_TRUE(other);
  auto revoked = admin_.tokens->create("gone", {Grant{Role::auditor, {}, ""}}, 7200, "t");
  ASSERT_TRUE(revoked);
  ASSERT_TRUE(admin_.tokens->revoke("gone", "t"));

  std::vector<http::Response> answers;
  answers.push_back(run("Bearer " + wrong, "192.0.2.10").error_response());
  answers.push_back(run("Bearer " + revoked->secret, "192.0.2.11").error_response());
  answers.push_back(run("Bearer mrt_nothing", "192.0.2.12").error_response());
  clock_.advance(std::chrono::seconds(3600));  // token_ and other expire
  answers.push_back(run("Bearer " + token_, "192.0.2.13").error_response());
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, 401);
    EXPECT_EQ(a.header("WWW-Authenticate"), answers[0].header("WWW-Authenticate"));
    EXPECT_EQ(a.body, answers[0].body);
  }
  auto h = answers[0].header("WWW-Authenticate").value_or("");
  EXPECT_EQ(h.rfind("Bearer realm=\"mailroom\", error=\"invalid_token\"", 0), 0u) << h;
}

TEST_F(CallerTest, IdentityProviderTokenNamesAnAccountWithItsRoles) {
  auto alice = run("Bearer idp.alice");
  ASSERT_TRUE(alice) << alice.error_response().body;
  EXPECT_EQ(alice->name, "alice@example.com");
  EXPECT_TRUE(alice->can(service::Action::write, "example.com"));
  EXPECT_FALSE(alice->can_see("other.org"));

  auto bob = run("Bearer idp.bob-by-id");  // matched by immutable id; a role through a group
  ASSERT_TRUE(bob) << bob.error_response().body;
  EXPECT_EQ(bob->name, "bob@example.com");
  ASSERT_EQ(bob->grants.size(), 1u);
  EXPECT_EQ(bob->grants[0].source, "group:helpdesk@example.com");

  auto carol = run("Bearer idp.carol");  // valid token, no role
  ASSERT_FALSE(carol);
  EXPECT_EQ(carol.error_response().status, 403);
  EXPECT_NE(carol.error_response().body.find("no administrative role"), std::string::npos);

  // A disabled account has no roles, whatever it was granted.
  dir_->account("id-alice@example.com")->status = auth::AccountStatus::disabled;
  EXPECT_EQ(run("Bearer idp.alice").error_response().status, 403);
}

TEST_F(CallerTest, InvalidIdentityProviderTokenOrNoAccount) {
  for (const char* t : {"idp.nobody", "idp.unknown", "eyJhbGciOi.x.y"}) {
    auto r = run(std::string("Bearer ") + t, std::string("198.51.100.") + t[4]);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error_response().status, 401) << t;
    EXPECT_NE(www(r).find("error=\"invalid_token\""), std::string::npos) << t;
  }
}

TEST_F(CallerTest, WhatCannotAnswerIs503) {
  idp_->unavailable = true;
  auto r = run("Bearer idp.alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error_response().status, 503);
  EXPECT_TRUE(r.error_response().header("Retry-After"));
  idp_->unavailable = false;

  dir_->fail_keys = {"helpdesk@example.com"};  // bob's group cannot be read
  EXPECT_EQ(run("Bearer idp.bob-by-id").error_response().status, 503);
  dir_->fail_keys.clear();
  dir_->fail_all = true;  // the account cannot be looked up
  EXPECT_EQ(run("Bearer idp.alice").error_response().status, 503);
  // API tokens need no directory.
  EXPECT_TRUE(run("Bearer " + token_));
  dir_->fail_all = false;
  // None of these were the client's fault: no lockout.
  for (int i = 0; i < 5; ++i) {
    idp_->unavailable = true;
    EXPECT_EQ(run("Bearer idp.alice").error_response().status, 503);
  }
  idp_->unavailable = false;
  EXPECT_TRUE(run("Bearer idp.alice"));
}

TEST_F(CallerTest, WithoutSsoOnlyApiTokens) {
  auto no_sso =
      make_caller_authenticator(admin_.tokens, admin_.grants, resolver_, nullptr, {}, clock_);
  auto r = no_sso->authenticate(request("Bearer idp.alice"), "api");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error_response().status, 401);
  EXPECT_NE(www(r).find("invalid_token"), std::string::npos);
  EXPECT_TRUE(no_sso->authenticate(request("Bearer " + token_), "api"));
  EXPECT_EQ(idp_->calls, 0);
}

TEST_F(CallerTest, FailuresFromOneIpAreThrottled) {
  const std::string bad = "Bearer mrt_0000000000000000_" + std::string(48, '0');
  // Missing headers do not count.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(run(std::nullopt).error_response().status, 401);
  EXPECT_TRUE(run("Bearer " + token_));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(bad).error_response().status, 401);
  // Locked out: even a good token gets 429, and nothing is looked up.
  int idp_calls = idp_->calls;
  for (std::string h : std::vector<std::string>{"Bearer " + token_, "Bearer idp.alice", bad}) {
    auto r = run(h);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error_response().status, 429) << h;
    EXPECT_EQ(r.error_response().header("Retry-After"), "600");
  }
  EXPECT_EQ(idp_->calls, idp_calls);
  // Another client is not affected.
  EXPECT_TRUE(run("Bearer " + token_, "203.0.113.9"));
  // The lockout ends.
  clock_.advance(std::chrono::seconds(601));
  EXPECT_TRUE(run("Bearer " + token_));
  // Malformed and IdP refusals count too.
  clock_.advance(std::chrono::seconds(3600));
  ASSERT_TRUE(admin_.tokens->revoke("ci", "t"));
  EXPECT_EQ(run("Bearer a b").error_response().status, 401);
  EXPECT_EQ(run("Bearer idp.unknown").error_response().status, 401);
  EXPECT_EQ(run("Bearer idp.nobody").error_response().status, 401);
  EXPECT_EQ(run("Bearer idp.alice").error_response().status, 429);
}

}  // namespace
}  // namespace mailroom::api
