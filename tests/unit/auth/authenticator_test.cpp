// SASL exchanges through the real Cyrus library (PLAIN, LOGIN), SCRAM-SHA-256 against a client
// computed here, throttling with a fake clock, and the outcomes disabled / unavailable.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "auth/password/password_hash.h"
#include "auth/sasl/sasl_authenticator.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::auth {
namespace {

using testing::FakeDirectory;

std::string plain(const std::string& authz, const std::string& user, const std::string& pw) {
  return authz + std::string(1, '\0') + user + std::string(1, '\0') + pw;
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_shared<FakeDirectory>();
    fake_->add_domain("example.com");
    fake_->add_account("alice@example.com", "wonderland");
    fake_->add_account("bob@example.com", "builder");
    auto resolver = std::make_shared<Resolver>(fake_, ResolverOptions{});
    AuthOptions o;
    o.throttle.max_failures_per_account = 3;
    o.throttle.max_failures_per_ip = 5;
    o.throttle.failure_window_seconds = 60;
    o.throttle.lockout_seconds = 300;
    o.installation_key = "installation key of this test";
    auth_ = make_sasl_authenticator(resolver, o, clock_);
    tls_.session_id = "s1";
    tls_.protocol = "imap";
    tls_.remote_ip = "192.0.2.1";
    tls_.tls = true;
    log_ = std::make_shared<std::ostringstream>();
    old_logger_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  void TearDown() override { spdlog::set_default_logger(old_logger_); }

  AuthStep plain_login(const std::string& user, const std::string& pw, const ClientInfo& c) {
    auto ex = auth_->start("PLAIN", c);
    return ex->step(plain("", user, pw));
  }

  core::ManualClock clock_{1000};  // declared before auth_, which keeps a reference
  std::shared_ptr<FakeDirectory> fake_;
  std::shared_ptr<Authenticator> auth_;
  ClientInfo tls_;
  std::shared_ptr<std::ostringstream> log_;
  std::shared_ptr<spdlog::logger> old_logger_;
};

TEST_F(AuthenticatorTest, PlainWithInitialResponse) {
  auto s = plain_login("alice@example.com", "wonderland", tls_);
  ASSERT_EQ(s.outcome, AuthOutcome::success) << auth_outcome_name(s.outcome) << log_->str();
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");
  EXPECT_EQ(s.principal.address, "alice@example.com");
  std::string log = log_->str();
  EXPECT_NE(log.find("event=auth.attempt session=s1 protocol=imap ip=192.0.2.1 mechanism=PLAIN "
                     "user=alice@example.com result=success"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("wonderland"), std::string::npos) << "password leaked into the log";
}

TEST_F(AuthenticatorTest, PlainWithoutInitialResponse) {
  auto ex = auth_->start("plain", tls_);
  auto first = ex->step(std::nullopt);
  ASSERT_EQ(first.outcome, AuthOutcome::in_progress);
  EXPECT_TRUE(first.challenge.empty());
  auto s = ex->step(plain("", "bob@example.com", "builder"));
  EXPECT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.account_id, "id-bob@example.com");
}

TEST_F(AuthenticatorTest, PlainWrongPasswordAndUnknownUser) {
  EXPECT_EQ(plain_login("alice@example.com", "WONDERLAND", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("nobody@example.com", "x", tls_).outcome, AuthOutcome::failed);
  std::string log = log_->str();
  EXPECT_NE(log.find("result=failed reason=\"wrong password\""), std::string::npos) << log;
  EXPECT_NE(log.find("result=failed reason=\"unknown user\""), std::string::npos) << log;
  EXPECT_EQ(log.find("WONDERLAND"), std::string::npos);
}

TEST_F(AuthenticatorTest, PlainAuthorizationIdentity) {
  auto ex = auth_->start("PLAIN", tls_);
  EXPECT_EQ(ex->step(plain("alice@example.com", "alice@example.com", "wonderland")).outcome,
            AuthOutcome::success);
  ex = auth_->start("PLAIN", tls_);
  EXPECT_EQ(ex->step(plain("bob@example.com", "alice@example.com", "wonderland")).outcome,
            AuthOutcome::failed);
}

TEST_F(AuthenticatorTest, PlainMalformed) {
  auto ex = auth_->start("PLAIN", tls_);
  auto s = ex->step(std::string("no separators at all"));
  // Malformed, not failed: the client gets IMAP BAD / SMTP 501, not NO / 535.
  EXPECT_EQ(s.outcome, AuthOutcome::malformed) << auth_outcome_name(s.outcome);
}

TEST_F(AuthenticatorTest, LoginMechanism) {
  auto ex = auth_->start("LOGIN", tls_);
  auto s = ex->step(std::nullopt);
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress) << auth_outcome_name(s.outcome);
  EXPECT_EQ(s.challenge, "Username:");
  s = ex->step(std::string("alice@example.com"));
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress);
  EXPECT_EQ(s.challenge, "Password:");
  s = ex->step(std::string("wonderland"));
  EXPECT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");

  ex = auth_->start("LOGIN", tls_);
  s = ex->step(std::string("bob@example.com"));  // initial response = user name
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress);
  EXPECT_EQ(s.challenge, "Password:");
  EXPECT_EQ(ex->step(std::string("wrong")).outcome, AuthOutcome::failed);
}

TEST_F(AuthenticatorTest, DisabledAccount) {
  fake_->account("id-alice@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::disabled);
  // A wrong password does not learn that the account is disabled.
  EXPECT_EQ(plain_login("alice@example.com", "nope", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(auth_->check_plain("alice@example.com", "wonderland", tls_).outcome,
            AuthOutcome::disabled);
}

TEST_F(AuthenticatorTest, DirectoryUnavailable) {
  fake_->fail_all = true;
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::unavailable);
  EXPECT_EQ(auth_->check_plain("alice@example.com", "wonderland", tls_).outcome,
            AuthOutcome::unavailable);
  fake_->fail_all = false;
  fake_->fail_passwords = true;  // lookup works, password check cannot be made
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::unavailable);
  auto ex = auth_->start("LOGIN", tls_);
  ex->step(std::string("alice@example.com"));
  EXPECT_EQ(ex->step(std::string("wonderland")).outcome, AuthOutcome::unavailable);
  // Outages do not count as failures.
  fake_->fail_passwords = false;
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::success);
}

TEST_F(AuthenticatorTest, PlaintextNeedsTlsOrLoopback) {
  ClientInfo clear = tls_;
  clear.tls = false;
  EXPECT_FALSE(auth_->plaintext_allowed(clear));
  auto m = auth_->mechanisms(clear);
  EXPECT_EQ(std::count(m.begin(), m.end(), "PLAIN"), 0);
  EXPECT_EQ(std::count(m.begin(), m.end(), "LOGIN"), 0);
  EXPECT_EQ(std::count(m.begin(), m.end(), "SCRAM-SHA-256"), 1);
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", clear).outcome,
            AuthOutcome::encryption_required);
  EXPECT_EQ(auth_->check_plain("alice@example.com", "wonderland", clear).outcome,
            AuthOutcome::encryption_required);
  auto tls_mechs = auth_->mechanisms(tls_);
  EXPECT_EQ(tls_mechs, (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"}));
  // Loopback only when the option says so.
  ClientInfo loop = clear;
  loop.loopback = true;
  EXPECT_FALSE(auth_->plaintext_allowed(loop));
  AuthOptions o;
  o.allow_plaintext_on_loopback = true;
  auto lax = make_sasl_authenticator(std::make_shared<Resolver>(fake_, ResolverOptions{}), o);
  EXPECT_TRUE(lax->plaintext_allowed(loop));
  EXPECT_FALSE(lax->plaintext_allowed(clear));
  auto ex = lax->start("PLAIN", loop);
  EXPECT_EQ(ex->step(plain("", "alice@example.com", "wonderland")).outcome, AuthOutcome::success);
}

TEST_F(AuthenticatorTest, UnknownMechanism) {
  auto ex = auth_->start("CRAM-MD5", tls_);
  EXPECT_EQ(ex->step(std::nullopt).outcome, AuthOutcome::bad_mechanism);
  ex = auth_->start("X-NOTHING", tls_);
  EXPECT_EQ(ex->step(std::nullopt).outcome, AuthOutcome::bad_mechanism);
}

TEST_F(AuthenticatorTest, CheckPlain) {
  auto s = auth_->check_plain("alice@example.com", "wonderland", tls_);
  ASSERT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");
  EXPECT_EQ(auth_->check_plain("alice@example.com", "x", tls_).outcome, AuthOutcome::failed);
}

TEST_F(AuthenticatorTest, ThrottlePerAccountAndSource) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  }
  // Locked from the failing IP: even the right password is refused there...
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::throttled);
  EXPECT_EQ(plain_login("ALICE@example.com", "wonderland", tls_).outcome, AuthOutcome::throttled);
  // ...but the real user from another address still gets in (issue 13, item 6: a lockout is
  // not a denial of service), and bob is not affected.
  ClientInfo other = tls_;
  other.remote_ip = "198.51.100.7";
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", other).outcome, AuthOutcome::success);
  EXPECT_EQ(plain_login("bob@example.com", "builder", tls_).outcome, AuthOutcome::success);
  clock_.advance(std::chrono::seconds(301));
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::success);
  EXPECT_NE(log_->str().find("result=throttled"), std::string::npos);
}

TEST_F(AuthenticatorTest, ThrottleCountsEverySpellingOfOneAccount) {
  // Only one local domain: "alice" is alice@example.com too.
  EXPECT_EQ(plain_login("alice", "bad", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("ALICE", "bad", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::throttled);
}

TEST_F(AuthenticatorTest, ThrottlePerIp) {
  // Five failures over different accounts from one IP lock the IP.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(plain_login("user" + std::to_string(i) + "@example.com", "x", tls_).outcome,
              AuthOutcome::failed);
  }
  EXPECT_EQ(plain_login("bob@example.com", "builder", tls_).outcome, AuthOutcome::throttled);
  ClientInfo other = tls_;
  other.remote_ip = "198.51.100.7";
  EXPECT_EQ(plain_login("bob@example.com", "builder", other).outcome, AuthOutcome::success);
}

TEST_F(AuthenticatorTest, FailuresOutsideTheWindowAreForgotten) {
  EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::success);
}

// --- SCRAM-SHA-256 (RFC 5802 / 7677), client computed here ---

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string attr(const std::string& msg, char name) {
  std::string key = std::string(1, name) + "=";
  size_t pos = msg.rfind(key, 0) == 0 ? 0 : msg.find("," + key);
  if (pos == std::string::npos) return {};
  if (pos != 0) ++pos;
  size_t end = msg.find(',', pos);
  return msg.substr(pos + 2, end == std::string::npos ? std::string::npos : end - pos - 2);
}

struct ScramClient {
  std::string user, pw, cnonce = "fyko+d2lbbFgONRv9qkxdawL";
  std::string first_bare, auth_message, server_key;
  std::string first() {
    first_bare = "n=" + user + ",r=" + cnonce;
    return "n,," + first_bare;
  }
  std::string final(const std::string& server_first) {
    std::string nonce = attr(server_first, 'r');
    auto salt = *password::base64_decode(attr(server_first, 's'));
    int iter = std::stoi(attr(server_first, 'i'));
    unsigned char salted[32];
    PKCS5_PBKDF2_HMAC(pw.data(), static_cast<int>(pw.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()),
                      static_cast<int>(salt.size()), iter, EVP_sha256(), 32, salted);
    std::string sp(reinterpret_cast<char*>(salted), 32);
    std::string client_key = hmac(sp, "Client Key");
    unsigned char stored[32];
    SHA256(reinterpret_cast<const unsigned char*>(client_key.data()), 32, stored);
    server_key = hmac(sp, "Server Key");
    std::string without_proof = "c=biws,r=" + nonce;
    auth_message = first_bare + "," + server_first + "," + without_proof;
    std::string sig = hmac(std::string(reinterpret_cast<char*>(stored), 32), auth_message);
    std::string proof(32, '\0');
    for (int i = 0; i < 32; ++i) proof[i] = static_cast<char>(client_key[i] ^ sig[i]);
    return without_proof + ",p=" + password::base64_encode(proof);
  }
  std::string expected_server_final() const {
    return "v=" + password::base64_encode(hmac(server_key, auth_message));
  }
};

class ScramTest : public AuthenticatorTest {
 protected:
  void SetUp() override {
    AuthenticatorTest::SetUp();
    fake_->set_scram_secret("id-alice@example.com", *password::scram_sha256_secret("wonderland"));
  }
  AuthStep run(ScramClient& c, std::string* server_final = nullptr) {
    auto ex = auth_->start("SCRAM-SHA-256", tls_);
    auto s = ex->step(c.first());
    if (s.outcome != AuthOutcome::in_progress) return s;
    EXPECT_EQ(attr(s.challenge, 'r').rfind(c.cnonce, 0), 0u) << s.challenge;
    s = ex->step(c.final(s.challenge));
    if (s.outcome != AuthOutcome::in_progress) return s;
    if (server_final) *server_final = s.challenge;
    return ex->step(std::string());
  }
};

TEST_F(ScramTest, Success) {
  ScramClient c{"alice@example.com", "wonderland"};
  std::string server_final;
  auto s = run(c, &server_final);
  ASSERT_EQ(s.outcome, AuthOutcome::success) << auth_outcome_name(s.outcome) << log_->str();
  EXPECT_EQ(server_final, c.expected_server_final());
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");
  EXPECT_NE(log_->str().find("mechanism=SCRAM-SHA-256 user=alice@example.com result=success"),
            std::string::npos);
}

TEST_F(ScramTest, WrongPasswordUnknownUserNoSecret) {
  ScramClient wrong{"alice@example.com", "wonderlanD"};
  EXPECT_EQ(run(wrong).outcome, AuthOutcome::failed);
  ScramClient unknown{"nobody@example.com", "x"};
  EXPECT_EQ(run(unknown).outcome, AuthOutcome::failed);  // fails at the end, not at once
  ScramClient no_secret{"bob@example.com", "builder"};
  EXPECT_EQ(run(no_secret).outcome, AuthOutcome::failed);
}

// The server-first message a client sees for `user` ("r=...,s=<salt>,i=<n>").
std::string server_first(Authenticator& a, const ClientInfo& c, const std::string& user) {
  auto ex = a.start("SCRAM-SHA-256", c);
  return ex->step("n,,n=" + user + ",r=abc").challenge;
}

// Issue 13, item 7: the fake salt of an unknown user cannot be computed from the source (it
// depends on the installation's key) and looks like a real one (same length and iterations).
TEST_F(ScramTest, FakeSaltDependsOnTheInstallationKey) {
  std::string fake1 = attr(server_first(*auth_, tls_, "nobody@example.com"), 's');
  EXPECT_EQ(fake1, attr(server_first(*auth_, tls_, "nobody@example.com"), 's'));  // stable
  std::string real = server_first(*auth_, tls_, "alice@example.com");
  std::string fake = server_first(*auth_, tls_, "nobody@example.com");
  EXPECT_EQ(attr(real, 'i'), attr(fake, 'i'));
  EXPECT_EQ(password::base64_decode(attr(real, 's'))->size(),
            password::base64_decode(attr(fake, 's'))->size());
  AuthOptions o;
  o.installation_key = "another installation";
  auto other = make_sasl_authenticator(std::make_shared<Resolver>(fake_, ResolverOptions{}), o);
  EXPECT_NE(fake1, attr(server_first(*other, tls_, "nobody@example.com"), 's'));
}

// SCRAM failures count with PLAIN's, under the account's id (every spelling), and a locked
// account does not get in by SCRAM either.
TEST_F(ScramTest, SharesThePlainThrottle) {
  EXPECT_EQ(plain_login("alice", "bad", tls_).outcome, AuthOutcome::failed);
  ScramClient wrong{"ALICE@example.com", "bad"};
  EXPECT_EQ(run(wrong).outcome, AuthOutcome::failed);
  EXPECT_EQ(plain_login("alice@example.com", "bad", tls_).outcome, AuthOutcome::failed);
  ScramClient right{"alice@example.com", "wonderland"};
  EXPECT_EQ(run(right).outcome, AuthOutcome::throttled);
  EXPECT_EQ(plain_login("alice@example.com", "wonderland", tls_).outcome, AuthOutcome::throttled);
  ClientInfo other = tls_;
  other.remote_ip = "198.51.100.8";
  auto ex = auth_->start("SCRAM-SHA-256", other);
  ScramClient elsewhere{"alice@example.com", "wonderland"};
  auto s = ex->step(elsewhere.first());
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress);
  s = ex->step(elsewhere.final(s.challenge));
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress);
  EXPECT_EQ(ex->step(std::string()).outcome, AuthOutcome::success);
}

TEST_F(ScramTest, DisabledAndUnavailable) {
  fake_->account("id-alice@example.com")->status = AccountStatus::disabled;
  ScramClient c{"alice@example.com", "wonderland"};
  EXPECT_EQ(run(c).outcome, AuthOutcome::disabled);
  fake_->account("id-alice@example.com")->status = AccountStatus::active;
  fake_->fail_all = true;
  EXPECT_EQ(run(c).outcome, AuthOutcome::unavailable);
}

TEST_F(ScramTest, MalformedAndChannelBinding) {
  auto ex = auth_->start("SCRAM-SHA-256", tls_);
  EXPECT_EQ(ex->step(std::string("garbage")).outcome, AuthOutcome::malformed);
  ex = auth_->start("SCRAM-SHA-256", tls_);
  EXPECT_EQ(ex->step(std::string("p=tls-unique,,n=alice@example.com,r=abc")).outcome,
            AuthOutcome::failed);
  ex = auth_->start("SCRAM-SHA-256", tls_);
  auto s = ex->step(std::string("n,,n=alice@example.com,r=abc"));
  ASSERT_EQ(s.outcome, AuthOutcome::in_progress);
  EXPECT_EQ(ex->step(std::string("c=biws,r=wrongnonce,p=AAAA")).outcome, AuthOutcome::failed);
}

}  // namespace
}  // namespace mailroom::auth
