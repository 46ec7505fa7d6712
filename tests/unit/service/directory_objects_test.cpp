// service::Domains, Aliases (and conflicts), Groups and writable_directory: success and the
// error paths (unknown object, duplicate, invalid input).
#include <gtest/gtest.h>

#include "src/service/aliases.h"
#include "src/service/domains.h"
#include "src/service/groups.h"
#include "src/service/users.h"
#include "src/service/writable_directory.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/service/service_test_util.h"

namespace mailroom::service::testing {
namespace {

using DomainsTest = ServiceTest;
using AliasesTest = ServiceTest;
using GroupsTest = ServiceTest;

TEST_F(DomainsTest, AddChangeShowListRemove) {
  Domains domains(*dir_);
  auto added = domains.add({"Example.NET", "example.com", ""});
  ASSERT_TRUE(added) << added.status().to_string();
  EXPECT_EQ(added->name, "example.net");
  EXPECT_EQ(added->kind, auth::DomainKind::alias);
  EXPECT_EQ(added->alias_of, "example.com");

  DomainChange local{"example.net", "", true, std::nullopt};
  auto changed = domains.change(local);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->kind, auth::DomainKind::local);

  DomainChange catch_all{"example.com", "", false, "postmaster@example.com"};
  EXPECT_EQ(domains.change(catch_all)->catch_all, "postmaster@example.com");
  catch_all.catch_all = "";
  EXPECT_EQ(domains.change(catch_all)->catch_all, "");
  // Not asked: the catch-all stays.
  catch_all.catch_all = "postmaster@example.com";
  ASSERT_TRUE(domains.change(catch_all));
  EXPECT_EQ(domains.change({"example.com", "", false, std::nullopt})->catch_all,
            "postmaster@example.com");

  EXPECT_EQ(domains.list()->size(), 2u);
  EXPECT_EQ(domains.show("EXAMPLE.net")->name, "example.net");
  ASSERT_TRUE(domains.remove("example.net", false));
  EXPECT_EQ(domains.show("example.net").code(), core::Code::not_found);
}

TEST_F(DomainsTest, Errors) {
  Domains domains(*dir_);
  auto dup = domains.add({"example.com", "", ""});
  EXPECT_EQ(dup.code(), core::Code::already_exists);
  EXPECT_NE(dup.status().client_message().find("example.com"), std::string::npos);
  EXPECT_EQ(domains.add({"bad..domain", "", ""}).code(), core::Code::invalid_argument);
  EXPECT_EQ(domains.add({"example.info", "nowhere.com", ""}).code(), core::Code::invalid_argument);
  auto unknown = domains.change({"nothere.com", "", true, std::nullopt});
  EXPECT_EQ(unknown.code(), core::Code::not_found);
  EXPECT_EQ(unknown.status().client_message(), "domain nothere.com not found");
  EXPECT_EQ(domains.remove("nothere.com", false).code(), core::Code::not_found);

  NewUser u;
  u.address = "alice@example.com";
  u.password_hash = "{SSHA}x";
  ASSERT_TRUE(Users(*dir_).add(u));
  EXPECT_EQ(domains.remove("example.com", false).code(), core::Code::invalid_argument);
  ASSERT_TRUE(domains.remove("example.com", true));
  EXPECT_EQ(Users(*dir_).find("alice@example.com").code(), core::Code::not_found);
}

TEST_F(AliasesTest, AnAccountOfTheSameAddressWinsAndIsReported) {
  Aliases aliases(*dir_);
  auto info = aliases.add({"Info@Example.com", {"alice@example.com"}});
  ASSERT_TRUE(info) << info.status().to_string();
  EXPECT_EQ(info->alias.address, "info@example.com");
  EXPECT_TRUE(info->winning_account.empty());
  EXPECT_TRUE(aliases.conflicts()->empty());

  NewUser u;
  u.address = "alice@example.com";
  u.password_hash = "{SSHA}x";
  auto alice = Users(*dir_).add(u);
  ASSERT_TRUE(alice);
  auto shadowed = aliases.add({"alice@example.com", {"bob@example.com"}});
  ASSERT_TRUE(shadowed);
  EXPECT_EQ(shadowed->winning_account, "alice@example.com");
  auto conflicts = aliases.conflicts();
  ASSERT_TRUE(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].address, "alice@example.com");
  EXPECT_EQ((*conflicts)[0].account_id, alice->account.id);
  EXPECT_EQ((*conflicts)[0].kind, "alias");
}

TEST_F(AliasesTest, ChangeListShowRemoveAndErrors) {
  Aliases aliases(*dir_);
  ASSERT_TRUE(aliases.add({"info@example.com", {"alice@example.com"}}));
  EXPECT_EQ(aliases.add({"info@example.com", {"bob@example.com"}}).code(),
            core::Code::already_exists);
  EXPECT_EQ(aliases.add({"x@nowhere.org", {"bob@example.com"}}).code(),
            core::Code::invalid_argument);
  auto changed = aliases.change("INFO@example.com", {"bob@example.com", "carol@example.com"});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->targets.size(), 2u);
  EXPECT_EQ(aliases.change("none@example.com", {"bob@example.com"}).code(), core::Code::not_found);
  EXPECT_EQ(aliases.list("example.com")->size(), 1u);
  EXPECT_TRUE(aliases.list("other.example")->empty());
  EXPECT_EQ(aliases.show("info@example.com")->targets[0], "bob@example.com");
  auto none = aliases.show("none@example.com");
  EXPECT_EQ(none.code(), core::Code::not_found);
  EXPECT_EQ(none.status().client_message(), "alias none@example.com not found");
  ASSERT_TRUE(aliases.remove("info@example.com"));
  EXPECT_EQ(aliases.remove("info@example.com").code(), core::Code::not_found);
}

TEST(ServiceValues, GroupPolicies) {
  for (auto p : {auth::GroupSendPolicy::anyone, auth::GroupSendPolicy::domain,
                 auth::GroupSendPolicy::members, auth::GroupSendPolicy::moderators}) {
    EXPECT_EQ(*parse_group_policy(group_policy_name(p)), p);
  }
  auto bad = parse_group_policy("everyone");
  EXPECT_EQ(bad.code(), core::Code::invalid_argument);
  EXPECT_EQ(bad.status().client_message(),
            "policy must be anyone, domain, members or moderators, not 'everyone'");
}

TEST_F(GroupsTest, MembersPolicyAndErrors) {
  Groups groups(*dir_);
  auth::Group g;
  g.address = "News@example.com";
  g.send_policy = auth::GroupSendPolicy::moderators;
  g.allowed_senders = {"alice@example.com"};
  auto added = groups.add(g);
  ASSERT_TRUE(added) << added.status().to_string();
  EXPECT_EQ(added->address, "news@example.com");
  EXPECT_EQ(groups.add(g).code(), core::Code::already_exists);

  auto with_bob = groups.add_member("news@example.com", "bob@example.com");
  ASSERT_TRUE(with_bob);
  EXPECT_EQ(with_bob->members, std::vector<std::string>{"bob@example.com"});
  EXPECT_EQ(groups.add_member("news@example.com", "bob@example.com").code(),
            core::Code::already_exists);
  EXPECT_EQ(groups.add_member("none@example.com", "bob@example.com").code(), core::Code::not_found);

  GroupChange c;
  c.address = "news@example.com";
  c.send_policy = auth::GroupSendPolicy::members;
  c.display_name = "News";
  auto changed = groups.change(c);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->send_policy, auth::GroupSendPolicy::members);
  EXPECT_EQ(changed->display_name, "News");
  EXPECT_EQ(changed->allowed_senders, std::vector<std::string>{"alice@example.com"});  // kept
  EXPECT_EQ(changed->members, std::vector<std::string>{"bob@example.com"});
  c.address = "none@example.com";
  EXPECT_EQ(groups.change(c).code(), core::Code::not_found);

  EXPECT_EQ(groups.remove_member("news@example.com", "zed@example.com").code(),
            core::Code::not_found);
  EXPECT_TRUE(groups.remove_member("news@example.com", "bob@example.com")->members.empty());
  EXPECT_EQ(groups.list("")->size(), 1u);
  EXPECT_TRUE(groups.list("other.example")->empty());
  ASSERT_TRUE(groups.remove("news@example.com"));
  EXPECT_EQ(groups.show("news@example.com").code(), core::Code::not_found);
  EXPECT_EQ(groups.remove("news@example.com").code(), core::Code::not_found);
}

TEST(WritableDirectory, OnlyTheLocalDirectoryIsWritable) {
  mailroom::testing::FakeDirectory fake;
  auto r = writable_directory(fake);
  EXPECT_EQ(r.code(), core::Code::invalid_argument);
  EXPECT_EQ(r.status().client_message(), "directory backend fake is read-only here");

  mailroom::testing::TempDir tmp;
  auth::LocalDirectoryOptions o;
  o.path = tmp.file("directory.db");
  auto local = auth::LocalDirectory::open(o);
  ASSERT_TRUE(local);
  auto w = writable_directory(**local);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, local->get());
}

}  // namespace
}  // namespace mailroom::service::testing
