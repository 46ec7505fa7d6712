// Policy bundles (auth/policy): the precedence rule, the bundles directory.db says apply to an
// account (groups, nested groups, renamed and deleted groups, domain, everyone), and the two
// decorators that enforce them (quota through the Directory, login rules through the
// Authenticator).
#include "auth/policy/policy.h"

#include <gtest/gtest.h>

#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "auth/sync/account_policy.h"
#include "auth/sync/retention.h"
#include "src/core/clock.h"
#include "test_util.h"

namespace mailroom::auth {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

AppliedBundle bundle(const std::string& name, PolicyScope scope, int priority, PolicyValues v,
                     const std::string& via = "") {
  AppliedBundle a;
  a.bundle.name = name;
  a.bundle.priority = priority;
  a.bundle.values = std::move(v);
  a.scope = scope;
  a.via = via;
  return a;
}

PolicyValues quota(uint64_t bytes) {
  PolicyValues v;
  v.quota_bytes = bytes;
  return v;
}

// --- precedence (resolve_policy) ---

TEST(PolicyPrecedence, NothingAppliesGivesTheDefaults) {
  auto e = resolve_policy(Account{}, {});
  EXPECT_EQ(e.quota_bytes, 0u);
  EXPECT_EQ(e.max_message_bytes, 0u);
  EXPECT_TRUE(e.send_outside);
  EXPECT_TRUE(e.receive_outside);
  EXPECT_TRUE(e.pop3);
  EXPECT_FALSE(e.retention_seconds);
  EXPECT_TRUE(e.allows_login_method("password"));
  EXPECT_TRUE(e.allows_login_method("kerberos"));
  EXPECT_EQ(e.source_of("quota_bytes"), "default");
  EXPECT_TRUE(e.bundles.empty());
}

TEST(PolicyPrecedence, TheAccountsOwnQuotaWins) {
  Account a;
  a.quota_bytes = 5 * kMiB;
  auto e = resolve_policy(a, {bundle("staff", PolicyScope::group, 100, quota(100 * kMiB), "s@x")});
  EXPECT_EQ(e.quota_bytes, 5 * kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "account");
  a.quota_bytes = 0;  // not set: the group decides
  e = resolve_policy(a, {bundle("staff", PolicyScope::group, 0, quota(100 * kMiB), "s@x")});
  EXPECT_EQ(e.quota_bytes, 100 * kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "policy staff (group s@x)");
}

TEST(PolicyPrecedence, CloserScopeWinsWhateverThePriority) {
  std::vector<AppliedBundle> all = {
      bundle("everyone", PolicyScope::everyone, 1000, quota(1 * kMiB)),
      bundle("domain", PolicyScope::domain, 500, quota(2 * kMiB), "example.com"),
      bundle("group", PolicyScope::group, 0, quota(3 * kMiB), "staff@example.com"),
  };
  EXPECT_EQ(resolve_policy(Account{}, all).quota_bytes, 3 * kMiB);
  all.push_back(bundle("mine", PolicyScope::user, -5, quota(4 * kMiB)));
  auto e = resolve_policy(Account{}, all);
  EXPECT_EQ(e.quota_bytes, 4 * kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "policy mine (user)");
  EXPECT_EQ(e.bundles, (std::vector<std::string>{"mine", "group", "domain", "everyone"}));
  all.pop_back();
  all.erase(all.begin() + 2);  // no group: the domain's default
  EXPECT_EQ(resolve_policy(Account{}, all).quota_bytes, 2 * kMiB);
}

TEST(PolicyPrecedence, HigherPriorityWinsEvenWhenMoreRestrictive) {
  PolicyValues restricted;
  restricted.send_outside = false;
  restricted.quota_bytes = 10 * kMiB;
  PolicyValues open;
  open.send_outside = true;
  open.quota_bytes = 0;
  auto e =
      resolve_policy(Account{}, {bundle("open", PolicyScope::group, 10, open, "a@x"),
                                 bundle("interns", PolicyScope::group, 20, restricted, "b@x")});
  EXPECT_FALSE(e.send_outside);
  EXPECT_EQ(e.quota_bytes, 10 * kMiB);
  EXPECT_EQ(e.source_of("send_outside"), "policy interns (group b@x)");
}

TEST(PolicyPrecedence, TiesGoToTheMostPermissiveValue) {
  PolicyValues a;
  a.quota_bytes = 100 * kMiB;
  a.max_message_bytes = 10 * kMiB;
  a.send_outside = false;
  a.pop3 = true;
  a.retention_seconds = 86400;
  a.login_methods = std::vector<std::string>{"sso"};
  PolicyValues b;
  b.quota_bytes = 200 * kMiB;
  b.max_message_bytes = 0;  // unlimited beats any limit
  b.send_outside = true;
  b.pop3 = false;
  b.retention_seconds = 0;  // forever beats a day
  b.login_methods = std::vector<std::string>{"kerberos"};
  for (bool reversed : {false, true}) {  // the order of the input does not matter
    std::vector<AppliedBundle> all = {bundle("a", PolicyScope::group, 5, a, "a@x"),
                                      bundle("b", PolicyScope::group, 5, b, "b@x")};
    if (reversed) std::swap(all[0], all[1]);
    auto e = resolve_policy(Account{}, all);
    EXPECT_EQ(e.quota_bytes, 200 * kMiB);
    EXPECT_EQ(e.max_message_bytes, 0u);
    EXPECT_TRUE(e.send_outside);
    EXPECT_TRUE(e.pop3);
    EXPECT_EQ(e.retention_seconds, 0);
    EXPECT_TRUE(e.allows_login_method("sso"));
    EXPECT_TRUE(e.allows_login_method("kerberos"));
    EXPECT_FALSE(e.allows_login_method("password"));
    EXPECT_EQ(e.source_of("login_methods"), "policy a (group a@x), policy b (group b@x)");
  }
}

TEST(PolicyPrecedence, ABundleThatDoesNotSetAValueLeavesItToTheNext) {
  PolicyValues only_pop3;
  only_pop3.pop3 = false;
  auto e = resolve_policy(Account{}, {bundle("nopop", PolicyScope::group, 50, only_pop3, "g@x"),
                                      bundle("dflt", PolicyScope::domain, 0, quota(kMiB), "x")});
  EXPECT_FALSE(e.pop3);
  EXPECT_EQ(e.quota_bytes, kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "policy dflt (domain x)");
}

TEST(PolicyPrecedence, AnEmptyMethodListAllowsNoLogin) {
  PolicyValues none;
  none.login_methods = std::vector<std::string>{};
  auto e = resolve_policy(Account{}, {bundle("locked", PolicyScope::user, 0, none)});
  for (const char* m : kLoginMethods) EXPECT_FALSE(e.allows_login_method(m)) << m;
}

TEST(PolicyPrecedence, LoginMethodNames) {
  EXPECT_EQ(login_method_of("PLAIN", false), "password");
  EXPECT_EQ(login_method_of("LOGIN", true), "app-password");
  EXPECT_EQ(login_method_of("SCRAM-SHA-256", false), "password");
  EXPECT_EQ(login_method_of("GSSAPI", false), "kerberos");
  EXPECT_EQ(login_method_of("OAUTHBEARER", false), "sso");
  EXPECT_EQ(login_method_of("XOAUTH2", false), "sso");
  EXPECT_EQ(*parse_login_method("OAuthBearer"), "sso");
  EXPECT_EQ(*parse_login_method("app-password"), "app-password");
  EXPECT_EQ(parse_login_method("telepathy").code(), Code::invalid_argument);
  EXPECT_TRUE(check_policy_name("staff-2026.q1"));
  EXPECT_FALSE(check_policy_name(""));
  EXPECT_FALSE(check_policy_name("a b"));
  EXPECT_FALSE(check_policy_name(std::string(65, 'a')));
}

// --- directory.db ---

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    ASSERT_TRUE(dir_->add_domain(Domain{"example.com"}));
    ASSERT_TRUE(dir_->add_domain(Domain{"other.com"}));
    alice_ = add("alice@example.com");
    bob_ = add("bob@other.com");
  }
  Account add(const std::string& address) {
    Account a;
    a.address = address;
    auto r = dir_->add_account(a);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : Account{};
  }
  void add_bundle(const std::string& name, PolicyValues v, int priority = 0) {
    PolicyBundle b;
    b.name = name;
    b.priority = priority;
    b.values = std::move(v);
    ASSERT_TRUE(dir_->add_policy(b));
  }
  void assign_group(const std::string& policy, const std::string& group) {
    auto g = dir_->find_group(group);
    ASSERT_TRUE(g) << g.status().to_string();
    ASSERT_FALSE(g->id.empty());
    ASSERT_TRUE(dir_->assign_policy({policy, PolicyScope::group, g->id, g->address, 0}));
  }
  EffectivePolicy effective(const Account& a) {
    auto applied = dir_->policies_for_account(a.id);
    EXPECT_TRUE(applied) << applied.status().to_string();
    return resolve_policy(a, applied ? *applied : std::vector<AppliedBundle>{});
  }
  testing::TempDir tmp_;
  std::shared_ptr<LocalDirectory> dir_;
  Account alice_, bob_;
};

TEST_F(PolicyStoreTest, BundlesRoundTrip) {
  PolicyValues v;
  v.quota_bytes = 0;
  v.max_message_bytes = 25 * kMiB;
  v.send_outside = false;
  v.retention_seconds = 90 * 86400;
  v.login_methods = std::vector<std::string>{"sso", "kerberos"};
  add_bundle("staff", v, 7);
  auto got = dir_->get_policy("STAFF");  // names compare case-insensitively
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "staff");
  EXPECT_EQ(got->priority, 7);
  EXPECT_EQ(got->values, v);
  EXPECT_FALSE(got->values.pop3);  // not set stays not set
  PolicyBundle again;
  again.name = "staff";
  EXPECT_EQ(dir_->add_policy(again).code(), Code::already_exists);
  got->values.pop3 = false;
  got->values.send_outside.reset();
  ASSERT_TRUE(dir_->change_policy(*got));
  auto changed = dir_->get_policy("staff");
  EXPECT_EQ(changed->values.pop3, false);
  EXPECT_FALSE(changed->values.send_outside);
  PolicyBundle ghost;
  ghost.name = "ghost";
  EXPECT_EQ(dir_->change_policy(ghost).code(), Code::not_found);
  PolicyBundle bad;
  bad.name = "bad";
  bad.values.login_methods = std::vector<std::string>{"telepathy"};
  EXPECT_EQ(dir_->add_policy(bad).code(), Code::invalid_argument);
  bad.name = "no spaces";
  bad.values = {};
  EXPECT_EQ(dir_->add_policy(bad).code(), Code::invalid_argument);
  EXPECT_EQ(dir_->list_policies()->size(), 1u);
}

TEST_F(PolicyStoreTest, GroupsHaveImmutableIds) {
  ASSERT_TRUE(dir_->add_group(Group{"staff@example.com", "", {"alice@example.com"}}));
  auto g = dir_->find_group("staff@example.com");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->id.size(), 36u);
  // A change through mailroomctl (no id given) keeps it.
  Group changed = *g;
  changed.id.clear();
  changed.display_name = "Staff";
  ASSERT_TRUE(dir_->update_group(changed));
  EXPECT_EQ(dir_->find_group("staff@example.com")->id, g->id);
  // A sync writes the directory's own id (entryUUID / objectGUID).
  Group synced{"ops@example.com", "", {}};
  synced.id = "0A0B-UPSTREAM";
  ASSERT_TRUE(dir_->upsert_group(synced, "ldap"));
  EXPECT_EQ(dir_->find_group("ops@example.com")->id, "0a0b-upstream");
  EXPECT_EQ(dir_->find_group_by_id("0a0b-upstream")->address, "ops@example.com");
  EXPECT_EQ(dir_->find_group_by_id("nope").code(), Code::not_found);
}

TEST_F(PolicyStoreTest, GroupMembersGetTheGroupsBundle) {
  ASSERT_TRUE(dir_->add_group(Group{"staff@example.com", "", {"alice@example.com"}}));
  add_bundle("staff", quota(100 * kMiB));
  assign_group("staff", "staff@example.com");
  auto e = effective(alice_);
  EXPECT_EQ(e.quota_bytes, 100 * kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "policy staff (group staff@example.com)");
  EXPECT_EQ(effective(bob_).quota_bytes, 0u);
  // Out of the group: the bundle no longer applies.
  ASSERT_TRUE(dir_->remove_group_member("staff@example.com", "alice@example.com"));
  EXPECT_EQ(effective(alice_).quota_bytes, 0u);
}

TEST_F(PolicyStoreTest, NestedGroupsCountAndLoopsEnd) {
  // alice is in team, team is in dept, dept is in team (a loop): dept's bundle reaches her.
  ASSERT_TRUE(dir_->add_group(Group{"team@example.com", "", {"alice@example.com"}}));
  ASSERT_TRUE(dir_->add_group(Group{"dept@example.com", "", {"team@example.com"}}));
  ASSERT_TRUE(dir_->add_group_member("team@example.com", "dept@example.com"));
  PolicyValues v;
  v.pop3 = false;
  add_bundle("dept", v);
  assign_group("dept", "dept@example.com");
  auto e = effective(alice_);
  EXPECT_FALSE(e.pop3);
  EXPECT_EQ(e.source_of("pop3"), "policy dept (group dept@example.com)");
}

TEST_F(PolicyStoreTest, SecondaryAddressesMakeMembershipToo) {
  ASSERT_TRUE(dir_->add_secondary_address(alice_.id, "a.l@example.com"));
  ASSERT_TRUE(dir_->add_group(Group{"staff@example.com", "", {"a.l@example.com"}}));
  add_bundle("staff", quota(kMiB));
  assign_group("staff", "staff@example.com");
  EXPECT_EQ(effective(alice_).quota_bytes, kMiB);
}

TEST_F(PolicyStoreTest, ConflictingGroupsFollowPriorityThenPermissiveness) {
  ASSERT_TRUE(dir_->add_group(Group{"sales@example.com", "", {"alice@example.com"}}));
  ASSERT_TRUE(dir_->add_group(Group{"interns@example.com", "", {"alice@example.com"}}));
  PolicyValues sales;
  sales.send_outside = true;
  sales.quota_bytes = 500 * kMiB;
  PolicyValues interns;
  interns.send_outside = false;
  interns.quota_bytes = 50 * kMiB;
  add_bundle("sales", sales, 0);
  add_bundle("interns", interns, 0);
  assign_group("sales", "sales@example.com");
  assign_group("interns", "interns@example.com");
  auto e = effective(alice_);  // same priority: the grants add up
  EXPECT_TRUE(e.send_outside);
  EXPECT_EQ(e.quota_bytes, 500 * kMiB);
  auto b = dir_->get_policy("interns");
  b->priority = 10;  // the restriction must win: give it the higher priority
  ASSERT_TRUE(dir_->change_policy(*b));
  e = effective(alice_);
  EXPECT_FALSE(e.send_outside);
  EXPECT_EQ(e.quota_bytes, 50 * kMiB);
}

TEST_F(PolicyStoreTest, RenamedGroupKeepsItsBundleDeletedGroupLosesIt) {
  Group g{"old@example.com", "", {"alice@example.com"}};
  g.id = "guid-1";
  ASSERT_TRUE(dir_->upsert_group(g, "ldap"));
  add_bundle("staff", quota(kMiB));
  assign_group("staff", "old@example.com");
  // The sync of a rename: the new address with the same id, then the old row goes.
  Group renamed = g;
  renamed.address = "new@example.com";
  ASSERT_TRUE(dir_->upsert_group(renamed, "ldap"));
  ASSERT_TRUE(dir_->remove_group("old@example.com"));
  auto e = effective(alice_);
  EXPECT_EQ(e.quota_bytes, kMiB);
  EXPECT_EQ(e.source_of("quota_bytes"), "policy staff (group new@example.com)");
  // Deleted upstream: nobody is a member any more; the assignment stays (shown as gone).
  ASSERT_TRUE(dir_->remove_group("new@example.com"));
  EXPECT_EQ(effective(alice_).quota_bytes, 0u);
  EXPECT_EQ(dir_->list_policy_assignments("staff")->size(), 1u);
  // Restored with the same id (AD recycle bin): it applies again.
  ASSERT_TRUE(dir_->upsert_group(renamed, "ldap"));
  EXPECT_EQ(effective(alice_).quota_bytes, kMiB);
}

TEST_F(PolicyStoreTest, UserDomainAndEveryoneScopes) {
  add_bundle("everyone", quota(1 * kMiB));
  add_bundle("example", quota(2 * kMiB));
  add_bundle("alice", quota(3 * kMiB));
  ASSERT_TRUE(dir_->assign_policy({"everyone", PolicyScope::everyone, "", "everyone", 0}));
  ASSERT_TRUE(dir_->assign_policy({"example", PolicyScope::domain, "example.com", "", 0}));
  EXPECT_EQ(effective(bob_).quota_bytes, 1 * kMiB);  // other.com: the installation's default
  EXPECT_EQ(effective(alice_).quota_bytes, 2 * kMiB);
  EXPECT_EQ(effective(alice_).source_of("quota_bytes"), "policy example (domain example.com)");
  ASSERT_TRUE(dir_->assign_policy({"alice", PolicyScope::user, alice_.id, alice_.address, 0}));
  EXPECT_EQ(effective(alice_).quota_bytes, 3 * kMiB);
  EXPECT_EQ(dir_->assign_policy({"alice", PolicyScope::user, alice_.id, "", 0}).code(),
            Code::already_exists);
  EXPECT_EQ(dir_->assign_policy({"nope", PolicyScope::user, alice_.id, "", 0}).code(),
            Code::not_found);
  // A new account is not unlimited: its domain's default applies from the start.
  Account carol = add("carol@example.com");
  EXPECT_EQ(effective(carol).quota_bytes, 2 * kMiB);
  ASSERT_TRUE(dir_->unassign_policy("example", PolicyScope::domain, "EXAMPLE.com"));
  EXPECT_EQ(effective(carol).quota_bytes, 1 * kMiB);
  EXPECT_EQ(dir_->unassign_policy("example", PolicyScope::domain, "example.com").code(),
            Code::not_found);
}

TEST_F(PolicyStoreTest, RemovingAnAssignedBundleNeedsForce) {
  add_bundle("everyone", quota(kMiB));
  ASSERT_TRUE(dir_->assign_policy({"everyone", PolicyScope::everyone, "", "", 0}));
  auto st = dir_->remove_policy("everyone", false);
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.client_message().find("assigned"), std::string::npos);
  EXPECT_EQ(effective(alice_).quota_bytes, kMiB);
  ASSERT_TRUE(dir_->remove_policy("everyone", true));
  EXPECT_EQ(effective(alice_).quota_bytes, 0u);
  EXPECT_TRUE(dir_->list_policy_assignments()->empty());
  EXPECT_EQ(dir_->remove_policy("everyone", true).code(), Code::not_found);
}

// --- enforcement decorators ---

TEST_F(PolicyStoreTest, DirectoryDecoratorCarriesTheEffectiveQuota) {
  auto source = std::make_shared<PolicySource>(dir_);
  auto decorated = with_policies(dir_, source);
  EXPECT_EQ(decorated->find_account_by_id(alice_.id)->quota_bytes, 0u);
  PolicyValues v = quota(7 * kMiB);
  v.quota_messages = 100;
  add_bundle("everyone", v);
  ASSERT_TRUE(dir_->assign_policy({"everyone", PolicyScope::everyone, "", "", 0}));
  // A change applies at the next lookup: nothing is cached.
  EXPECT_EQ(decorated->find_account_by_id(alice_.id)->quota_bytes, 7 * kMiB);
  EXPECT_EQ(decorated->find_account_by_address("alice@example.com")->quota_messages, 100u);
  EXPECT_EQ(decorated->find_account_by_login("alice@example.com")->quota_bytes, 7 * kMiB);
  ASSERT_TRUE(dir_->set_quota(alice_.id, 3 * kMiB, 0));  // the account's own value wins
  EXPECT_EQ(decorated->find_account_by_id(alice_.id)->quota_bytes, 3 * kMiB);
  EXPECT_EQ(decorated->find_account_by_id(alice_.id)->quota_messages, 100u);
  EXPECT_EQ(decorated->find_account_by_id("nobody").code(), Code::not_found);
  EXPECT_EQ(dynamic_cast<PolicyDirectory*>(decorated.get())->undecorated(), dir_);
}

// An authenticator that accepts everything, as a principal of `account_id`.
class AcceptAll : public Authenticator {
 public:
  explicit AcceptAll(std::string id, bool app_password = false)
      : id_(std::move(id)), app_(app_password) {}
  std::vector<std::string> mechanisms(const ClientInfo&) const override { return {"PLAIN"}; }
  bool plaintext_allowed(const ClientInfo&) const override { return true; }
  std::unique_ptr<Exchange> start(std::string_view, const ClientInfo&) override {
    struct Ok : Exchange {
      AuthStep s;
      AuthStep step(std::optional<std::string_view>) override { return s; }
    };
    auto e = std::make_unique<Ok>();
    e->s = success();
    return e;
  }
  AuthStep check_plain(const std::string&, const std::string&, const ClientInfo&) override {
    return success();
  }

 private:
  AuthStep success() const {
    AuthStep s;
    s.outcome = AuthOutcome::success;
    s.principal.account_id = id_;
    if (app_) s.principal.app_password_id = "ap1";
    return s;
  }
  std::string id_;
  bool app_;
};

TEST_F(PolicyStoreTest, LoginPoliciesRefuseLikeAWrongPassword) {
  auto source = std::make_shared<PolicySource>(dir_);
  auto auth = with_login_policies(std::make_shared<AcceptAll>(alice_.id), source);
  ClientInfo pop3{"s1", "pop3", "127.0.0.1", true, true};
  ClientInfo imap{"s2", "imap", "127.0.0.1", true, true};
  EXPECT_EQ(auth->check_plain("alice", "pw", pop3).outcome, AuthOutcome::success);
  ASSERT_TRUE(dir_->add_group(Group{"nopop@example.com", "", {"alice@example.com"}}));
  PolicyValues v;
  v.pop3 = false;
  add_bundle("nopop", v);
  assign_group("nopop", "nopop@example.com");
  auto refused = auth->check_plain("alice", "pw", pop3);
  EXPECT_EQ(refused.outcome, AuthOutcome::failed);
  EXPECT_TRUE(refused.principal.account_id.empty());
  EXPECT_EQ(auth->start("PLAIN", pop3)->step(std::string_view("x")).outcome, AuthOutcome::failed);
  EXPECT_EQ(auth->check_plain("alice", "pw", imap).outcome, AuthOutcome::success);

  // SSO only: a password login fails on every protocol, a bearer token passes.
  PolicyValues sso;
  sso.login_methods = std::vector<std::string>{"sso"};
  add_bundle("sso-only", sso, 5);
  ASSERT_TRUE(dir_->assign_policy({"sso-only", PolicyScope::user, alice_.id, "", 0}));
  EXPECT_EQ(auth->check_plain("alice", "pw", imap).outcome, AuthOutcome::failed);
  EXPECT_EQ(auth->start("PLAIN", imap)->step(std::nullopt).outcome, AuthOutcome::failed);
  EXPECT_EQ(auth->start("OAUTHBEARER", imap)->step(std::nullopt).outcome, AuthOutcome::success);
  EXPECT_EQ(auth->start("GSSAPI", imap)->step(std::nullopt).outcome, AuthOutcome::failed);
  // App passwords are their own method.
  auto apps = with_login_policies(std::make_shared<AcceptAll>(alice_.id, true), source);
  EXPECT_EQ(apps->check_plain("alice", "app", imap).outcome, AuthOutcome::failed);
  auto b = dir_->get_policy("sso-only");
  b->values.login_methods = std::vector<std::string>{"sso", "app-password"};
  ASSERT_TRUE(dir_->change_policy(*b));
  EXPECT_EQ(apps->check_plain("alice", "app", imap).outcome, AuthOutcome::success);
  EXPECT_EQ(auth->check_plain("alice", "pw", imap).outcome, AuthOutcome::failed);
}

TEST_F(PolicyStoreTest, RetentionFollowsTheAccountsBundle) {
  core::ManualClock clock(1'000'000);
  sync::RetentionOptions o;
  o.retention_s = 30 * 86400;
  o.action = "delete";
  ASSERT_TRUE(dir_->set_status(alice_.id, AccountStatus::disabled));
  ASSERT_TRUE(dir_->set_status(bob_.id, AccountStatus::disabled));
  ASSERT_TRUE(sync::note_account_status(*dir_, alice_.id, AccountStatus::disabled, 1'000'000));
  ASSERT_TRUE(sync::note_account_status(*dir_, bob_.id, AccountStatus::disabled, 1'000'000));
  PolicyValues keep_long;
  keep_long.retention_seconds = 365 * 86400;
  add_bundle("legal-hold", keep_long);
  ASSERT_TRUE(dir_->assign_policy({"legal-hold", PolicyScope::user, alice_.id, "", 0}));
  clock.advance(std::chrono::seconds(31 * 86400));
  auto due = sync::due_for_retention(*dir_, o, clock);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);  // bob by the server's 30 days; alice's bundle keeps hers a year
  EXPECT_EQ((*due)[0].account_id, bob_.id);
  clock.advance(std::chrono::seconds(335 * 86400));
  EXPECT_EQ(sync::due_for_retention(*dir_, o, clock)->size(), 2u);
}

}  // namespace
}  // namespace mailroom::auth
