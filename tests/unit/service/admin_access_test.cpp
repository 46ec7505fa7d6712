// service::Caller's role rules (admin_access.h), checked exhaustively: every role, every
// action, three kinds of object (in the grant's domain, in another domain, server-wide) and
// both grant shapes (naming a domain, naming none). The expectation is a table written from
// the header's prose, not derived from the implementation.
#include "src/service/admin_access.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace mailroom::service {
namespace {

constexpr Action kAllActions[] = {
    Action::read,           Action::audit,          Action::write,
    Action::reset_password, Action::unlock,         Action::kick_session,
    Action::recall,         Action::manage_domains, Action::manage_server};
// A new Action must get a column in the table below: this fails until it does.
static_assert(static_cast<int>(Action::manage_server) == 8, "extend kAllActions and kExpected");

constexpr Role kAllRoles[] = {Role::global_admin, Role::domain_admin, Role::helpdesk,
                              Role::auditor};

// Per action: three letters for an object in example.com (the granted domain), in
// other.org, and server-wide (""). Y = allowed.
using Row = std::map<Action, std::string>;
struct Expectation {
  Role role;
  bool with_domains;  // the grant names example.com; otherwise its list is empty
  Row can;
  std::string sees;  // can_see for the same three objects
};

// clang-format off
const Expectation kExpected[] = {
  // global_admin is never scoped: with a domain list the grant is malformed and grants nothing.
  {Role::global_admin, true,
   {{Action::read, "NNN"}, {Action::audit, "NNN"}, {Action::write, "NNN"},
    {Action::reset_password, "NNN"}, {Action::unlock, "NNN"}, {Action::kick_session, "NNN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "NNN"},
  {Role::global_admin, false,
   {{Action::read, "YYY"}, {Action::audit, "YYY"}, {Action::write, "YYY"},
    {Action::reset_password, "YYY"}, {Action::unlock, "YYY"}, {Action::kick_session, "YYY"}, {Action::recall, "YYY"},
    {Action::manage_domains, "YYY"}, {Action::manage_server, "YYY"}}, "YYY"},
  {Role::domain_admin, true,
   {{Action::read, "YNN"}, {Action::audit, "YNN"}, {Action::write, "YNN"},
    {Action::reset_password, "YNN"}, {Action::unlock, "YNN"}, {Action::kick_session, "YNN"}, {Action::recall, "YNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "YNN"},
  // A domain_admin grant with no domain grants nothing.
  {Role::domain_admin, false,
   {{Action::read, "NNN"}, {Action::audit, "NNN"}, {Action::write, "NNN"},
    {Action::reset_password, "NNN"}, {Action::unlock, "NNN"}, {Action::kick_session, "NNN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "NNN"},
  {Role::helpdesk, true,
   {{Action::read, "YNN"}, {Action::audit, "NNN"}, {Action::write, "NNN"},
    {Action::reset_password, "YNN"}, {Action::unlock, "YNN"}, {Action::kick_session, "YNN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "YNN"},
  // Every domain, but never a server-wide object.
  {Role::helpdesk, false,
   {{Action::read, "YYN"}, {Action::audit, "NNN"}, {Action::write, "NNN"},
    {Action::reset_password, "YYN"}, {Action::unlock, "YYN"}, {Action::kick_session, "YYN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "YYN"},
  {Role::auditor, true,
   {{Action::read, "YNN"}, {Action::audit, "YNN"}, {Action::write, "NNN"},
    {Action::reset_password, "NNN"}, {Action::unlock, "NNN"}, {Action::kick_session, "NNN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "YNN"},
  {Role::auditor, false,
   {{Action::read, "YYN"}, {Action::audit, "YYN"}, {Action::write, "NNN"},
    {Action::reset_password, "NNN"}, {Action::unlock, "NNN"}, {Action::kick_session, "NNN"}, {Action::recall, "NNN"},
    {Action::manage_domains, "NNN"}, {Action::manage_server, "NNN"}}, "YYN"},
};
// clang-format on

const char* const kObjects[] = {"example.com", "other.org", ""};

Caller caller_with(Role role, bool with_domains) {
  Caller c;
  c.name = "test";
  c.front_end = "api";
  Grant g;
  g.role = role;
  if (with_domains) g.domains = {"example.com"};
  g.source = "token:test";
  c.grants.push_back(g);
  return c;
}

TEST(AdminAccess, EveryRoleActionDomainAndGrantShape) {
  size_t checked = 0;
  for (Role role : kAllRoles) {
    for (bool with_domains : {true, false}) {
      const Expectation* e = nullptr;
      for (const auto& x : kExpected) {
        if (x.role == role && x.with_domains == with_domains) e = &x;
      }
      ASSERT_NE(e, nullptr) << role_name(role) << " has no row";
      ASSERT_EQ(e->can.size(), std::size(kAllActions)) << role_name(role);
      Caller c = caller_with(role, with_domains);
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(c.can_see(kObjects[i]), e->sees[i] == 'Y')
            << role_name(role) << (with_domains ? " [example.com]" : " []") << " sees '"
            << kObjects[i] << "'";
        for (Action a : kAllActions) {
          EXPECT_EQ(c.can(a, kObjects[i]), e->can.at(a)[i] == 'Y')
              << role_name(role) << (with_domains ? " [example.com]" : " []") << " "
              << action_name(a) << " on '" << kObjects[i] << "'";
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4u * 2u * 9u * 3u);
}

TEST(AdminAccess, GlobalAdminAndVisibleDomains) {
  EXPECT_TRUE(caller_with(Role::global_admin, false).is_global_admin());
  EXPECT_FALSE(caller_with(Role::global_admin, true).is_global_admin());
  EXPECT_FALSE(caller_with(Role::helpdesk, false).is_global_admin());
  EXPECT_FALSE(caller_with(Role::auditor, false).is_global_admin());

  EXPECT_EQ(caller_with(Role::global_admin, false).visible_domains(), std::nullopt);
  EXPECT_EQ(caller_with(Role::helpdesk, false).visible_domains(), std::nullopt);
  EXPECT_EQ(caller_with(Role::auditor, false).visible_domains(), std::nullopt);
  using V = std::vector<std::string>;
  EXPECT_EQ(caller_with(Role::domain_admin, false).visible_domains(), V{});
  EXPECT_EQ(caller_with(Role::global_admin, true).visible_domains(), V{});
  EXPECT_EQ(caller_with(Role::domain_admin, true).visible_domains(), V{"example.com"});
  EXPECT_EQ(caller_with(Role::auditor, true).visible_domains(), V{"example.com"});

  Caller none;
  EXPECT_FALSE(none.is_global_admin());
  EXPECT_FALSE(none.can_see("example.com"));
  EXPECT_FALSE(none.can_see(""));
  EXPECT_FALSE(none.can(Action::read, "example.com"));
  EXPECT_EQ(none.visible_domains(), V{});
}

TEST(AdminAccess, GrantsDoNotCombine) {
  // helpdesk on a.example, auditor on b.example: audit is allowed on b only, reset on a only.
  Caller c;
  c.grants.push_back(Grant{Role::helpdesk, {"a.example"}, "group:help@a.example"});
  c.grants.push_back(Grant{Role::auditor, {"b.example"}, "account:x@b.example"});
  EXPECT_TRUE(c.can(Action::reset_password, "a.example"));
  EXPECT_FALSE(c.can(Action::reset_password, "b.example"));
  EXPECT_TRUE(c.can(Action::audit, "b.example"));
  EXPECT_FALSE(c.can(Action::audit, "a.example"));
  EXPECT_FALSE(c.can(Action::write, "a.example"));
  EXPECT_FALSE(c.can(Action::read, "c.example"));
  EXPECT_EQ(c.visible_domains(), (std::vector<std::string>{"a.example", "b.example"}));

  // A second, well-formed global grant wins over a malformed one.
  c.grants.push_back(Grant{Role::global_admin, {"x.example"}, "bad"});
  EXPECT_FALSE(c.is_global_admin());
  c.grants.push_back(Grant{Role::global_admin, {}, "token:root"});
  EXPECT_TRUE(c.is_global_admin());
  EXPECT_TRUE(c.can(Action::manage_server, ""));
}

TEST(AdminAccess, DomainsCompareWithoutCase) {
  Caller c = caller_with(Role::domain_admin, true);
  EXPECT_TRUE(c.can(Action::write, "Example.COM"));
  EXPECT_TRUE(c.can_see("EXAMPLE.com"));
  // Not a suffix match: a subdomain is another domain.
  EXPECT_FALSE(c.can_see("mail.example.com"));
  EXPECT_FALSE(c.can_see("example.com."));
}

TEST(AdminAccess, RoleAndActionNames) {
  for (Role r : kAllRoles) {
    auto parsed = parse_role(role_name(r));
    ASSERT_TRUE(parsed) << role_name(r);
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_EQ(parse_role("Domain_Admin"), Role::domain_admin);
  EXPECT_EQ(parse_role("root"), std::nullopt);
  EXPECT_EQ(parse_role(""), std::nullopt);
  EXPECT_EQ(parse_role("global_admin "), std::nullopt);
  EXPECT_STREQ(role_name(Role::helpdesk), "helpdesk");
  EXPECT_STREQ(action_name(Action::kick_session), "kick_session");
  EXPECT_STREQ(action_name(Action::manage_server), "manage_server");
}

TEST(AdminAccess, CliCallerIsGlobalAdmin) {
  Caller c = cli_caller();
  EXPECT_EQ(c.front_end, "cli");
  EXPECT_TRUE(c.is_global_admin());
  for (Action a : kAllActions) EXPECT_TRUE(c.can(a, "")) << action_name(a);
}

}  // namespace
}  // namespace mailroom::service
