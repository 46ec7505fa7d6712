// service::RoleGrants on a real admin.db and a fake directory: principals (account by login,
// address or id; group by address), duplicates, revocation, and caller_for_account through
// nested groups with the resolver's depth limit, loops, a directory that cannot answer, and
// disabled accounts; grants limited to a group's members (members_of) and the migration of an
// admin.db written before them.
#include "src/service/role_grants.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/resolver.h"
#include "src/db/sqlite.h"
#include "src/service/admin_store.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service {
namespace {

class RoleGrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_shared<mailroom::testing::FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com").other_addresses = {"a.liddell@example.com"};
    dir_->add_account("bob@example.com");
    dir_->add_account("carol@example.com");
    auth::ResolverOptions ro;
    ro.max_group_depth = 8;
    resolver_ = std::make_shared<auth::Resolver>(dir_, ro);
    auto access = open_admin_access(tmp_.file("data"), resolver_, clock_);
    ASSERT_TRUE(access) << access.status().to_string();
    grants_ = access->grants;
  }
  auth::Account account(const std::string& address) { return *dir_->account("id-" + address); }
  std::vector<std::string> sources(const std::string& address) {
    auto c = grants_->caller_for_account(account(address));
    EXPECT_TRUE(c) << c.status().to_string();
    std::vector<std::string> out;
    if (c) {
      for (const auto& g : c->grants)
        out.push_back(std::string(role_name(g.role)) + "@" + g.source);
    }
    return out;
  }

  mailroom::testing::TempDir tmp_;
  core::ManualClock clock_;
  std::shared_ptr<mailroom::testing::FakeDirectory> dir_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::shared_ptr<RoleGrants> grants_;
};

using V = std::vector<std::string>;

TEST_F(RoleGrantsTest, AccountGrantsAreKeptByImmutableId) {
  auto g = grants_->grant(Role::domain_admin, {"Example.com"}, "account:ALICE@example.com", "t");
  ASSERT_TRUE(g) << g.status().to_string();
  EXPECT_EQ(g->principal, "id-alice@example.com");
  EXPECT_EQ(g->principal_text(), "account:alice@example.com");
  EXPECT_EQ(g->domains, V{"example.com"});
  // By id and by a secondary address: the same account.
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "account:id-alice@example.com", "t"));
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "account:a.liddell@example.com", "t").code(),
            core::Code::already_exists);

  auto c = grants_->caller_for_account(account("alice@example.com"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "alice@example.com");
  ASSERT_EQ(c->grants.size(), 2u);
  EXPECT_TRUE(c->can(Action::write, "example.com"));
  EXPECT_FALSE(c->can(Action::write, "other.org"));
  EXPECT_TRUE(c->can(Action::audit, "other.org"));
  EXPECT_EQ(c->grants[0].source, "account:alice@example.com");

  // A new primary address keeps the grant (it is keyed by id).
  dir_->account("id-alice@example.com")->address = "alice.l@example.com";
  EXPECT_EQ(grants_->caller_for_user("alice.l@example.com")->grants.size(), 2u);
  EXPECT_TRUE(sources("bob@example.com").empty());
}

TEST_F(RoleGrantsTest, PrincipalsAndGrantsAreChecked) {
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "alice@example.com", "t").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "user:alice@example.com", "t").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "account:", "t").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "account:nobody@example.com", "t").code(),
            core::Code::not_found);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "group:nogroup@example.com", "t").code(),
            core::Code::not_found);
  EXPECT_EQ(grants_->grant(Role::domain_admin, {}, "account:bob@example.com", "t").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(
      grants_->grant(Role::global_admin, {"example.com"}, "account:bob@example.com", "t").code(),
      core::Code::invalid_argument);
  dir_->fail_all = true;
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "account:bob@example.com", "t").code(),
            core::Code::unavailable);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "group:g@example.com", "t").code(),
            core::Code::unavailable);
  dir_->fail_all = false;
  EXPECT_TRUE(grants_->list()->empty());
}

TEST_F(RoleGrantsTest, GroupMembersDirectAndNested) {
  dir_->add_group("helpdesk@example.com", {"outsider@else.where", "team@example.com"});
  dir_->add_group("team@example.com", {"A.Liddell@example.com", "bob@example.com"});
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {"example.com"}, "group:Helpdesk@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "group:team@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::global_admin, {}, "account:carol@example.com", "t"));

  // alice is in team through a secondary address, and in helpdesk through team.
  EXPECT_EQ(sources("alice@example.com"),
            (V{"helpdesk@group:helpdesk@example.com", "auditor@group:team@example.com"}));
  EXPECT_EQ(sources("bob@example.com"),
            (V{"helpdesk@group:helpdesk@example.com", "auditor@group:team@example.com"}));
  EXPECT_EQ(sources("carol@example.com"), V{"global_admin@account:carol@example.com"});

  // A group removed from the directory grants nothing and is no error.
  dir_->add_group("team@example.com", {});
  EXPECT_TRUE(sources("bob@example.com").empty());
}

TEST_F(RoleGrantsTest, NestingLimitAndLoops) {
  // g1 -> g2 -> ... -> gN -> bob: bob is a member when the chain is no deeper than the limit.
  auto chain = [&](const std::string& prefix, int n) {
    for (int i = 1; i <= n; ++i) {
      std::string member =
          i == n ? "bob@example.com" : prefix + std::to_string(i + 1) + "@example.com";
      dir_->add_group(prefix + std::to_string(i) + "@example.com", {member});
    }
    return prefix + "1@example.com";
  };
  ASSERT_TRUE(grants_->grant(Role::auditor, {"a.example"}, "group:" + chain("ok", 8), "t"));
  ASSERT_TRUE(grants_->grant(Role::auditor, {"b.example"}, "group:" + chain("deep", 9), "t"));
  EXPECT_EQ(sources("bob@example.com"), V{"auditor@group:ok1@example.com"});

  // A loop (x -> y -> x) without bob ends, and is not membership.
  dir_->add_group("x@example.com", {"y@example.com"});
  dir_->add_group("y@example.com", {"x@example.com", "carol@example.com"});
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {}, "group:x@example.com", "t"));
  EXPECT_EQ(sources("bob@example.com"), V{"auditor@group:ok1@example.com"});
  EXPECT_EQ(sources("carol@example.com"), V{"helpdesk@group:x@example.com"});
}

TEST_F(RoleGrantsTest, DirectoryThatCannotAnswerIsUnavailableNeverNoRoles) {
  dir_->add_group("outer@example.com", {"inner@example.com"});
  dir_->add_group("inner@example.com", {"bob@example.com"});
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "group:outer@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {}, "account:bob@example.com", "t"));
  dir_->fail_keys = {"inner@example.com"};
  auto c = grants_->caller_for_account(account("bob@example.com"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.code(), core::Code::unavailable);
  dir_->fail_keys.clear();
  EXPECT_EQ(sources("bob@example.com").size(), 2u);
  dir_->fail_all = true;
  EXPECT_EQ(grants_->caller_for_user("bob@example.com").code(), core::Code::unavailable);
}

TEST_F(RoleGrantsTest, DisabledAccountHasNoRoles) {
  dir_->add_group("admins@example.com", {"bob@example.com"});
  ASSERT_TRUE(grants_->grant(Role::global_admin, {}, "account:bob@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "group:admins@example.com", "t"));
  dir_->account("id-bob@example.com")->status = auth::AccountStatus::disabled;
  auto c = grants_->caller_for_account(account("bob@example.com"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
  EXPECT_FALSE(c->is_global_admin());
}

TEST_F(RoleGrantsTest, ListAndRevoke) {
  dir_->add_group("g@example.com", {});
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {"a.example"}, "account:bob@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {"b.example"}, "account:bob@example.com", "t"));
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "account:bob@example.com", "t"));
  auto gg = grants_->grant(Role::auditor, {}, "group:g@example.com", "t");
  ASSERT_TRUE(gg);
  EXPECT_EQ(grants_->list()->size(), 4u);
  EXPECT_EQ(grants_->list("account:bob@example.com")->size(), 3u);
  EXPECT_EQ(grants_->list("group:g@example.com")->size(), 1u);
  EXPECT_TRUE(grants_->list("account:ghost@example.com")->empty());
  EXPECT_EQ(grants_->list("bob").code(), core::Code::invalid_argument);

  auto r = grants_->revoke(Role::helpdesk, "account:bob@example.com", "t");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(grants_->revoke(Role::helpdesk, "account:bob@example.com", "t").code(),
            core::Code::not_found);
  EXPECT_EQ(sources("bob@example.com"), V{"auditor@account:bob@example.com"});

  ASSERT_TRUE(grants_->revoke_id(gg->id, "t"));
  EXPECT_EQ(grants_->revoke_id(gg->id, "t").code(), core::Code::not_found);

  // An account the directory no longer knows: its grants are listed and revoked by id.
  dir_->fail_keys.clear();
  auto stored = grants_->list("account:id-bob@example.com");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->size(), 1u);
}

TEST_F(RoleGrantsTest, MemberScopedGrantsRoundTrip) {
  dir_->add_group("sales@example.com", {"bob@example.com"});
  dir_->add_group("compliance@example.com", {"carol@example.com"});
  auto g = grants_->grant(Role::auditor, {"Example.com"}, "group:compliance@example.com", "t",
                          "Sales@Example.COM");
  ASSERT_TRUE(g) << g.status().to_string();
  EXPECT_EQ(g->members_of, "sales@example.com");
  ASSERT_TRUE(grants_->grant(Role::helpdesk, {}, "account:alice@example.com", "t"));

  auto listed = grants_->list("group:compliance@example.com");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].members_of, "sales@example.com");
  EXPECT_EQ((*listed)[0].domains, V{"example.com"});
  EXPECT_EQ((*grants_->list("account:alice@example.com"))[0].members_of, "");

  // carol holds it through compliance@: a member grant, not a domain grant.
  auto c = grants_->caller_for_account(account("carol@example.com"));
  ASSERT_TRUE(c) << c.status().to_string();
  ASSERT_EQ(c->grants.size(), 1u);
  EXPECT_EQ(c->grants[0].members_of, "sales@example.com");
  EXPECT_EQ(c->grants[0].source, "group:compliance@example.com");
  EXPECT_FALSE(c->can(Action::audit, "example.com"));
  EXPECT_FALSE(c->can_see("example.com"));
  EXPECT_EQ(c->member_grants(Action::audit, "example.com").size(), 1u);
  EXPECT_TRUE(c->member_grants(Action::write, "example.com").empty());
  // bob is a member of sales@, not of compliance@: the scope is no grant to its members.
  EXPECT_TRUE(sources("bob@example.com").empty());

  // Revoking the role takes the member-scoped grant too.
  auto r = grants_->revoke(Role::auditor, "group:compliance@example.com", "t");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].members_of, "sales@example.com");
  EXPECT_TRUE(sources("carol@example.com").empty());
}

TEST_F(RoleGrantsTest, MemberScopeIsPartOfTheGrantsIdentity) {
  dir_->add_group("sales@example.com", {});
  dir_->add_group("legal@example.com", {});
  ASSERT_TRUE(grants_->grant(Role::auditor, {}, "account:bob@example.com", "t"));
  ASSERT_TRUE(
      grants_->grant(Role::auditor, {}, "account:bob@example.com", "t", "sales@example.com"));
  ASSERT_TRUE(
      grants_->grant(Role::auditor, {}, "account:bob@example.com", "t", "legal@example.com"));
  EXPECT_EQ(
      grants_->grant(Role::auditor, {}, "account:bob@example.com", "t", "SALES@example.com").code(),
      core::Code::already_exists);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, "account:bob@example.com", "t").code(),
            core::Code::already_exists);
  auto listed = grants_->list("account:bob@example.com");
  ASSERT_TRUE(listed);
  std::vector<std::string> scopes;
  for (const auto& g : *listed) scopes.push_back(g.members_of);
  EXPECT_EQ(scopes, (V{"", "legal@example.com", "sales@example.com"}));
}

TEST_F(RoleGrantsTest, MemberScopeMustNameAGroup) {
  dir_->add_group("sales@example.com", {"bob@example.com"});
  const std::string bob = "account:bob@example.com";
  EXPECT_EQ(grants_->grant(Role::auditor, {}, bob, "t", "nogroup@example.com").code(),
            core::Code::not_found);
  // An account's address is no group.
  EXPECT_EQ(grants_->grant(Role::auditor, {}, bob, "t", "alice@example.com").code(),
            core::Code::not_found);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, bob, "t", "not an address").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::auditor, {}, bob, "t", "@example.com").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::global_admin, {}, bob, "t", "sales@example.com").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(grants_->grant(Role::domain_admin, {}, bob, "t", "sales@example.com").code(),
            core::Code::invalid_argument);
  dir_->fail_keys = {"sales@example.com"};
  EXPECT_EQ(grants_->grant(Role::auditor, {}, bob, "t", "sales@example.com").code(),
            core::Code::unavailable);
  dir_->fail_keys.clear();
  EXPECT_TRUE(grants_->list()->empty());
  auto ok = grants_->grant(Role::domain_admin, {"example.com"}, bob, "t", "sales@example.com");
  ASSERT_TRUE(ok) << ok.status().to_string();
  EXPECT_EQ(ok->members_of, "sales@example.com");
}

// admin.db as Mailroom wrote it before member scopes (schema version 1, verbatim).
constexpr const char* kAdminSchemaV1 =
    "CREATE TABLE api_tokens ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " last_used_at INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0,"
    " created_by TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at = 0;"
    "CREATE TABLE api_token_grants ("
    " token_id TEXT NOT NULL REFERENCES api_tokens(id), seq INTEGER NOT NULL,"
    " role TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '', PRIMARY KEY (token_id, seq));"
    "CREATE TABLE role_grants ("
    " id TEXT PRIMARY KEY, role TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '',"
    " principal_kind TEXT NOT NULL CHECK (principal_kind IN ('account', 'group')),"
    " principal TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
    " created_by TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX role_grants_unique ON role_grants(principal_kind, principal, role,"
    " domains);"
    "PRAGMA user_version = 1;";

TEST_F(RoleGrantsTest, AnAdminDbOfSchemaOneIsMigrated) {
  const std::string dir = tmp_.file("old");
  {
    std::filesystem::create_directories(dir);
    db::SqliteOptions o;
    o.path = dir + "/admin.db";
    auto raw = db::Sqlite::open(o);
    ASSERT_TRUE(raw) << raw.status().to_string();
    ASSERT_TRUE((*raw)->exec(kAdminSchemaV1));
    ASSERT_TRUE((*raw)->exec(
        "INSERT INTO role_grants(id, role, domains, principal_kind, principal, label, created_at,"
        " created_by) VALUES ('0123456789ab', 'auditor', 'example.com', 'account',"
        " 'id-bob@example.com', 'bob@example.com', 1, 'old')"));
  }
  dir_->add_group("sales@example.com", {});
  for (int open = 0; open < 2; ++open) {  // the second open finds nothing to migrate
    auto access = open_admin_access(dir, resolver_, clock_);
    ASSERT_TRUE(access) << access.status().to_string();
    auto listed = access->grants->list();
    ASSERT_TRUE(listed) << listed.status().to_string();
    ASSERT_EQ(listed->size(), open == 0 ? 1u : 2u);
    EXPECT_EQ((*listed)[0].id, "0123456789ab");
    EXPECT_EQ((*listed)[0].members_of, "");
    auto c = access->grants->caller_for_account(account("bob@example.com"));
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->can(Action::audit, "example.com"));
    // The unique index was rebuilt with the member scope: the old grant stays unique, the
    // same grant limited to sales@ is another one.
    EXPECT_EQ(access->grants->grant(Role::auditor, {"example.com"}, "account:bob@example.com", "t")
                  .code(),
              core::Code::already_exists);
    auto scoped = access->grants->grant(Role::auditor, {"example.com"}, "account:bob@example.com",
                                        "t", "sales@example.com");
    EXPECT_EQ(scoped.code(), open == 0 ? core::Code::ok : core::Code::already_exists);
  }
  db::SqliteOptions o;
  o.path = dir + "/admin.db";
  auto raw = db::Sqlite::open(o);
  ASSERT_TRUE(raw);
  auto v = (*raw)->prepare("PRAGMA user_version");
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->step());
  EXPECT_EQ(v->i64(0), AdminStore::kSchemaVersion);
}

}  // namespace
}  // namespace mailroom::service
