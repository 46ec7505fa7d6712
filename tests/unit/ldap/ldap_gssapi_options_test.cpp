// [directory.ldap] keys of the Kerberos service bind (bind_method = "gssapi"): parsing, the
// keytab checks made at start-up, and what a failed bind points at.
#include <gtest/gtest.h>
#include <krb5.h>
#include <ldap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "auth/ldap/ldap_gssapi.h"
#include "auth/ldap/ldap_options.h"
#include "src/core/config_section.h"

using namespace mailroom;
using namespace mailroom::auth::ldap;

namespace {

// A keytab with a random key for each of `principals`, written through libkrb5 (no KDC).
void write_keytab(const std::string& path, const std::vector<std::string>& principals) {
  krb5_context ctx = nullptr;
  ASSERT_EQ(krb5_init_context(&ctx), 0);
  krb5_keytab kt = nullptr;
  std::string name = "FILE:" + path;
  ASSERT_EQ(krb5_kt_resolve(ctx, name.c_str(), &kt), 0);
  for (const auto& p : principals) {
    krb5_keytab_entry entry{};
    ASSERT_EQ(krb5_parse_name(ctx, p.c_str(), &entry.principal), 0);
    entry.vno = 1;
    ASSERT_EQ(krb5_c_make_random_key(ctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &entry.key), 0);
    ASSERT_EQ(krb5_kt_add_entry(ctx, kt, &entry), 0);
    krb5_free_keytab_entry_contents(ctx, &entry);
  }
  krb5_kt_close(ctx, kt);
  krb5_free_context(ctx);
}

class GssapiOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mr-ldap-gssapi-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    keytab_ = (dir_ / "ldap.keytab").string();
    write_keytab(keytab_, {"svc@EXAMPLE.COM"});
    ::chmod(keytab_.c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // [directory.ldap] of an AD over LDAPS with the service pool on GSSAPI, plus `extra`.
  struct Parsed {
    LdapOptions options;
    std::vector<std::string> errors;
    bool mentions(const std::string& what) const {
      for (const auto& e : errors)
        if (e.find(what) != std::string::npos) return true;
      return false;
    }
  };
  Parsed parse(const std::string& extra, bool with_keytab = true) {
    std::string toml =
        "[directory.ldap]\nprofile='activedirectory'\nuris=['ldaps://dc1.example.com']\n"
        "base_dn='DC=example,DC=com'\nbind_method='gssapi'\n" +
        (with_keytab ? "keytab='" + keytab_ + "'\nprincipal='svc@EXAMPLE.COM'\n" : "") + extra;
    core::ConfigErrors errors;
    auto doc = core::ConfigDocument::load_string(toml, "test.toml", &errors);
    auto root = doc->root();
    auto dir = root.child("directory");
    auto s = dir.child("ldap");
    Parsed p{parse_ldap_options(s), {}};
    p.errors = errors.messages();
    return p;
  }

  std::filesystem::path dir_;
  std::string keytab_;
};

}  // namespace

TEST_F(GssapiOptions, SealedServicePoolOnPlainLdapBesideLdapsUserBinds) {
  auto p = parse("service_uris=['ldap://dc1.example.com']\n");
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
  auto p = parse("sasl_ssf='none'\ngssapi_renew_before='10m'\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  EXPECT_FALSE(p.options.sasl_seal);
  EXPECT_EQ(p.options.gssapi_renew_before_s, 600);
  EXPECT_EQ(pool_uris(p.options, true), p.options.uris);
}

TEST_F(GssapiOptions, NoSecurityLayerNeedsTls) {
  auto p = parse("service_uris=['ldap://dc1.example.com']\nsasl_ssf='none'\n");
  EXPECT_TRUE(p.mentions("directory.ldap.sasl_ssf")) << testing::PrintToString(p.errors);
  EXPECT_TRUE(p.mentions("unprotected"));
  EXPECT_TRUE(parse("sasl_ssf='sealed'\n").mentions("must be \"seal\" or \"none\""));
}

TEST_F(GssapiOptions, PlainServiceUrisNeedSealingOrASimpleBindOverTls) {
  // A simple bind in the clear is refused where uris say LDAPS.
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[directory.ldap]\nuris=['ldaps://dc1']\nservice_uris=['ldap://dc1', 'http://x']\n"
      "base_dn='dc=x'\nbind_dn='cn=svc,dc=x'\nbind_password='pw'\n",
      "test.toml", &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto s = dir.child("ldap");
  parse_ldap_options(s);
  std::string all;
  for (const auto& e : errors.messages()) all += e + "\n";
  EXPECT_NE(all.find("tls = \"ldaps\" needs ldaps:// URIs, got 'ldap://dc1'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("'http://x' is not an ldap://"), std::string::npos) << all;
}

TEST_F(GssapiOptions, KeytabAndPrincipalAreRequiredAndChecked) {
  auto none = parse("", /*with_keytab=*/false);
  EXPECT_TRUE(none.mentions("directory.ldap.keytab: bind_method = \"gssapi\" needs"));
  EXPECT_TRUE(none.mentions("directory.ldap.principal: bind_method = \"gssapi\" needs"));

  auto missing = parse(
      "keytab='" + (dir_ / "nope.keytab").string() + "'\nprincipal='svc@EXAMPLE.COM'\n", false);
  EXPECT_TRUE(missing.mentions("directory.ldap.keytab: cannot read")) << missing.errors.front();

  auto other = parse("keytab='" + keytab_ + "'\nprincipal='other@EXAMPLE.COM'\n", false);
  EXPECT_TRUE(other.mentions("has no key for 'other@EXAMPLE.COM'; it holds: svc@EXAMPLE.COM"))
      << other.errors.front();

  auto no_realm = parse("keytab='" + keytab_ + "'\nprincipal='svc'\n", false);
  EXPECT_TRUE(no_realm.mentions("'svc' is not a principal name@REALM"));
}

TEST_F(GssapiOptions, AKeytabOthersCanReadIsRefused) {
  ::chmod(keytab_.c_str(), 0640);
  auto p = parse("");
  EXPECT_TRUE(p.mentions("directory.ldap.keytab")) << testing::PrintToString(p.errors);
  EXPECT_TRUE(p.mentions("readable by other users"));
}

TEST_F(GssapiOptions, GssapiKeysAreRefusedWithASimpleBind) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[directory.ldap]\nuris=['ldaps://dc1']\nbase_dn='dc=x'\nkeytab='/k'\n"
      "principal='a@B'\nsasl_ssf='none'\n",
      "test.toml", &errors);
  auto root = doc->root();
  auto dir = root.child("directory");
  auto s = dir.child("ldap");
  parse_ldap_options(s);
  ASSERT_EQ(errors.messages().size(), 3u) << testing::PrintToString(errors.messages());
  for (const auto& e : errors.messages())
    EXPECT_NE(e.find("is only used with bind_method = \"gssapi\""), std::string::npos) << e;
  // and a bind DN with GSSAPI
  EXPECT_TRUE(parse("bind_dn='cn=svc'\nbind_password='x'\n").mentions("remove bind_dn"));
}

TEST(GssapiBindProblem, NamesTheOptionAtFault) {
  EXPECT_EQ(gssapi_bind_problem(LDAP_UNWILLING_TO_PERFORM,
                                "SASL:[GSSAPI]: Sign or Seal are not allowed if TLS is used"),
            "sasl_ssf");
  EXPECT_EQ(gssapi_bind_problem(LDAP_STRONG_AUTH_REQUIRED, "Sign or Seal are required."),
            "sasl_ssf");
  EXPECT_EQ(gssapi_bind_problem(LDAP_LOCAL_ERROR,
                                "GSSAPI Error: Unspecified GSS failure. (Server "
                                "not found in Kerberos database)"),
            "service_uris");
  EXPECT_EQ(gssapi_bind_problem(LDAP_AUTH_UNKNOWN, "SASL(-4): no mechanism available"),
            "bind_method");
  EXPECT_EQ(gssapi_bind_problem(LDAP_INVALID_CREDENTIALS, ""), "principal");
  // The DC or the KDC, not the configuration: "could not tell".
  EXPECT_EQ(gssapi_bind_problem(LDAP_SERVER_DOWN, "Can't contact LDAP server"), "");
  EXPECT_EQ(gssapi_bind_problem(LDAP_LOCAL_ERROR, "Cannot contact any KDC for realm 'X'"), "");
}
