// Offboarding (auth/offboarding.h): the decision of which steps run when, the [offboarding]
// options, the manager lookup, and the Directory decorator with the Resolver holding and
// forwarding a departed user's mail (4xx when the manager cannot be looked up, the mailbox
// alone when there is no manager).
#include "auth/offboarding.h"

#include <gtest/gtest.h>

#include "auth/local/local_directory.h"
#include "auth/resolver.h"
#include "auth/sync/account_policy.h"
#include "src/core/clock.h"
#include "src/core/config_section.h"
#include "test_util.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::auth {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kSince = 1'800'000'000;

OffboardingOptions enabled() {
  OffboardingOptions o;
  o.enabled = true;
  return o;
}

Account disabled_account() {
  Account a;
  a.id = "id-dave";
  a.address = "dave@example.com";
  a.status = AccountStatus::disabled;
  return a;
}

// --- decide_offboarding ---

TEST(OffboardingDecision, DisabledWithADateRunsEveryStep) {
  auto st = decide_offboarding(enabled(), disabled_account(), kSince, kSince + kDay);
  EXPECT_TRUE(st.offboarded);
  EXPECT_EQ(st.since, kSince);
  EXPECT_TRUE(st.auto_reply);
  EXPECT_EQ(st.auto_reply_until, kSince + 30 * kDay);
  EXPECT_TRUE(st.forward);
  EXPECT_EQ(st.forward_until, 0);  // until the account is removed
}

TEST(OffboardingDecision, TheAutoReplyEndsAfterItsDaysForwardingGoesOn) {
  auto o = enabled();
  o.auto_reply_s = 10 * kDay;
  auto before = decide_offboarding(o, disabled_account(), kSince, kSince + 10 * kDay - 1);
  EXPECT_TRUE(before.auto_reply);
  auto after = decide_offboarding(o, disabled_account(), kSince, kSince + 10 * kDay);
  EXPECT_TRUE(after.offboarded);
  EXPECT_FALSE(after.auto_reply);
  EXPECT_TRUE(after.forward);
}

TEST(OffboardingDecision, ForwardDaysEndTheForwarding) {
  auto o = enabled();
  o.forward_s = 5 * kDay;
  EXPECT_TRUE(decide_offboarding(o, disabled_account(), kSince, kSince + 5 * kDay - 1).forward);
  auto st = decide_offboarding(o, disabled_account(), kSince, kSince + 5 * kDay);
  EXPECT_FALSE(st.forward);
  EXPECT_EQ(st.forward_until, kSince + 5 * kDay);
}

TEST(OffboardingDecision, StepsSwitchedOffDoNotRun) {
  auto o = enabled();
  o.auto_reply_s = 0;
  o.forward_to_manager = false;
  auto st = decide_offboarding(o, disabled_account(), kSince, kSince + 1);
  EXPECT_TRUE(st.offboarded);
  EXPECT_FALSE(st.auto_reply);
  EXPECT_EQ(st.auto_reply_until, 0);
  EXPECT_FALSE(st.forward);
}

TEST(OffboardingDecision, OnlyDisabledAccountsWithADateAndTheWorkflowOn) {
  Account a = disabled_account();
  EXPECT_FALSE(decide_offboarding(OffboardingOptions{}, a, kSince, kSince).offboarded);
  // Disabled but never seen inactive by a sync (the embedded directory): not offboarded.
  EXPECT_FALSE(decide_offboarding(enabled(), a, std::nullopt, kSince).offboarded);
  a.status = AccountStatus::active;  // re-hired: every step stops
  EXPECT_FALSE(decide_offboarding(enabled(), a, kSince, kSince).offboarded);
  a.status = AccountStatus::deleted;  // gone: refused as today
  EXPECT_FALSE(decide_offboarding(enabled(), a, kSince, kSince).offboarded);
}

// --- the Sieve script and [offboarding] ---

TEST(OffboardingScript, QuotesAndExpandsTheText) {
  auto o = enabled();
  o.contact = "hr@example.com";
  o.reply_subject = "%n has \"left\"";
  Account a = disabled_account();
  a.display_name = "Dave \\ Leaver";
  std::string s = offboarding_sieve_script(o, a);
  EXPECT_NE(s.find("vacation :days 7 :handle \"offboarding\""), std::string::npos) << s;
  EXPECT_NE(s.find(":subject \"Dave \\\\ Leaver has \\\"left\\\"\""), std::string::npos) << s;
  EXPECT_NE(s.find("Please write to hr@example.com instead."), std::string::npos) << s;
  EXPECT_NE(s.find("keep;"), std::string::npos);
  o.contact.clear();
  EXPECT_EQ(offboarding_sieve_script(o, a).find("Please write to"), std::string::npos);
  EXPECT_EQ(sieve_quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

struct ParsedOffboarding {
  OffboardingOptions options;
  std::vector<std::string> errors;
};
ParsedOffboarding parse_offboarding(const std::string& toml) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(toml, "test.toml", &errors);
  auto root = doc->root();
  auto s = root.child("offboarding");
  ParsedOffboarding p{parse_offboarding_options(s), {}};
  p.errors = errors.messages();
  return p;
}

TEST(OffboardingOptions, DefaultsAndKeys) {
  auto d = parse_offboarding("");
  EXPECT_FALSE(d.options.enabled);
  EXPECT_TRUE(d.errors.empty());
  auto p = parse_offboarding(
      "[offboarding]\nenabled = true\nauto_reply_days = 14\nreply_interval = \"3d\"\n"
      "contact = \"hr@example.com\"\nforward = \"none\"\nforward_days = 60\n");
  EXPECT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_TRUE(p.options.enabled);
  EXPECT_EQ(p.options.auto_reply_s, 14 * kDay);
  EXPECT_EQ(p.options.reply_interval_s, 3 * kDay);
  EXPECT_FALSE(p.options.forward_to_manager);
  EXPECT_EQ(p.options.forward_s, 60 * kDay);
}

TEST(OffboardingOptions, ErrorsNameTheKey) {
  auto p = parse_offboarding(
      "[offboarding]\ncontact = \"not an address\"\nreply_interval = \"1h\"\n"
      "forward = \"shared\"\nunknown = 1\n");
  std::string all;
  for (const auto& e : p.errors) all += e + "\n";
  EXPECT_NE(all.find("contact"), std::string::npos) << all;
  EXPECT_NE(all.find("reply_interval"), std::string::npos) << all;
  EXPECT_NE(all.find("forward"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown"), std::string::npos) << all;
}

// --- the decorator and the Resolver ---

class OffboardingDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d) << d.status().to_string();
    replica_ = *d;
    fake_ = std::make_shared<FakeDirectory>();
    fake_->add_domain("example.com");
    fake_->add_account("erin@example.com");
    Account& dave = fake_->add_account("dave@example.com");
    dave.manager = "id-erin@example.com";
    dave.forward_to = {"private@elsewhere.example"};  // his own forward ends with the job
    offboarding_ = std::make_shared<Offboarding>(enabled(), replica_, fake_);
    auto decorated = std::make_shared<OffboardingDirectory>(fake_, offboarding_);
    ResolverOptions o;
    o.hold_for_disabled = true;
    o.forward_held = true;
    resolver_ = std::make_unique<Resolver>(decorated, o);
  }
  void offboard(const std::string& id) {
    fake_->account(id)->status = AccountStatus::disabled;
    ASSERT_TRUE(sync::note_account_status(*replica_, id, AccountStatus::disabled,
                                          core::real_clock().unix_seconds() - kDay));
  }
  static std::vector<std::string> where(const Resolution& r) {
    std::vector<std::string> out;
    for (const auto& d : r.destinations) out.push_back(d.address + "<" + d.forwarded_by + ">");
    return out;
  }
  Resolution resolve(const std::string& to) {
    return resolver_->resolve_recipient(to, "sender@remote.example", "");
  }

  testing::TempDir tmp_;
  std::shared_ptr<LocalDirectory> replica_;
  std::shared_ptr<FakeDirectory> fake_;
  std::shared_ptr<Offboarding> offboarding_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(OffboardingDirectoryTest, KeptInTheMailboxAndForwardedToTheManager) {
  offboard("id-dave@example.com");
  auto r = resolve("dave@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  EXPECT_EQ(where(r),
            (std::vector<std::string>{"dave@example.com<>", "erin@example.com<dave@example.com>"}));
  auto m = offboarding_->manager_of(*fake_->account("id-dave@example.com"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->address, "erin@example.com");
}

TEST_F(OffboardingDirectoryTest, AManagerGivenByAddressIsFound) {
  fake_->account("id-dave@example.com")->manager = "Erin@Example.com";
  offboard("id-dave@example.com");
  EXPECT_EQ(where(resolve("dave@example.com")).size(), 2u);
}

TEST_F(OffboardingDirectoryTest, NoManagerKeepsTheMailOnlyInTheMailbox) {
  offboard("id-dave@example.com");
  fake_->account("id-erin@example.com")->status = AccountStatus::disabled;  // left too
  auto r = resolve("dave@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  EXPECT_EQ(where(r), std::vector<std::string>{"dave@example.com<>"});
  fake_->account("id-dave@example.com")->manager = "uid=nobody,dc=example,dc=com";
  EXPECT_EQ(where(resolve("dave@example.com")), std::vector<std::string>{"dave@example.com<>"});
  auto m = offboarding_->manager_of(*fake_->account("id-dave@example.com"));
  EXPECT_EQ(m.code(), core::Code::not_found);
}

TEST_F(OffboardingDirectoryTest, AManagerLookupThatFailsIsATemporaryFailure) {
  offboard("id-dave@example.com");
  fake_->fail_keys.insert("id-erin@example.com");
  auto r = resolve("dave@example.com");
  EXPECT_EQ(r.outcome, RecipientOutcome::unavailable) << r.detail;  // 451, never a bounce
}

TEST_F(OffboardingDirectoryTest, ForwardingOffKeepsOnlyTheMailbox) {
  auto o = enabled();
  o.forward_to_manager = false;
  offboarding_ = std::make_shared<Offboarding>(o, replica_, fake_);
  ResolverOptions ro;
  ro.hold_for_disabled = true;
  ro.forward_held = true;
  resolver_ =
      std::make_unique<Resolver>(std::make_shared<OffboardingDirectory>(fake_, offboarding_), ro);
  offboard("id-dave@example.com");
  EXPECT_EQ(where(resolve("dave@example.com")), std::vector<std::string>{"dave@example.com<>"});
}

TEST_F(OffboardingDirectoryTest, ReHireStopsTheForwarding) {
  offboard("id-dave@example.com");
  EXPECT_EQ(where(resolve("dave@example.com")).size(), 2u);
  // The sync sees the same id active again: the date is cleared, the account as it was.
  fake_->account("id-dave@example.com")->status = AccountStatus::active;
  ASSERT_TRUE(sync::note_account_status(*replica_, "id-dave@example.com", AccountStatus::active,
                                        core::real_clock().unix_seconds()));
  auto r = resolve("dave@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(where(r), (std::vector<std::string>{"dave@example.com<>",
                                                "private@elsewhere.example<dave@example.com>"}));
  auto st = offboarding_->state(*fake_->account("id-dave@example.com"), 0);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->offboarded);
}

TEST_F(OffboardingDirectoryTest, ActiveAndNeverSyncedAccountsAreUntouched) {
  // Disabled without a recorded date: held only (the Resolver's hold), no forward.
  fake_->account("id-dave@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(where(resolve("dave@example.com")), std::vector<std::string>{"dave@example.com<>"});
  EXPECT_EQ(where(resolve("erin@example.com")), std::vector<std::string>{"erin@example.com<>"});
}

}  // namespace
}  // namespace mailroom::auth
