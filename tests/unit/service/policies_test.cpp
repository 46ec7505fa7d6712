// Policy bundles through the service layer (src/service/policies.h): targets resolved to
// immutable ids, the effective policy with its sources, journal records and dry runs.
#include "src/service/policies.h"

#include "src/core/clock.h"
#include "src/service/groups.h"
#include "src/service/users.h"
#include "tests/unit/service/service_test_util.h"

namespace mailroom::service::testing {
namespace {

class PoliciesTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    journal_ = std::make_unique<ChangeJournal>(tmp_.file("journal.db"), clock_);
    caller_ = Caller{"mailroomctl(root)", "cli", {}};
    auth::Account a;
    a.address = "alice@example.com";
    auto added = dir_->add_account(a);
    ASSERT_TRUE(added);
    alice_ = *added;
    ASSERT_TRUE(dir_->add_group(auth::Group{"staff@example.com", "", {"alice@example.com"}}));
  }
  ChangeContext ctx(bool dry_run = false) {
    ChangeContext c;
    c.caller = &caller_;
    c.journal = journal_.get();
    c.dry_run = dry_run;
    c.changes = &changes_;
    return c;
  }
  Policies policies(bool dry = false) { return Policies(*dir_, ctx(dry)); }
  auth::PolicyBundle staff() {
    auth::PolicyBundle b;
    b.name = "staff";
    b.values.quota_bytes = 100;
    b.values.send_outside = false;
    return b;
  }
  std::vector<ChangeRecord> records() {
    JournalFilter f;
    auto r = journal_->list(f);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : std::vector<ChangeRecord>{};
  }

  core::ManualClock clock_{1'800'000'000};
  Caller caller_;
  std::unique_ptr<ChangeJournal> journal_;
  std::vector<ChangeRecord> changes_;
  auth::Account alice_;
};

TEST_F(PoliciesTest, AssignResolvesTheGroupToItsId) {
  ASSERT_TRUE(policies().add(staff()));
  auto a = policies().assign("staff", auth::PolicyScope::group, "Staff@Example.com");
  ASSERT_TRUE(a) << a.status().to_string();
  auto g = dir_->find_group("staff@example.com");
  EXPECT_EQ(a->target, g->id);
  EXPECT_EQ(a->label, "staff@example.com");
  // By id works too (a group renamed since), and twice is refused.
  EXPECT_EQ(policies().assign("staff", auth::PolicyScope::group, g->id).code(),
            core::Code::already_exists);
  EXPECT_EQ(policies().assign("staff", auth::PolicyScope::group, "nobody@example.com").code(),
            core::Code::not_found);
  EXPECT_EQ(policies().assign("ghost", auth::PolicyScope::group, "staff@example.com").code(),
            core::Code::not_found);
  EXPECT_EQ(policies().assign("staff", auth::PolicyScope::domain, "nowhere.org").code(),
            core::Code::not_found);
  EXPECT_EQ(policies().assign("staff", auth::PolicyScope::everyone, "x").code(),
            core::Code::invalid_argument);
  auto u = policies().assign("staff", auth::PolicyScope::user, "ALICE@example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, alice_.id);

  auto e = effective_policy(*dir_, alice_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->quota_bytes, 100u);
  EXPECT_FALSE(e->send_outside);
  EXPECT_EQ(e->source_of("send_outside"), "policy staff (user)");

  auto shown = policies().show("staff");
  ASSERT_TRUE(shown);
  ASSERT_EQ(shown->assignments.size(), 2u);
  // A deleted group shows as gone and can still be unassigned by its id.
  ASSERT_TRUE(dir_->remove_group("staff@example.com"));
  shown = policies().show("staff");
  const AssignmentView* group = nullptr;
  for (const auto& v : shown->assignments)
    if (v.assignment.scope == auth::PolicyScope::group) group = &v;
  ASSERT_NE(group, nullptr);
  EXPECT_TRUE(group->current.empty());
  EXPECT_EQ(group->assignment.label, "staff@example.com");
  ASSERT_TRUE(policies().unassign("staff", auth::PolicyScope::group, g->id));
  ASSERT_TRUE(policies().unassign("staff", auth::PolicyScope::user, "alice@example.com"));
  EXPECT_TRUE(policies().show("staff")->assignments.empty());
}

TEST_F(PoliciesTest, ChangeSetsAndUnsetsAttributes) {
  ASSERT_TRUE(policies().add(staff()));
  PolicyChange c;
  c.name = "staff";
  c.priority = 9;
  c.values.pop3 = false;
  c.unset = {"send_outside"};
  auto r = policies().change(c);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->priority, 9);
  EXPECT_EQ(r->values.pop3, false);
  EXPECT_FALSE(r->values.send_outside);
  EXPECT_EQ(r->values.quota_bytes, 100u);  // untouched
  c.unset = {"colour"};
  EXPECT_EQ(policies().change(c).code(), core::Code::invalid_argument);
  c.unset.clear();
  c.name = "ghost";
  EXPECT_EQ(policies().change(c).code(), core::Code::not_found);
}

TEST_F(PoliciesTest, WritesAreJournaledAndDryRunsLeaveNoTrace) {
  ASSERT_TRUE(policies(true).add(staff()));
  EXPECT_EQ(dir_->get_policy("staff").code(), core::Code::not_found);
  ASSERT_EQ(changes_.size(), 1u);  // what would be recorded
  EXPECT_EQ(changes_[0].operation, "policy.add");
  EXPECT_TRUE(records().empty());

  ASSERT_TRUE(policies().add(staff()));
  ASSERT_TRUE(policies().assign("staff", auth::PolicyScope::group, "staff@example.com"));
  ASSERT_TRUE(policies(true).remove("staff", true));
  EXPECT_TRUE(dir_->get_policy("staff"));  // the dry run removed nothing
  EXPECT_EQ(policies().remove("staff", false).code(), core::Code::invalid_argument);
  ASSERT_TRUE(policies().remove("staff", true));
  auto recs = records();
  ASSERT_EQ(recs.size(), 3u);  // newest first
  EXPECT_EQ(recs[2].operation, "policy.add");
  EXPECT_EQ(recs[2].before, "null");
  EXPECT_EQ(recs[1].operation, "policy.assign");
  EXPECT_NE(recs[1].after.find("group:staff@example.com"), std::string::npos);
  EXPECT_EQ(recs[0].operation, "policy.remove");
  EXPECT_EQ(recs[0].object, "policy:staff");
  EXPECT_EQ(recs[0].after, "null");
  EXPECT_EQ(recs[0].who, "mailroomctl(root)");
}

}  // namespace
}  // namespace mailroom::service::testing
