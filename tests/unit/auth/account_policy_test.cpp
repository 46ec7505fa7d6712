// The sync's account policy (auth/sync/account_policy.h): the old primary address stays an
// alias for the grace period and then goes; the start of inactivity is recorded once and
// cleared when the account is active again.
#include "auth/sync/account_policy.h"

#include <gtest/gtest.h>

#include "tests/unit/auth/test_util.h"

namespace mailroom::auth::sync {
namespace {

class AccountPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d.is_ok());
    dir_ = *d;
    ASSERT_TRUE(dir_->add_domain(Domain{"example.com", DomainKind::local, {}, {}}).is_ok());
    rec_.account.id = "uuid-1";
    rec_.account.login = "alice";
    rec_.account.address = "alice@example.com";
    rec_.source = "ldap";
    ASSERT_TRUE(dir_->upsert_account_by_id(rec_).is_ok());
  }
  // What a sync pass does with an incoming record.
  void sync_in(const AccountRecord& r, int64_t grace, int64_t now) {
    auto old = dir_->get_account_record(r.account.id);
    ASSERT_TRUE(keep_old_address(*dir_, r, old ? old->account.address : "", grace, now).is_ok());
    ASSERT_TRUE(dir_->upsert_account_by_id(r).is_ok());
  }
  testing::TempDir tmp_;
  std::shared_ptr<LocalDirectory> dir_;
  AccountRecord rec_;
};

TEST_F(AccountPolicyTest, OldAddressIsAnAliasDuringTheGrace) {
  AccountRecord renamed = rec_;
  renamed.account.address = "alice.liddell@example.com";
  sync_in(renamed, 100, 1000);
  auto alias = dir_->find_alias("alice@example.com");
  ASSERT_TRUE(alias.is_ok());
  EXPECT_EQ(alias->targets, std::vector<std::string>{"alice.liddell@example.com"});
  EXPECT_EQ(dir_->find_account_by_address("alice.liddell@example.com")->id, "uuid-1");

  auto early = expire_old_addresses(*dir_, 1099);
  ASSERT_TRUE(early.is_ok());
  EXPECT_EQ(*early, 0);
  EXPECT_TRUE(dir_->find_alias("alice@example.com").is_ok());
  auto late = expire_old_addresses(*dir_, 1100);
  ASSERT_TRUE(late.is_ok());
  EXPECT_EQ(*late, 1);
  EXPECT_EQ(dir_->find_alias("alice@example.com").code(), Code::not_found);
  EXPECT_EQ(*expire_old_addresses(*dir_, 5000), 0);
}

TEST_F(AccountPolicyTest, NoGraceMeansNoAlias) {
  AccountRecord renamed = rec_;
  renamed.account.address = "alice.liddell@example.com";
  sync_in(renamed, 0, 1000);
  EXPECT_EQ(dir_->find_alias("alice@example.com").code(), Code::not_found);
}

TEST_F(AccountPolicyTest, OldAddressKeptAsSecondaryNeedsNoAlias) {
  AccountRecord renamed = rec_;
  renamed.account.address = "alice.liddell@example.com";
  renamed.account.other_addresses = {"alice@example.com"};
  sync_in(renamed, 100, 1000);
  EXPECT_EQ(dir_->find_alias("alice@example.com").code(), Code::not_found);
}

TEST_F(AccountPolicyTest, RenamedBackDropsTheGraceAlias) {
  AccountRecord renamed = rec_;
  renamed.account.address = "alice.liddell@example.com";
  sync_in(renamed, 100, 1000);
  ASSERT_TRUE(dir_->find_alias("alice@example.com").is_ok());
  sync_in(rec_, 100, 1010);
  EXPECT_EQ(dir_->find_alias("alice@example.com").code(), Code::not_found);
  // ... and the address it left now has its own grace alias.
  auto back = dir_->find_alias("alice.liddell@example.com");
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->targets, std::vector<std::string>{"alice@example.com"});
}

TEST_F(AccountPolicyTest, InactivityIsRecordedOnceAndClearedOnReturn) {
  EXPECT_EQ(inactive_since(*dir_, "uuid-1").code(), Code::not_found);
  ASSERT_TRUE(note_account_status(*dir_, "uuid-1", AccountStatus::disabled, 500).is_ok());
  ASSERT_TRUE(note_account_status(*dir_, "uuid-1", AccountStatus::deleted, 900).is_ok());
  EXPECT_EQ(*inactive_since(*dir_, "uuid-1"), 500);
  ASSERT_TRUE(note_account_status(*dir_, "uuid-1", AccountStatus::active, 950).is_ok());
  EXPECT_EQ(inactive_since(*dir_, "uuid-1").code(), Code::not_found);
  auto listed = dir_->list_sync_state("inactive_since:");
  ASSERT_TRUE(listed.is_ok());
  EXPECT_TRUE(listed->empty());
}

}  // namespace
}  // namespace mailroom::auth::sync
