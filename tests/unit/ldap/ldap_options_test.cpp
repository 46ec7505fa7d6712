#include "auth/ldap/ldap_options.h"

#include <gtest/gtest.h>

#include "src/core/config_section.h"

using namespace mailroom;
using namespace mailroom::auth::ldap;

namespace {
struct Parsed {
  LdapOptions options;
  std::vector<std::string> errors;
};
Parsed parse(const std::string& toml) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(toml, "test.toml", &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto s = dir.child("ldap");
  Parsed p{parse_ldap_options(s), {}};
  p.errors = errors.messages();
  return p;
}
bool mentions(const std::vector<std::string>& errors, const std::string& what) {
  for (const auto& e : errors)
    if (e.find(what) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST(LdapOptions, OpenLdapDefaults) {
  auto p = parse("[directory.ldap]\nuris=['ldap://127.0.0.1:3389']\nbase_dn='dc=example,dc=com'\n");
  EXPECT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.profile, Profile::openldap);
  EXPECT_EQ(p.options.attrs.id, "entryUUID");
  EXPECT_EQ(p.options.domains, std::vector<std::string>{"example.com"});
  EXPECT_EQ(p.options.tls, TlsMode::none);
  EXPECT_EQ(p.options.sync_mode, "off");
}

TEST(LdapOptions, ActiveDirectoryProfile) {
  auto p = parse(
      "[directory.ldap]\nprofile='activedirectory'\nuris=['ldaps://dc1.corp.example']\n"
      "base_dn='DC=Corp,DC=Example'\nbind_dn='CN=svc,DC=Corp,DC=Example'\nbind_password='x'\n"
      "[directory.ldap.sync]\n");
  EXPECT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_TRUE(p.options.attrs.id_is_guid);
  EXPECT_EQ(p.options.tls, TlsMode::ldaps);
  EXPECT_EQ(p.options.nested_groups, NestedGroups::in_chain);
  EXPECT_EQ(p.options.domains, std::vector<std::string>{"corp.example"});
  EXPECT_EQ(p.options.sync_mode, "poll");
}

TEST(LdapOptions, ErrorsNameTheSetting) {
  auto p = parse(
      "[directory.ldap]\nuris=['http://x']\nbind_dn='cn=a'\naccount_filter='mail=%s'\n"
      "tls='ldaps'\nbogus=1\n[directory.ldap.attributes]\nid=''\n");
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.uris"));
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.base_dn"));
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.bind_password"));
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.account_filter"));
  EXPECT_TRUE(mentions(p.errors, "bogus"));
  EXPECT_TRUE(mentions(p.errors, "attributes.id"));
}

TEST(LdapOptions, ReplicaNeedsSync) {
  auto p = parse("[directory.ldap]\nuris=['ldap://h']\nbase_dn='dc=x'\nlookup='replica'\n");
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.lookup"));
}

TEST(LdapOptions, LeaversGroupNeedsMemberOf) {
  auto p = parse(
      "[directory.ldap]\nuris=['ldap://h']\nbase_dn='dc=x'\nleavers_group='cn=leavers,dc=x'\n");
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.leavers_group"));
  auto ok = parse(
      "[directory.ldap]\nuris=['ldap://h']\nbase_dn='dc=x'\nleavers_group='cn=leavers,dc=x'\n"
      "leavers_ou='ou=gone,dc=x'\n[directory.ldap.attributes]\nmember_of='memberOf'\n"
      "manager='seeAlso'\n");
  EXPECT_TRUE(ok.errors.empty()) << ok.errors.front();
  EXPECT_EQ(ok.options.leavers_ou, "ou=gone,dc=x");
  EXPECT_EQ(ok.options.attrs.manager, "seeAlso");
}
