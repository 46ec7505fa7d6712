// The per-recipient part of the SMTP policy stage (src/smtp/policy_stage.h): outside mail
// and declared sizes against each local recipient's bundle, groups keeping the members that
// accept, and "cannot tell" as a temporary failure.
#include "src/smtp/policy_stage.h"

#include <gtest/gtest.h>

#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::smtp {
namespace {

class PolicyStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = auth::LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    ASSERT_TRUE(dir_->add_domain(auth::Domain{"example.com"}));
    for (const char* who : {"ann@example.com", "ben@example.com"}) {
      auth::Account a;
      a.address = who;
      auto r = dir_->add_account(a);
      ASSERT_TRUE(r);
      ids_.push_back(r->id);
    }
    // ann: internal only, at most 1000 bytes.
    auth::PolicyBundle b;
    b.name = "internal";
    b.values.receive_outside = false;
    b.values.max_message_bytes = 1000;
    ASSERT_TRUE(dir_->add_policy(b));
    ASSERT_TRUE(dir_->assign_policy({"internal", auth::PolicyScope::user, ids_[0], "", 0}));
    source_ = std::make_shared<auth::PolicySource>(dir_);
  }
  std::vector<auth::Destination> both() {
    std::vector<auth::Destination> d(3);
    d[0].account_id = ids_[0];
    d[0].address = "ann@example.com";
    d[1].account_id = ids_[1];
    d[1].address = "ben@example.com";
    d[2].kind = auth::Destination::Kind::remote;
    d[2].address = "partner@remote.example";
    return d;
  }
  mailroom::testing::TempDir tmp_;
  std::shared_ptr<auth::LocalDirectory> dir_;
  std::shared_ptr<auth::PolicySource> source_;
  std::vector<std::string> ids_;
};

TEST_F(PolicyStageTest, OneRecipientIsRefusedItsGroupKeepsTheOthers) {
  std::vector<auth::Destination> ann = {both()[0]};
  EXPECT_EQ(recipient_policy(source_.get(), ann, 0, true, nullptr), RcptPolicy::outside_refused);
  ann = {both()[0]};
  EXPECT_EQ(recipient_policy(source_.get(), ann, 0, false, nullptr), RcptPolicy::ok);
  EXPECT_EQ(ann[0].max_message_bytes, 1000u);  // for the end-of-DATA check
  ann = {both()[0]};
  EXPECT_EQ(recipient_policy(source_.get(), ann, 1001, false, nullptr), RcptPolicy::too_large);
  ann = {both()[0]};
  EXPECT_EQ(recipient_policy(source_.get(), ann, 1000, false, nullptr), RcptPolicy::ok);

  auto group = both();
  std::string dropped;
  EXPECT_EQ(recipient_policy(source_.get(), group, 0, true, &dropped), RcptPolicy::ok);
  ASSERT_EQ(group.size(), 2u);
  EXPECT_EQ(group[0].address, "ben@example.com");
  EXPECT_EQ(group[1].address, "partner@remote.example");
  EXPECT_EQ(dropped, "ann@example.com");
}

TEST_F(PolicyStageTest, UnknownSenderMattersOnlyToWhoRefusesOutsideMail) {
  std::vector<auth::Destination> ben = {both()[1]};
  EXPECT_EQ(recipient_policy(source_.get(), ben, 0, std::nullopt, nullptr), RcptPolicy::ok);
  std::vector<auth::Destination> ann = {both()[0]};
  EXPECT_EQ(recipient_policy(source_.get(), ann, 0, std::nullopt, nullptr),
            RcptPolicy::unavailable);
  // Without bundles nothing is checked.
  ann = {both()[0]};
  EXPECT_EQ(recipient_policy(nullptr, ann, 5000, true, nullptr), RcptPolicy::ok);
}

}  // namespace
}  // namespace mailroom::smtp
