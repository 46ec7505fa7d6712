#include "auth/ldap/ldap_mapping.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mailroom::auth;
using namespace mailroom::auth::ldap;

namespace {
LdapOptions profile(Profile p) {
  LdapOptions o;
  apply_profile(p, o);
  return o;
}
LdapEntry entry(std::map<std::string, std::vector<std::string>> attrs) {
  LdapEntry e;
  e.dn = "uid=x,dc=example,dc=com";
  for (auto& [k, v] : attrs) e.attrs[lower(k)] = v;
  return e;
}
}  // namespace

TEST(LdapMapping, OpenLdapAccount) {
  auto o = profile(Profile::openldap);
  auto e = entry({{"entryUUID", {"8F11BABA-7F0B-1041-885E-A199E3FEE22B"}},
                  {"uid", {"Alice"}},
                  {"mail", {"Alice@Example.com"}},
                  {"mailAlternateAddress", {"info@example.com", "alice@example.com"}},
                  {"cn", {"Alice Liddell"}},
                  {"mailQuotaBytes", {"1073741824"}},
                  {"mailQuotaMessages", {"5000"}},
                  {"mailForwardingAddress", {"a@elsewhere.example"}},
                  {"mailDeliveryOption", {"forwardonly"}},
                  {"mailAccountStatus", {"active"}}});
  auto a = entry_to_account(e, o, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "8f11baba-7f0b-1041-885e-a199e3fee22b");
  EXPECT_EQ(a->login, "alice");
  EXPECT_EQ(a->address, "alice@example.com");
  EXPECT_EQ(a->other_addresses, std::vector<std::string>{"info@example.com"});
  EXPECT_EQ(a->quota_bytes, 1073741824u);
  EXPECT_EQ(a->quota_messages, 5000u);
  EXPECT_EQ(a->forward_to, std::vector<std::string>{"a@elsewhere.example"});
  EXPECT_FALSE(a->forward_keep_copy);
  EXPECT_EQ(a->status, AccountStatus::active);
}

TEST(LdapMapping, StatusValuesFailClosed) {
  auto o = profile(Profile::openldap);
  for (auto [value, want] : {std::pair{"disabled", AccountStatus::disabled},
                             std::pair{"deleted", AccountStatus::deleted},
                             std::pair{"whatever", AccountStatus::disabled},
                             std::pair{"ACTIVE", AccountStatus::active}}) {
    auto a = entry_to_account(
        entry({{"entryUUID", {"u1"}}, {"mail", {"a@b.c"}}, {"mailAccountStatus", {value}}}), o, 0);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, want) << value;
  }
}

TEST(LdapMapping, EntryWithoutIdOrMailIsUnusable) {
  auto o = profile(Profile::openldap);
  EXPECT_FALSE(entry_to_account(entry({{"mail", {"a@b.c"}}}), o, 0));
  EXPECT_FALSE(entry_to_account(entry({{"entryUUID", {"u"}}}), o, 0));
  EXPECT_FALSE(entry_to_account(entry({{"entryUUID", {"u"}}, {"mail", {"no-at-sign"}}}), o, 0));
}

TEST(LdapMapping, GuidRoundTripUsesAdByteOrder) {
  // bytes as AD stores them for {01020304-0506-0708-090a-0b0c0d0e0f10}
  std::string bytes = {0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07,
                       0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
  EXPECT_EQ(guid_to_string(bytes), "01020304-0506-0708-090a-0b0c0d0e0f10");
  EXPECT_EQ(guid_from_string("01020304-0506-0708-090a-0b0c0d0e0f10"), bytes);
  EXPECT_FALSE(guid_from_string("not-a-guid"));
  EXPECT_EQ(guid_to_string("short"), "");
}

TEST(LdapMapping, ActiveDirectoryAccount) {
  auto o = profile(Profile::activedirectory);
  std::string guid = *guid_from_string("11111111-2222-3333-4444-555555555555");
  auto e = entry({{"objectGUID", {guid}},
                  {"sAMAccountName", {"BSmith"}},
                  {"mail", {"old@corp.example"}},
                  {"proxyAddresses",
                   {"smtp:bob@corp.example", "SMTP:Bob.Smith@corp.example", "X500:/o=x/cn=bob",
                    "smtp:bs@corp.example"}},
                  {"displayName", {"Bob Smith"}},
                  {"userAccountControl", {"512"}},
                  {"accountExpires", {"9223372036854775807"}}});
  auto a = entry_to_account(e, o, 1700000000);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(a->login, "bsmith");
  EXPECT_EQ(a->address, "bob.smith@corp.example");
  EXPECT_EQ(a->other_addresses,
            (std::vector<std::string>{"bob@corp.example", "old@corp.example", "bs@corp.example"}));
  EXPECT_EQ(a->display_name, "Bob Smith");
  EXPECT_EQ(a->status, AccountStatus::active);

  e.attrs["useraccountcontrol"] = {"514"};  // ACCOUNTDISABLE
  EXPECT_EQ(entry_to_account(e, o, 1700000000)->status, AccountStatus::disabled);
}

TEST(LdapMapping, AccountExpires) {
  // 2020-01-01T00:00:00Z = 1577836800 unix = (1577836800 + 11644473600) * 1e7 ticks
  std::string t2020 = "132223104000000000";
  EXPECT_TRUE(ad_account_expired(t2020, 1700000000));
  EXPECT_FALSE(ad_account_expired(t2020, 1500000000));
  EXPECT_FALSE(ad_account_expired("0", 1700000000));
  EXPECT_FALSE(ad_account_expired("9223372036854775807", 1700000000));
  EXPECT_FALSE(ad_account_expired("garbage", 1700000000));
}

TEST(LdapMapping, RangeOption) {
  auto r = parse_range_option("member;range=0-1499");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attribute, "member");
  EXPECT_EQ(r->start, 0);
  EXPECT_EQ(r->end, 1499);
  r = parse_range_option("Member;Range=1500-*");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 1500);
  EXPECT_EQ(r->end, -1);
  EXPECT_FALSE(parse_range_option("member"));
  EXPECT_FALSE(parse_range_option("member;range=x-y"));
}

TEST(LdapMapping, Groups) {
  auto o = profile(Profile::openldap);
  auto g = entry_to_group_header(entry({{"mail", {"Staff@Example.com"}},
                                        {"cn", {"staff"}},
                                        {"mailGroupSendPolicy", {"moderators"}},
                                        {"mailGroupAllowedSender", {"Boss@example.com"}}}),
                                 o);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->address, "staff@example.com");
  EXPECT_EQ(g->send_policy, GroupSendPolicy::moderators);
  EXPECT_EQ(g->allowed_senders, std::vector<std::string>{"boss@example.com"});
  EXPECT_FALSE(entry_to_group_header(entry({{"cn", {"nomail"}}}), o));
}

TEST(LdapMapping, UniqueMemberOptionalUid) {
  EXPECT_EQ(strip_optional_uid("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
  EXPECT_EQ(strip_optional_uid("uid=a,dc=x"), "uid=a,dc=x");
  EXPECT_EQ(strip_optional_uid("cn=a\\#'b,dc=x"), "cn=a\\#'b,dc=x");
}

TEST(LdapMapping, MemberUrl) {
  auto m = parse_member_url("ldap:///ou=people,dc=example,dc=com??sub?(departmentNumber=42)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->base, "ou=people,dc=example,dc=com");
  EXPECT_EQ(m->scope, "sub");
  EXPECT_EQ(m->filter, "(departmentNumber=42)");
  m = parse_member_url("ldap:///ou=people,dc=example,dc=com??one?ou=sales%20team");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->scope, "one");
  EXPECT_EQ(m->filter, "(ou=sales team)");
  EXPECT_FALSE(parse_member_url("http://x/y"));
  EXPECT_FALSE(parse_member_url("ldap:///dc=x??bogus?(a=b)"));
}

TEST(LdapMapping, AttributeListsCoverTheProfile) {
  auto o = profile(Profile::activedirectory);
  auto v = account_attributes(o);
  for (const char* want :
       {"objectGUID", "sAMAccountName", "proxyAddresses", "userAccountControl", "accountExpires"})
    EXPECT_NE(std::find(v.begin(), v.end(), want), v.end()) << want;
}

TEST(LdapMapping, GroupMembersAreReadOnlyWhenNotInChain) {
  auto has = [](const std::vector<std::string>& v, const char* a) {
    return std::find(v.begin(), v.end(), a) != v.end();
  };
  auto ad = profile(Profile::activedirectory);  // in_chain: members by memberOf
  auto v = group_attributes(ad);
  EXPECT_TRUE(has(v, "mail"));
  EXPECT_TRUE(has(v, "proxyAddresses"));
  EXPECT_FALSE(has(v, "member"));
  ad.nested_groups = NestedGroups::member;
  EXPECT_TRUE(has(group_attributes(ad), "member"));
  auto ol = profile(Profile::openldap);
  v = group_attributes(ol);
  EXPECT_TRUE(has(v, "member"));
  EXPECT_TRUE(has(v, "uniqueMember"));
  EXPECT_TRUE(has(v, "memberURL"));
}

// The password change time revokes app passwords (auth/app_passwords.h): OpenLDAP's
// operational pwdChangedTime (ppolicy overlay), AD's pwdLastSet; both are requested by name.
TEST(LdapMapping, PasswordChangeTime) {
  auto o = profile(Profile::openldap);
  auto attrs = account_attributes(o);
  EXPECT_NE(std::find(attrs.begin(), attrs.end(), "pwdChangedTime"), attrs.end());
  auto e = entry({{"entryUUID", {"u-1"}}, {"mail", {"a@example.com"}}});
  EXPECT_EQ(entry_to_account(e, o, 0)->password_changed, "");
  e.attrs["pwdchangedtime"] = {"20261205012303Z"};
  EXPECT_EQ(entry_to_account(e, o, 0)->password_changed, "20261205012303Z");

  auto ad = profile(Profile::activedirectory);
  auto ad_attrs = account_attributes(ad);
  EXPECT_NE(std::find(ad_attrs.begin(), ad_attrs.end(), "pwdLastSet"), ad_attrs.end());
  auto b = entry({{"objectGUID", {*guid_from_string("11111111-2222-3333-4444-555555555555")}},
                  {"mail", {"b@corp.example"}},
                  {"pwdLastSet", {"133777777777777777"}}});
  EXPECT_EQ(entry_to_account(b, ad, 0)->password_changed, "133777777777777777");
}

TEST(LdapMapping, ManagerAndLeavers) {
  auto o = profile(Profile::openldap);
  o.leavers_ou = "ou=Leavers, dc=example,dc=com";
  auto e = entry({{"entryUUID", {"8f11baba-7f0b-1041-885e-a199e3fee22b"}},
                  {"mail", {"dave@example.com"}},
                  {"manager", {"uid=erin,ou=people,dc=example,dc=com"}}});
  auto a = entry_to_account(e, o, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->manager, "uid=erin,ou=people,dc=example,dc=com");  // the sync resolves it
  EXPECT_EQ(a->status, AccountStatus::active);
  // Moved under the leavers OU: disabled, whatever the status attribute says.
  e.dn = "uid=dave,OU=leavers,dc=example,dc=com";
  e.attrs["mailaccountstatus"] = {"active"};
  EXPECT_EQ(entry_to_account(e, o, 0)->status, AccountStatus::disabled);
  EXPECT_FALSE(dn_under("ou=leavers,dc=example,dc=com", o.leavers_ou));  // the OU itself
  EXPECT_FALSE(dn_under("uid=x,ou=notleavers,dc=example,dc=com", o.leavers_ou));
  EXPECT_TRUE(dn_under("uid=x, ou=leavers, dc=example, dc=com", o.leavers_ou));

  // A member of leavers_group (memberOf, AD or the memberof overlay).
  auto ad = profile(Profile::activedirectory);
  ad.leavers_group = "CN=Leavers,OU=Groups,DC=corp,DC=example";
  auto u = entry({{"objectGUID", {std::string(16, '\x01')}},
                  {"mail", {"x@corp.example"}},
                  {"userAccountControl", {"512"}},
                  {"memberOf", {"CN=Staff,OU=Groups,DC=corp,DC=example"}}});
  EXPECT_EQ(entry_to_account(u, ad, 0)->status, AccountStatus::active);
  u.attrs["memberof"].push_back("cn=leavers,ou=groups,dc=corp,dc=example");
  EXPECT_EQ(entry_to_account(u, ad, 0)->status, AccountStatus::disabled);
  auto attrs = account_attributes(ad);
  EXPECT_NE(std::find(attrs.begin(), attrs.end(), "memberOf"), attrs.end());
  EXPECT_NE(std::find(attrs.begin(), attrs.end(), "manager"), attrs.end());
}
