// service::AppPasswords against a real local directory and app password file: users named by
// login, address or id; the password change made through service::Users revokes (seen at
// the next list); revocation by the administrator; errors name the object.
#include "src/service/app_passwords.h"

#include "auth/resolver.h"
#include "src/service/users.h"
#include "tests/unit/service/service_test_util.h"

namespace mailroom::service {
namespace {

class AppPasswordsServiceTest : public testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    NewUser u;
    u.address = "alice@example.com";
    u.password = "wonderland";
    u.scheme = "SSHA512";
    u.with_scram = false;
    auto added = Users(*dir_).add(u);
    ASSERT_TRUE(added) << added.status().to_string();
    alice_id_ = added->account.id;
    resolver_ = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    auto s = auth::AppPasswordStore::open({tmp_.file("app-passwords.db")});
    ASSERT_TRUE(s) << s.status().to_string();
    store_ = *s;
  }
  AppPasswords ops() { return AppPasswords(*resolver_, *store_); }

  std::string alice_id_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::shared_ptr<auth::AppPasswordStore> store_;
};

TEST_F(AppPasswordsServiceTest, CreateListRevoke) {
  auto c = ops().create("alice@example.com", "phone", {"imap"});
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->account.id, alice_id_);
  EXPECT_TRUE(auth::normalize_app_password(c->secret));
  auto by_id = ops().list(alice_id_, false);
  ASSERT_TRUE(by_id);
  ASSERT_EQ(by_id->app_passwords.size(), 1u);
  EXPECT_EQ(by_id->app_passwords[0].protocols, std::vector<std::string>{"imap"});

  EXPECT_EQ(ops().revoke("alice@example.com", "tablet", Actor::admin).code(),
            core::Code::not_found);
  auto r = ops().revoke("ALICE@example.com", c->record.id, Actor::admin);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->revoked_reason, "revoked_by_admin");
  EXPECT_TRUE(ops().list("alice@example.com", false)->app_passwords.empty());
  EXPECT_EQ(ops().list("alice@example.com", true)->app_passwords.size(), 1u);

  ASSERT_TRUE(ops().create("alice@example.com", "a", {}));
  ASSERT_TRUE(ops().create("alice@example.com", "b", {}));
  auto all = ops().revoke_all("alice@example.com", Actor::user);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].revoked_reason, "revoked_by_user");
}

TEST_F(AppPasswordsServiceTest, PasswordChangeAndDisableRevoke) {
  ASSERT_TRUE(ops().create("alice@example.com", "phone", {}));
  UserChange change;
  change.user = "alice@example.com";
  change.password = "looking glass";
  change.scheme = "SSHA512";
  change.with_scram = false;
  ASSERT_TRUE(Users(*dir_).change(change));
  auto list = ops().list("alice@example.com", true);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->app_passwords.size(), 1u);
  EXPECT_EQ(list->app_passwords[0].revoked_reason, "password_changed");

  ASSERT_TRUE(ops().create("alice@example.com", "phone", {}));
  UserChange disable;
  disable.user = "alice@example.com";
  disable.status = auth::AccountStatus::disabled;
  ASSERT_TRUE(Users(*dir_).change(disable));
  EXPECT_TRUE(ops().list("alice@example.com", false)->app_passwords.empty());
  EXPECT_EQ(ops().create("alice@example.com", "again", {}).code(), core::Code::invalid_argument);
}

TEST_F(AppPasswordsServiceTest, UnknownUser) {
  auto r = ops().create("nobody@example.com", "phone", {});
  EXPECT_EQ(r.code(), core::Code::not_found);
  EXPECT_NE(r.status().client_message().find("nobody@example.com"), std::string::npos);
  EXPECT_EQ(ops().list("", false).code(), core::Code::invalid_argument);
}

}  // namespace
}  // namespace mailroom::service
