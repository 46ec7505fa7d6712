// App passwords (auth/app_passwords.h): the secret's format, storage (0600, hashes only),
// verification of one hash per login, protocol limits, the revocation rules (by hand,
// removed/disabled account, changed directory password), and the authenticator's use of
// them with the directory_password_protocols policy.
#include "auth/app_passwords.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "auth/sasl/sasl_authenticator.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::auth {
namespace {

using testing::FakeDirectory;
using testing::TempDir;

class AppPasswordLog {
 public:
  AppPasswordLog() : old_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~AppPasswordLog() { spdlog::set_default_logger(old_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> old_;
};

TEST(AppPasswordFormat, FourGroupsOfFourFromTheAlphabet) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string p = generate_app_password();
    ASSERT_EQ(p.size(), 19u) << p;
    for (size_t j = 0; j < p.size(); ++j) {
      if (j % 5 == 4) {
        EXPECT_EQ(p[j], '-') << p;
      } else {
        EXPECT_NE(std::string_view("abcdefghijkmnpqrstuvwxyz23456789").find(p[j]),
                  std::string_view::npos)
            << p;
      }
    }
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 200u);  // 80 bits: no repeats
}

TEST(AppPasswordFormat, NormalizeIgnoresCaseSpacesAndDashes) {
  EXPECT_EQ(normalize_app_password("abcd-efgh-ijkm-npqr"), "abcdefghijkmnpqr");
  EXPECT_EQ(normalize_app_password("ABCD EFGH IJKM NPQR"), "abcdefghijkmnpqr");
  EXPECT_EQ(normalize_app_password("abcdefghijkmnpqr"), "abcdefghijkmnpqr");
  EXPECT_FALSE(normalize_app_password("wonderland"));
  EXPECT_FALSE(normalize_app_password("abcd-efgh-ijkm-npq"));      // 15 characters
  EXPECT_FALSE(normalize_app_password("abcd-efgh-ijkm-npqrs"));    // 17
  EXPECT_FALSE(normalize_app_password("abcd-efgh-ijkm-npq0"));     // 0 is not in the alphabet
  EXPECT_FALSE(normalize_app_password("abcd-efgh-ijkm-npq\xc3"));  // not ASCII
}

TEST(AppPasswordStamp, ChangeTimeWinsOverHash) {
  Account a;
  EXPECT_EQ(password_stamp(a), "");
  a.password_hash = "{SSHA512}abc";
  std::string by_hash = password_stamp(a);
  EXPECT_EQ(by_hash.rfind("h:", 0), 0u);
  EXPECT_EQ(by_hash.find("abc"), std::string::npos);  // a digest, not the hash itself
  a.password_hash = "{SSHA512}abd";
  EXPECT_NE(password_stamp(a), by_hash);
  a.password_changed = "20261205010000Z";
  EXPECT_EQ(password_stamp(a), "t:20261205010000Z");
}

class AppPasswordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.add_domain("example.com");
    dir_.add_account("alice@example.com", "wonderland");
    dir_.add_account("bob@example.com", "builder");
    auto s = AppPasswordStore::open({tmp_.file("app-passwords.db")}, clock_);
    ASSERT_TRUE(s) << s.status().to_string();
    store_ = *s;
  }
  Account alice() { return *dir_.find_account_by_id("id-alice@example.com"); }
  Account bob() { return *dir_.find_account_by_id("id-bob@example.com"); }
  AppPasswordStore::Check check(const Account& a, const std::string& secret,
                                const std::string& protocol = "imap", AppPassword* out = nullptr) {
    AppPassword m;
    auto r = store_->verify(a, secret, protocol, out ? out : &m);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : AppPasswordStore::Check::no_match;
  }

  TempDir tmp_;
  core::ManualClock clock_{1'800'000'000};
  FakeDirectory dir_;
  std::shared_ptr<AppPasswordStore> store_;
};

TEST_F(AppPasswordStoreTest, FileIsPrivateAndHoldsNoSecret) {
  auto c = store_->create(alice(), "phone", {});
  ASSERT_TRUE(c) << c.status().to_string();
  struct stat st {};
  ASSERT_EQ(::stat(tmp_.file("app-passwords.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  store_.reset();  // checkpoint: the whole content is in the main file
  std::ifstream f(tmp_.file("app-passwords.db"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(c->secret), std::string::npos);
  EXPECT_EQ(bytes.find(*normalize_app_password(c->secret)), std::string::npos);
  EXPECT_NE(bytes.find("{SSHA512}"), std::string::npos);
}

TEST_F(AppPasswordStoreTest, CreateListVerify) {
  auto c = store_->create(alice(), "thunderbird", {"IMAP", "smtp", "imap"});
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->record.id.size(), 8u);
  EXPECT_EQ(c->record.protocols, (std::vector<std::string>{"imap", "smtp"}));
  EXPECT_EQ(c->record.created_at, 1'800'000'000);

  AppPassword m;
  EXPECT_EQ(check(alice(), c->secret, "imap", &m), AppPasswordStore::Check::ok);
  EXPECT_EQ(m.id, c->record.id);
  // Typed in capitals, with spaces instead of dashes.
  std::string typed = c->secret;
  for (auto& ch : typed) ch = ch == '-' ? ' ' : static_cast<char>(std::toupper(ch));
  EXPECT_EQ(check(alice(), typed, "smtp"), AppPasswordStore::Check::ok);
  // Another account, a wrong secret, a directory password: no match.
  EXPECT_EQ(check(bob(), c->secret), AppPasswordStore::Check::no_match);
  EXPECT_EQ(check(alice(), generate_app_password()), AppPasswordStore::Check::no_match);
  EXPECT_EQ(check(alice(), "wonderland"), AppPasswordStore::Check::no_match);

  clock_.advance(std::chrono::seconds(60));
  ASSERT_EQ(check(alice(), c->secret), AppPasswordStore::Check::ok);
  auto list = store_->list(alice().id, false);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "thunderbird");
  EXPECT_EQ((*list)[0].last_used_at, 1'800'000'060);
}

TEST_F(AppPasswordStoreTest, ProtocolLimits) {
  auto c = store_->create(alice(), "fetcher", {"pop3"});
  ASSERT_TRUE(c);
  EXPECT_EQ(check(alice(), c->secret, "pop3"), AppPasswordStore::Check::ok);
  EXPECT_EQ(check(alice(), c->secret, "imap"), AppPasswordStore::Check::protocol_refused);
  EXPECT_EQ(check(alice(), c->secret, "smtp"), AppPasswordStore::Check::protocol_refused);
  auto all = store_->create(alice(), "laptop", {});
  ASSERT_TRUE(all);
  for (const char* p : {"imap", "pop3", "smtp"})
    EXPECT_EQ(check(alice(), all->secret, p), AppPasswordStore::Check::ok) << p;
}

TEST_F(AppPasswordStoreTest, CreateRefusesBadInput) {
  EXPECT_EQ(store_->create(alice(), "", {}).code(), Code::invalid_argument);
  EXPECT_EQ(store_->create(alice(), std::string(65, 'x'), {}).code(), Code::invalid_argument);
  EXPECT_EQ(store_->create(alice(), "a\nb", {}).code(), Code::invalid_argument);
  EXPECT_EQ(store_->create(alice(), "x", {"http"}).code(), Code::invalid_argument);
  ASSERT_TRUE(store_->create(alice(), "phone", {}));
  EXPECT_EQ(store_->create(alice(), "phone", {}).code(), Code::already_exists);
  EXPECT_TRUE(store_->create(bob(), "phone", {}));  // names are per account
  dir_.account("id-bob@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(store_->create(bob(), "other", {}).code(), Code::invalid_argument);
}

TEST_F(AppPasswordStoreTest, AtMostTwentyActivePerAccount) {
  for (size_t i = 1; i < kMaxActivePerAccount; ++i)
    ASSERT_TRUE(store_->create(alice(), "d" + std::to_string(i), {}));
  auto last = store_->create(alice(), "last", {});
  ASSERT_TRUE(last);
  EXPECT_EQ(store_->create(alice(), "one more", {}).code(), Code::invalid_argument);
  ASSERT_TRUE(store_->revoke(alice().id, "last"));
  EXPECT_TRUE(store_->create(alice(), "one more", {}));
}

TEST_F(AppPasswordStoreTest, RevokeByNameOrIdIsAuditedAndFinal) {
  AppPasswordLog log;
  auto a = store_->create(alice(), "phone", {});
  auto b = store_->create(alice(), "laptop", {});
  ASSERT_TRUE(a && b);
  auto r = store_->revoke(alice().id, "phone", "revoked_by_admin");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->id, a->record.id);
  EXPECT_EQ(check(alice(), a->secret), AppPasswordStore::Check::no_match);
  EXPECT_EQ(check(alice(), b->secret), AppPasswordStore::Check::ok);
  ASSERT_TRUE(store_->revoke(alice().id, b->record.id));
  EXPECT_EQ(check(alice(), b->secret), AppPasswordStore::Check::no_match);
  EXPECT_EQ(store_->revoke(alice().id, "phone").code(), Code::not_found);
  EXPECT_EQ(store_->revoke(bob().id, "laptop").code(), Code::not_found);

  auto active = store_->list(alice().id, false);
  auto all = store_->list(alice().id, true);
  ASSERT_TRUE(active && all);
  EXPECT_TRUE(active->empty());
  ASSERT_EQ(all->size(), 2u);
  std::map<std::string, std::string> reasons;  // same creation second: order by id is random
  for (const auto& x : *all) reasons[x.name] = x.revoked_reason;
  EXPECT_EQ(reasons["phone"], "revoked_by_admin");
  EXPECT_EQ(reasons["laptop"], "revoked");
  auto got = store_->get(a->record.id);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->active());

  std::string text = log.text();
  EXPECT_NE(
      text.find("event=auth.app_password_revoked account=id-alice@example.com name=phone id=" +
                a->record.id + " reason=revoked_by_admin"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find(a->secret), std::string::npos);  // never the secret
  EXPECT_EQ(text.find(b->secret), std::string::npos);
  // A revoked name may be used again.
  EXPECT_TRUE(store_->create(alice(), "phone", {}));
}

TEST_F(AppPasswordStoreTest, DirectoryPasswordChangeRevokes) {
  auto c = store_->create(alice(), "phone", {});
  auto other = store_->create(bob(), "phone", {});
  ASSERT_TRUE(c && other);
  auto none = store_->reconcile(alice().id, alice());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());  // nothing changed
  AppPasswordLog log;
  dir_.set_password("id-alice@example.com", "new password");
  // The login path notices at once (verify reconciles with the account it is given) ...
  AppPassword m;
  EXPECT_EQ(check(alice(), c->secret, "imap", &m), AppPasswordStore::Check::revoked);
  EXPECT_EQ(m.revoked_reason, "password_changed");
  EXPECT_NE(log.text().find("reason=password_changed"), std::string::npos);
  // ... and once revoked it stays revoked; bob is untouched.
  EXPECT_EQ(check(alice(), c->secret), AppPasswordStore::Check::no_match);
  EXPECT_EQ(check(bob(), other->secret), AppPasswordStore::Check::ok);
  // One created after the change carries the new stamp and survives reconcile.
  auto fresh = store_->create(alice(), "phone", {});
  ASSERT_TRUE(fresh);
  auto r = store_->reconcile(alice().id, alice());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(check(alice(), fresh->secret), AppPasswordStore::Check::ok);
}

TEST_F(AppPasswordStoreTest, ChangeTimeFromTheDirectoryRevokes) {
  dir_.account("id-alice@example.com")->password_changed = "20261201000000Z";
  auto c = store_->create(alice(), "phone", {});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->record.password_stamp, "t:20261201000000Z");
  dir_.account("id-alice@example.com")->password_changed = "20261205000000Z";
  auto r = store_->reconcile(alice().id, alice());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].revoked_reason, "password_changed");
}

TEST_F(AppPasswordStoreTest, DisabledRemovedAndUnavailable) {
  auto c = store_->create(alice(), "phone", {});
  auto d = store_->create(bob(), "phone", {});
  ASSERT_TRUE(c && d);
  // The directory cannot tell: nothing is revoked.
  auto r = store_->reconcile(alice().id, Result<Account>(core::unavailable("ldap down")));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(check(alice(), c->secret), AppPasswordStore::Check::ok);
  // Disabled: revoked, for good (enabling the account again does not bring it back).
  dir_.account("id-alice@example.com")->status = AccountStatus::disabled;
  r = store_->reconcile(alice().id, alice());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].revoked_reason, "disabled");
  dir_.account("id-alice@example.com")->status = AccountStatus::active;
  EXPECT_EQ(check(alice(), c->secret), AppPasswordStore::Check::no_match);
  // Removed.
  r = store_->reconcile(bob().id, Result<Account>(core::not_found("no such account")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].revoked_reason, "removed");
  auto holders = store_->accounts_with_active();
  ASSERT_TRUE(holders);
  EXPECT_TRUE(holders->empty());
}

TEST_F(AppPasswordStoreTest, SecondProcessSeesRevocation) {
  auto c = store_->create(alice(), "phone", {});
  ASSERT_TRUE(c);
  auto other = AppPasswordStore::open({tmp_.file("app-passwords.db")}, clock_);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->revoke(alice().id, "phone", "revoked_by_admin"));
  EXPECT_EQ(check(alice(), c->secret), AppPasswordStore::Check::no_match);
}

// --- the authenticator with app passwords and the directory-password policy ---

std::string plain_response(const std::string& user, const std::string& pw) {
  return std::string(1, '\0') + user + std::string(1, '\0') + pw;
}

class AppPasswordLoginTest : public AppPasswordStoreTest {
 protected:
  void SetUp() override {
    AppPasswordStoreTest::SetUp();
    dir_ptr_ = std::shared_ptr<FakeDirectory>(&dir_, [](FakeDirectory*) {});
    dir_.add_account("sso@example.com", "");  // no directory password at all
    make({"imap", "pop3", "smtp"});
  }
  void make(std::vector<std::string> directory_protocols) {
    AuthOptions o;
    o.installation_key = "test key";
    o.directory_password_protocols = std::move(directory_protocols);
    auth_ = make_sasl_authenticator(std::make_shared<Resolver>(dir_ptr_, ResolverOptions{}), o,
                                    clock_, store_);
  }
  ClientInfo client(const std::string& protocol) {
    ClientInfo c;
    c.session_id = "s1";
    c.protocol = protocol;
    c.remote_ip = "192.0.2.1";
    c.tls = true;
    return c;
  }
  AuthStep login(const std::string& user, const std::string& pw, const std::string& protocol) {
    return auth_->start("PLAIN", client(protocol))->step(plain_response(user, pw));
  }

  std::shared_ptr<FakeDirectory> dir_ptr_;
  std::shared_ptr<Authenticator> auth_;
};

TEST_F(AppPasswordLoginTest, PlainAndCheckPlainCarryTheAppPasswordId) {
  auto c = store_->create(alice(), "phone", {});
  ASSERT_TRUE(c);
  auto s = login("alice@example.com", c->secret, "imap");
  ASSERT_EQ(s.outcome, AuthOutcome::success);
  EXPECT_EQ(s.principal.account_id, "id-alice@example.com");
  EXPECT_EQ(s.principal.app_password_id, c->record.id);
  auto p = auth_->check_plain("alice@example.com", c->secret, client("pop3"));
  ASSERT_EQ(p.outcome, AuthOutcome::success);
  EXPECT_EQ(p.principal.app_password_id, c->record.id);
  // The directory password still works and carries no app password id.
  auto d = login("alice@example.com", "wonderland", "imap");
  ASSERT_EQ(d.outcome, AuthOutcome::success);
  EXPECT_EQ(d.principal.app_password_id, "");
}

TEST_F(AppPasswordLoginTest, SsoOnlyAccountLogsInWithAnAppPasswordOnly) {
  auto sso = *dir_.find_account_by_id("id-sso@example.com");
  auto c = store_->create(sso, "phone", {"imap"});
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->record.password_stamp, "");
  EXPECT_EQ(login("sso@example.com", c->secret, "imap").outcome, AuthOutcome::success);
  EXPECT_EQ(login("sso@example.com", c->secret, "pop3").outcome, AuthOutcome::failed);
  EXPECT_EQ(login("sso@example.com", "", "imap").outcome, AuthOutcome::failed);
}

TEST_F(AppPasswordLoginTest, DirectoryPasswordProtocolsPolicy) {
  make({"smtp"});  // e.g. SSO users: IMAP and POP3 only with app passwords
  auto c = store_->create(alice(), "phone", {});
  ASSERT_TRUE(c);
  EXPECT_EQ(login("alice@example.com", "wonderland", "imap").outcome, AuthOutcome::failed);
  EXPECT_EQ(auth_->check_plain("alice@example.com", "wonderland", client("pop3")).outcome,
            AuthOutcome::failed);
  EXPECT_EQ(login("alice@example.com", "wonderland", "smtp").outcome, AuthOutcome::success);
  EXPECT_EQ(login("alice@example.com", c->secret, "imap").outcome, AuthOutcome::success);
  // SCRAM proves the directory password: not offered, and refused when asked for.
  auto imap_mechs = auth_->mechanisms(client("imap"));
  EXPECT_EQ(std::find(imap_mechs.begin(), imap_mechs.end(), "SCRAM-SHA-256"), imap_mechs.end());
  auto smtp_mechs = auth_->mechanisms(client("smtp"));
  EXPECT_NE(std::find(smtp_mechs.begin(), smtp_mechs.end(), "SCRAM-SHA-256"), smtp_mechs.end());
  EXPECT_EQ(auth_->start("SCRAM-SHA-256", client("imap"))->step(std::nullopt).outcome,
            AuthOutcome::bad_mechanism);

  // Refused directory passwords count as failures: guesses at app passwords stay throttled.
  for (int i = 0; i < 6; ++i) login("alice@example.com", "guess " + std::to_string(i), "imap");
  EXPECT_EQ(login("alice@example.com", c->secret, "imap").outcome, AuthOutcome::throttled);

  make({});  // the directory password nowhere (a new authenticator: a fresh throttle)
  EXPECT_EQ(login("alice@example.com", "wonderland", "smtp").outcome, AuthOutcome::failed);
  EXPECT_EQ(login("alice@example.com", c->secret, "smtp").outcome, AuthOutcome::success);
}

TEST_F(AppPasswordLoginTest, ProtocolLimitRevocationAndDisabledAccount) {
  AppPasswordLog log;
  auto c = store_->create(alice(), "phone", {"imap"});
  ASSERT_TRUE(c);
  EXPECT_EQ(login("alice@example.com", c->secret, "pop3").outcome, AuthOutcome::failed);
  EXPECT_NE(log.text().find("not allowed on pop3"), std::string::npos);
  ASSERT_TRUE(store_->revoke(alice().id, "phone"));
  EXPECT_EQ(login("alice@example.com", c->secret, "imap").outcome, AuthOutcome::failed);

  auto d = store_->create(alice(), "laptop", {});
  ASSERT_TRUE(d);
  dir_.account("id-alice@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(login("alice@example.com", d->secret, "imap").outcome, AuthOutcome::disabled);
  dir_.account("id-alice@example.com")->status = AccountStatus::active;
  EXPECT_EQ(login("alice@example.com", d->secret, "imap").outcome, AuthOutcome::failed);
  EXPECT_EQ(log.text().find(c->secret), std::string::npos);
  EXPECT_EQ(log.text().find(d->secret), std::string::npos);
}

}  // namespace
}  // namespace mailroom::auth
