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

TEST(AdminAccess, CanAnywhereMatchesTheTableForDomainGrants) {
  // Allowed somewhere = allowed on example.com or on other.org in the table above.
  for (const auto& e : kExpected) {
    Caller c = caller_with(e.role, e.with_domains);
    for (Action a : kAllActions) {
      const std::string& row = e.can.at(a);
      EXPECT_EQ(c.can_anywhere(a), row[0] == 'Y' || row[1] == 'Y')
          << role_name(e.role) << (e.with_domains ? " [example.com]" : " []") << " "
          << action_name(a);
    }
  }
  Caller none;
  for (Action a : kAllActions) EXPECT_FALSE(none.can_anywhere(a)) << action_name(a);
}

Caller member_scoped(Role role, std::vector<std::string> domains) {
  Caller c;
  c.name = "officer@example.com";
  c.front_end = "api";
  c.grants.push_back(
      Grant{role, std::move(domains), "group:compliance@example.com", "sales@example.com"});
  return c;
}

TEST(AdminAccess, MemberScopedAuditorGrantsNothingOnDomainObjects) {
  using V = std::vector<std::string>;
  for (bool with_domains : {true, false}) {
    Caller c = member_scoped(Role::auditor, with_domains ? V{"example.com"} : V{});
    const char* shape = with_domains ? " [example.com]" : " []";
    EXPECT_FALSE(c.is_global_admin());
    EXPECT_EQ(c.visible_domains(), V{}) << shape;
    for (const char* d : kObjects) {
      EXPECT_FALSE(c.can_see(d)) << shape << " '" << d << "'";
      for (Action a : kAllActions) {
        EXPECT_FALSE(c.can(a, d)) << shape << " " << action_name(a) << " on '" << d << "'";
      }
    }
    // The recall service asks for the member grants instead.
    auto audit = c.member_grants(Action::audit, "example.com");
    ASSERT_EQ(audit.size(), 1u) << shape;
    EXPECT_EQ(audit[0], &c.grants[0]);
    EXPECT_EQ(audit[0]->members_of, "sales@example.com");
    EXPECT_EQ(c.member_grants(Action::read, "Example.COM").size(), 1u) << shape;
    EXPECT_EQ(c.member_grants(Action::audit, "other.org").size(), with_domains ? 0u : 1u);
    EXPECT_TRUE(c.member_grants(Action::audit, "").empty()) << shape;
    for (Action a : {Action::write, Action::reset_password, Action::unlock, Action::kick_session,
                     Action::recall, Action::manage_domains, Action::manage_server}) {
      EXPECT_TRUE(c.member_grants(a, "example.com").empty()) << shape << " " << action_name(a);
    }
    // A listing lets it in (to find nothing but its members' mail).
    EXPECT_TRUE(c.can_anywhere(Action::audit)) << shape;
    EXPECT_TRUE(c.can_anywhere(Action::read)) << shape;
    EXPECT_FALSE(c.can_anywhere(Action::write)) << shape;
    EXPECT_FALSE(c.can_anywhere(Action::recall)) << shape;
    EXPECT_FALSE(c.can_anywhere(Action::manage_server)) << shape;
  }
}

TEST(AdminAccess, MemberScopedGrantsBesideDomainGrants) {
  // A member-scoped auditor that is also helpdesk of a.example: the domain grant works as
  // before, the member grant adds nothing to it (no audit of a.example).
  Caller c = member_scoped(Role::auditor, {"a.example"});
  c.grants.push_back(Grant{Role::helpdesk, {"a.example"}, "account:officer@example.com"});
  EXPECT_TRUE(c.can_see("a.example"));
  EXPECT_TRUE(c.can(Action::reset_password, "a.example"));
  EXPECT_FALSE(c.can(Action::audit, "a.example"));
  EXPECT_EQ(c.visible_domains(), std::vector<std::string>{"a.example"});
  ASSERT_EQ(c.member_grants(Action::audit, "a.example").size(), 1u);
  EXPECT_EQ(c.member_grants(Action::audit, "a.example")[0], &c.grants[0]);
  EXPECT_TRUE(c.member_grants(Action::reset_password, "a.example").empty());
  // A member-scoped grant never turns an all-domains view into a limited one, or back.
  Caller all = member_scoped(Role::auditor, {"a.example"});
  all.grants.push_back(Grant{Role::auditor, {}, "token:x"});
  EXPECT_EQ(all.visible_domains(), std::nullopt);
  EXPECT_TRUE(all.can(Action::audit, "b.example"));
}

TEST(AdminAccess, MemberScopedDomainAdminAndMalformedShapes) {
  Caller da = member_scoped(Role::domain_admin, {"example.com"});
  EXPECT_FALSE(da.can(Action::recall, "example.com"));
  EXPECT_FALSE(da.can_see("example.com"));
  EXPECT_EQ(da.member_grants(Action::recall, "example.com").size(), 1u);
  EXPECT_EQ(da.member_grants(Action::write, "example.com").size(), 1u);
  EXPECT_TRUE(da.member_grants(Action::recall, "other.org").empty());
  EXPECT_TRUE(da.can_anywhere(Action::recall));

  // A domain_admin that names no domain covers none, member-scoped or not.
  Caller da_none = member_scoped(Role::domain_admin, {});
  for (Action a : kAllActions) {
    EXPECT_TRUE(da_none.member_grants(a, "example.com").empty()) << action_name(a);
    EXPECT_FALSE(da_none.can_anywhere(a)) << action_name(a);
  }

  // global_admin with a member scope is malformed: nothing, anywhere.
  for (bool with_domains : {true, false}) {
    Caller ga =
        member_scoped(Role::global_admin, with_domains ? std::vector<std::string>{"example.com"}
                                                       : std::vector<std::string>{});
    EXPECT_FALSE(ga.is_global_admin());
    EXPECT_EQ(ga.visible_domains(), std::vector<std::string>{});
    for (const char* d : kObjects) {
      EXPECT_FALSE(ga.can_see(d)) << d;
      for (Action a : kAllActions) {
        EXPECT_FALSE(ga.can(a, d)) << action_name(a) << " on '" << d << "'";
        EXPECT_TRUE(ga.member_grants(a, d).empty()) << action_name(a) << " on '" << d << "'";
      }
    }
    for (Action a : kAllActions) EXPECT_FALSE(ga.can_anywhere(a)) << action_name(a);
  }
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
