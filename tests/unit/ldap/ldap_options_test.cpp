#include "auth/ldap/ldap_options.h"

#include <gtest/gtest.h>
#include <ldap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "auth/ldap/ldap_gssapi.h"
#include "src/core/config_section.h"
#include "tests/unit/auth/keytab_writer.h"

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

// The Kerberos service bind (bind_method = "gssapi"): its keys, the keytab checks made at
// start-up, and what a failed bind points at.
class GssapiOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mr-ldap-gssapi-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    keytab_ = (dir_ / "ldap.keytab").string();
    mailroom::testing::write_keytab(keytab_, {"svc@EXAMPLE.COM"});
    ::chmod(keytab_.c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An AD over LDAPS with the service pool on GSSAPI as svc@EXAMPLE.COM, plus `extra`.
  Parsed gssapi(const std::string& extra, bool with_keytab = true) {
    return parse(
        "[directory.ldap]\nprofile='activedirectory'\nuris=['ldaps://dc1.example.com']\n"
        "base_dn='DC=example,DC=com'\nbind_method='gssapi'\n" +
        (with_keytab ? "keytab='" + keytab_ + "'\nprincipal='svc@EXAMPLE.COM'\n" : "") + extra);
  }

  std::filesystem::path dir_;
  std::string keytab_;
};

TEST_F(GssapiOptions, SealedServicePoolOnPlainLdapBesideLdapsUserBinds) {
  auto p = gssapi("service_uris=['ldap://dc1.example.com']\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_EQ(p.options.bind_method, BindMethod::gssapi);
  EXPECT_TRUE(p.options.sasl_seal);
  EXPECT_EQ(p.options.keytab, keytab_);
  EXPECT_EQ(p.options.principal, "svc@EXAMPLE.COM");
  EXPECT_EQ(p.options.gssapi_renew_before_s, 300);
  EXPECT_EQ(pool_uris(p.options, true), std::vector<std::string>{"ldap://dc1.example.com"});
  EXPECT_EQ(pool_uris(p.options, false), std::vector<std::string>{"ldaps://dc1.example.com"});
}

TEST_F(GssapiOptions, WithoutServiceUrisBothPoolsUseUris) {
  auto p = gssapi("sasl_ssf='none'\ngssapi_renew_before='10m'\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_FALSE(p.options.sasl_seal);
  EXPECT_EQ(p.options.gssapi_renew_before_s, 600);
  EXPECT_EQ(pool_uris(p.options, true), p.options.uris);
}

TEST_F(GssapiOptions, NoSecurityLayerNeedsTls) {
  auto p = gssapi("service_uris=['ldap://dc1.example.com']\nsasl_ssf='none'\n");
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.sasl_ssf")) << ::testing::PrintToString(p.errors);
  EXPECT_TRUE(mentions(p.errors, "unprotected"));
  EXPECT_TRUE(mentions(gssapi("sasl_ssf='sealed'\n").errors, "must be \"seal\" or \"none\""));
}

TEST_F(GssapiOptions, PlainServiceUrisNeedSealingOrASimpleBindOverTls) {
  // A simple bind in the clear is refused where uris say LDAPS.
  auto p = parse(
      "[directory.ldap]\nuris=['ldaps://dc1']\nservice_uris=['ldap://dc1', 'http://x']\n"
      "base_dn='dc=x'\nbind_dn='cn=svc,dc=x'\nbind_password='pw'\n");
  EXPECT_TRUE(mentions(p.errors, "tls = \"ldaps\" needs ldaps:// URIs, got 'ldap://dc1'"))
      << ::testing::PrintToString(p.errors);
  EXPECT_TRUE(mentions(p.errors, "'http://x' is not an ldap://"));
}

TEST_F(GssapiOptions, KeytabAndPrincipalAreRequiredAndChecked) {
  auto none = gssapi("", /*with_keytab=*/false);
  EXPECT_TRUE(mentions(none.errors, "directory.ldap.keytab: bind_method = \"gssapi\" needs"));
  EXPECT_TRUE(mentions(none.errors, "directory.ldap.principal: bind_method = \"gssapi\" needs"));

  auto missing = gssapi(
      "keytab='" + (dir_ / "nope.keytab").string() + "'\nprincipal='svc@EXAMPLE.COM'\n", false);
  EXPECT_TRUE(mentions(missing.errors, "directory.ldap.keytab: cannot read"));

  auto other = gssapi("keytab='" + keytab_ + "'\nprincipal='other@EXAMPLE.COM'\n", false);
  EXPECT_TRUE(
      mentions(other.errors, "has no key for 'other@EXAMPLE.COM'; it holds: svc@EXAMPLE.COM"))
      << ::testing::PrintToString(other.errors);

  auto no_realm = gssapi("keytab='" + keytab_ + "'\nprincipal='svc'\n", false);
  EXPECT_TRUE(mentions(no_realm.errors, "'svc' is not a principal name@REALM"));
}

TEST_F(GssapiOptions, AKeytabOthersCanReadIsRefused) {
  ::chmod(keytab_.c_str(), 0640);
  auto p = gssapi("");
  EXPECT_TRUE(mentions(p.errors, "directory.ldap.keytab")) << ::testing::PrintToString(p.errors);
  EXPECT_TRUE(mentions(p.errors, "readable by other users"));
}

TEST_F(GssapiOptions, GssapiKeysAreRefusedWithASimpleBind) {
  auto p = parse(
      "[directory.ldap]\nuris=['ldaps://dc1']\nbase_dn='dc=x'\nkeytab='/k'\n"
      "principal='a@B'\nsasl_ssf='none'\n");
  ASSERT_EQ(p.errors.size(), 3u) << ::testing::PrintToString(p.errors);
  for (const auto& e : p.errors)
    EXPECT_NE(e.find("is only used with bind_method = \"gssapi\""), std::string::npos) << e;
  EXPECT_TRUE(mentions(gssapi("bind_dn='cn=svc'\nbind_password='x'\n").errors, "remove bind_dn"));
}

TEST(GssapiBindProblem, NamesTheOptionAtFault) {
  EXPECT_EQ(gssapi_bind_problem(LDAP_UNWILLING_TO_PERFORM,
                                "SASL:[GSSAPI]: Sign or Seal are not allowed if TLS is used"),
            "sasl_ssf");
  EXPECT_EQ(gssapi_bind_problem(LDAP_STRONG_AUTH_REQUIRED, "Sign or Seal are required."),
            "sasl_ssf");
  EXPECT_EQ(gssapi_bind_problem(LDAP_LOCAL_ERROR,
                                "GSSAPI Error: Unspecified GSS failure. (Server not found in "
                                "Kerberos database)"),
            "service_uris");
  EXPECT_EQ(gssapi_bind_problem(LDAP_AUTH_UNKNOWN, "SASL(-4): no mechanism available"),
            "bind_method");
  EXPECT_EQ(gssapi_bind_problem(LDAP_INVALID_CREDENTIALS, ""), "principal");
  // The DC or the KDC, not the configuration: "could not tell".
  EXPECT_EQ(gssapi_bind_problem(LDAP_SERVER_DOWN, "Can't contact LDAP server"), "");
  EXPECT_EQ(gssapi_bind_problem(LDAP_LOCAL_ERROR, "Cannot contact any KDC for realm 'X'"), "");
}
