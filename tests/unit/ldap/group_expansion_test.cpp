#include "auth/sync/group_expansion.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace mailroom::auth::sync {
namespace {

GroupNode node(std::string dn, std::string address, std::vector<std::string> members) {
  GroupNode n;
  n.dn = std::move(dn);
  if (!address.empty()) {
    Group g;
    g.address = std::move(address);
    g.id = "id-" + g.address;
    n.header = std::move(g);
  }
  n.member_dns = std::move(members);
  return n;
}

ExpansionInput users_abc(NestedMode mode) {
  ExpansionInput in;
  in.mode = mode;
  in.user_address = {{dn_key("CN=Alice,OU=People,DC=corp"), "alice@corp.example"},
                     {dn_key("CN=Bob,OU=People,DC=corp"), "bob@corp.example"},
                     {dn_key("CN=Carol,OU=People,DC=corp"), "carol@corp.example"}};
  return in;
}

const Group* find(const std::vector<Group>& gs, const std::string& address) {
  for (const auto& g : gs)
    if (g.address == address) return &g;
  return nullptr;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(GroupExpansion, DnKeyJoinsSpellingsOfOneDn) {
  EXPECT_EQ(dn_key("CN=Alice Smith, OU=People ,DC=corp"), "cn=alice smith,ou=people,dc=corp");
  EXPECT_EQ(dn_key("cn = x + uid=y"), "cn=x+uid=y");
  // An escaped trailing space is part of the value (RFC 4514 2.4).
  EXPECT_EQ(dn_key("cn=a\\ ,dc=x"), "cn=a\\ ,dc=x");
}

TEST(GroupExpansion, FlattenFollowsNestingAtAnyDepthThroughGroupsWithoutAddress) {
  auto in = users_abc(NestedMode::flatten);
  in.groups = {node("CN=Staff,DC=corp", "staff@corp.example",
                    {"cn=alice,ou=people,dc=corp", "CN=Security,DC=corp"}),
               node("CN=Security,DC=corp", "", {"CN=Deep,DC=corp"}),
               node("CN=Deep,DC=corp", "deep@corp.example", {"CN=Carol, OU=People, DC=corp"})};
  auto gs = expand_groups(std::move(in));
  ASSERT_TRUE(gs);
  ASSERT_EQ(gs->size(), 2u);  // the group without an address is only a link
  EXPECT_EQ(sorted(find(*gs, "staff@corp.example")->members),
            (std::vector<std::string>{"alice@corp.example", "carol@corp.example"}));
  EXPECT_EQ(find(*gs, "deep@corp.example")->members,
            (std::vector<std::string>{"carol@corp.example"}));
  EXPECT_EQ(find(*gs, "staff@corp.example")->id, "id-staff@corp.example");
}

TEST(GroupExpansion, FlattenEndsCyclesAndCountsEachUserOnce) {
  auto in = users_abc(NestedMode::flatten);
  in.groups = {node("CN=A,DC=corp", "a@corp.example", {"CN=B,DC=corp", "CN=Bob,OU=People,DC=corp"}),
               node("CN=B,DC=corp", "b@corp.example",
                    {"CN=A,DC=corp", "CN=Bob,OU=People,DC=corp", "CN=Alice,OU=People,DC=corp"})};
  auto gs = expand_groups(std::move(in));
  ASSERT_TRUE(gs);
  EXPECT_EQ(sorted(find(*gs, "a@corp.example")->members),
            (std::vector<std::string>{"alice@corp.example", "bob@corp.example"}));
  EXPECT_EQ(sorted(find(*gs, "b@corp.example")->members),
            (std::vector<std::string>{"alice@corp.example", "bob@corp.example"}));
}

TEST(GroupExpansion, FlattenDropsWhatIsNeitherUserNorGroup) {
  auto in = users_abc(NestedMode::flatten);
  bool asked = false;
  in.resolve_other = [&](const std::string&) -> Result<std::string> {
    asked = true;
    return std::string("contact@else.example");
  };
  in.groups = {node("CN=G,DC=corp", "g@corp.example",
                    {"CN=Contact,OU=Contacts,DC=corp", "CN=Bob,OU=People,DC=corp"})};
  auto gs = expand_groups(std::move(in));
  ASSERT_TRUE(gs);
  EXPECT_EQ(find(*gs, "g@corp.example")->members, (std::vector<std::string>{"bob@corp.example"}));
  EXPECT_FALSE(asked);
}

TEST(GroupExpansion, KeepNamesNestedGroupsByAddressAndAsksForOthers) {
  auto in = users_abc(NestedMode::keep);
  std::vector<std::string> asked;
  in.resolve_other = [&](const std::string& dn) -> Result<std::string> {
    asked.push_back(dn);
    return std::string(dn == "cn=ext,dc=corp" ? "ext@else.example" : "");
  };
  in.groups = {node("cn=outer,dc=corp", "outer@corp.example",
                    {"CN=Alice,OU=People,DC=corp", "cn=inner,dc=corp", "cn=noaddr,dc=corp",
                     "cn=ext,dc=corp", "cn=gone,dc=corp"}),
               node("cn=inner,dc=corp", "inner@corp.example", {"CN=Bob,OU=People,DC=corp"}),
               node("cn=noaddr,dc=corp", "", {"CN=Carol,OU=People,DC=corp"})};
  auto gs = expand_groups(std::move(in));
  ASSERT_TRUE(gs);
  EXPECT_EQ(
      find(*gs, "outer@corp.example")->members,
      (std::vector<std::string>{"alice@corp.example", "inner@corp.example", "ext@else.example"}));
  EXPECT_EQ(asked, (std::vector<std::string>{"cn=ext,dc=corp", "cn=gone,dc=corp"}));
}

TEST(GroupExpansion, KeepFailsWholeWhenTheDirectoryFails) {
  auto in = users_abc(NestedMode::keep);
  in.resolve_other = [](const std::string&) -> Result<std::string> {
    return core::unavailable("directory unavailable", "down");
  };
  in.groups = {node("cn=g,dc=corp", "g@corp.example", {"cn=x,dc=corp"})};
  auto gs = expand_groups(std::move(in));
  ASSERT_FALSE(gs);
  EXPECT_EQ(gs.code(), core::Code::unavailable);
}

TEST(GroupExpansion, MemberLimitAndSelfReference) {
  for (auto mode : {NestedMode::flatten, NestedMode::keep}) {
    auto in = users_abc(mode);
    in.max_members = 2;
    in.groups = {node("cn=g,dc=corp", "g@corp.example",
                      {"cn=g,dc=corp", "CN=Alice,OU=People,DC=corp", "CN=Bob,OU=People,DC=corp",
                       "CN=Carol,OU=People,DC=corp"})};
    auto gs = expand_groups(std::move(in));
    ASSERT_TRUE(gs);
    EXPECT_EQ(find(*gs, "g@corp.example")->members,
              (std::vector<std::string>{"alice@corp.example", "bob@corp.example"}));
  }
}

}  // namespace
}  // namespace mailroom::auth::sync
