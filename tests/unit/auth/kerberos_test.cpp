// Kerberos pieces of the GSSAPI login (auth/sasl/kerberos.h): principal parsing and mapping
// rules, the [auth] keys, the keytab check against keytabs written here with libkrb5 (random
// keys, no KDC), and when the authenticator offers GSSAPI.
#include "auth/sasl/kerberos.h"

#include <gtest/gtest.h>
#include <krb5.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/auth_options.h"
#include "auth/sasl/sasl_authenticator.h"
#include "src/core/config_section.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/keytab_writer.h"

namespace mailroom::auth {
namespace {

const std::vector<std::string> kExample{"EXAMPLE.COM"};

TEST(KerberosPrincipal, Parses) {
  auto p = parse_principal("alice@EXAMPLE.COM");
  ASSERT_TRUE(p) << p.status().to_string();
  EXPECT_EQ(p->components, std::vector<std::string>{"alice"});
  EXPECT_EQ(p->realm, "EXAMPLE.COM");

  p = parse_principal("imap/mail.example.com@EXAMPLE.COM");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->components, (std::vector<std::string>{"imap", "mail.example.com"}));

  p = parse_principal(R"(alice\@example.com@EXAMPLE.COM)");  // an enterprise name
  ASSERT_TRUE(p);
  EXPECT_EQ(p->components, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(p->realm, "EXAMPLE.COM");

  p = parse_principal("bob");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->realm, "");
}

TEST(KerberosPrincipal, RefusesMalformed) {
  for (const char* bad :
       {"", "@EXAMPLE.COM", "alice@", "alice//x@R", "alice\\", "al\\nice@R", "/admin@R"}) {
    EXPECT_FALSE(parse_principal(bad)) << bad;
  }
  EXPECT_FALSE(parse_principal(std::string("al\x01ice@R", 9))) << "control character";
}

TEST(KerberosPrincipal, FullPrincipalRestoresTheDefaultRealm) {
  // Cyrus drops the default realm (plugins/gssapi.c); other realms stay.
  EXPECT_EQ(full_principal("alice", "EXAMPLE.COM"), "alice@EXAMPLE.COM");
  EXPECT_EQ(full_principal("carol@OTHER.COM", "EXAMPLE.COM"), "carol@OTHER.COM");
  EXPECT_EQ(full_principal(R"(a\@b.com)", "EXAMPLE.COM"), R"(a\@b.com@EXAMPLE.COM)");
  EXPECT_EQ(full_principal("alice", ""), "alice");
}

TEST(KerberosMappingRule, StripRealm) {
  auto l = principal_to_login("alice@EXAMPLE.COM", kExample, KerberosMapping::strip_realm);
  ASSERT_TRUE(l) << l.status().to_string();
  EXPECT_EQ(*l, "alice");
}

TEST(KerberosMappingRule, RealmToDomain) {
  auto l = principal_to_login("alice@EXAMPLE.COM", kExample, KerberosMapping::realm_to_domain);
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, "alice@example.com");
  // An enterprise principal already carries the address.
  l = principal_to_login(R"(alice\@corp.example@EXAMPLE.COM)", kExample,
                         KerberosMapping::realm_to_domain);
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, "alice@corp.example");
  EXPECT_FALSE(principal_to_login(R"(alice\@corp.example@EXAMPLE.COM)", kExample,
                                  KerberosMapping::strip_realm));
}

TEST(KerberosMappingRule, RefusesOtherRealmsInstancesAndNoRealm) {
  for (auto mapping : {KerberosMapping::strip_realm, KerberosMapping::realm_to_domain}) {
    auto l = principal_to_login("carol@OTHER.COM", kExample, mapping);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.status().client_message(), "realm OTHER.COM is not in kerberos_realms");
    // Realms are case-sensitive (RFC 4120 6.1).
    EXPECT_FALSE(principal_to_login("alice@example.com", kExample, mapping));
    l = principal_to_login("alice/admin@EXAMPLE.COM", kExample, mapping);
    ASSERT_FALSE(l);
    EXPECT_NE(l.status().client_message().find("instance"), std::string::npos);
    EXPECT_FALSE(principal_to_login("imap/mail.example.com@EXAMPLE.COM", kExample, mapping));
    EXPECT_FALSE(principal_to_login("alice", kExample, mapping));
  }
  auto l = principal_to_login("carol@OTHER.COM", {"EXAMPLE.COM", "OTHER.COM"},
                              KerberosMapping::strip_realm);
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, "carol");
}

TEST(KerberosService, PerProtocol) {
  EXPECT_EQ(gssapi_service("imap"), "imap");
  EXPECT_EQ(gssapi_service("pop3"), "pop");
  EXPECT_EQ(gssapi_service("smtp"), "smtp");
  EXPECT_EQ(gssapi_service("submission"), "smtp");
  EXPECT_EQ(gssapi_service("lmtp"), "");
  EXPECT_EQ(gssapi_service("http"), "");
}

struct Parsed {
  AuthOptions options;
  std::vector<std::string> errors;
};
Parsed parse(const std::string& auth_section) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string("[auth]\n" + auth_section, "t.toml", &errors);
  auto root = doc->root();
  auto s = root.child("auth");
  Parsed p{parse_auth_options(s), {}};
  p.errors = errors.messages();
  return p;
}
bool has_error(const Parsed& p, const std::string& part) {
  for (const auto& e : p.errors) {
    if (e.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(KerberosOptions, Keys) {
  auto p = parse(
      "kerberos_keytab = \"/etc/mailroom/mail.keytab\"\n"
      "kerberos_hostname = \"Mail.Example.COM\"\n"
      "kerberos_realms = [\"EXAMPLE.COM\", \"CORP.EXAMPLE.COM\"]\n"
      "kerberos_mapping = \"realm_to_domain\"\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front();
  const auto& k = p.options.kerberos;
  EXPECT_TRUE(k.enabled());
  EXPECT_EQ(k.keytab, "/etc/mailroom/mail.keytab");
  EXPECT_EQ(k.hostname, "mail.example.com");
  EXPECT_EQ(k.realms, (std::vector<std::string>{"EXAMPLE.COM", "CORP.EXAMPLE.COM"}));
  EXPECT_EQ(k.mapping, KerberosMapping::realm_to_domain);
  // A keytab adds GSSAPI to the default mechanisms.
  EXPECT_EQ(p.options.mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256",
                                                            "OAUTHBEARER", "XOAUTH2", "GSSAPI"}));
}

TEST(KerberosOptions, Defaults) {
  auto p = parse("");
  ASSERT_TRUE(p.errors.empty());
  EXPECT_FALSE(p.options.kerberos.enabled());
  EXPECT_EQ(p.options.kerberos.mapping, KerberosMapping::strip_realm);
  EXPECT_EQ(p.options.mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256",
                                                            "OAUTHBEARER", "XOAUTH2"}));
}

TEST(KerberosOptions, Errors) {
  EXPECT_TRUE(has_error(parse("mechanisms = [\"GSSAPI\"]\n"), "GSSAPI needs kerberos_keytab"));
  EXPECT_TRUE(has_error(parse("kerberos_keytab = \"k\"\nmechanisms = [\"PLAIN\"]\n"),
                        "is set but mechanisms does not list GSSAPI"));
  EXPECT_TRUE(has_error(parse("kerberos_keytab = \"k\"\nkerberos_realms = [\"a@b\"]\n"),
                        "'a@b' is not a Kerberos realm name"));
  EXPECT_TRUE(has_error(parse("kerberos_keytab = \"k\"\nkerberos_mapping = \"ldap\"\n"),
                        "kerberos_mapping"));
  EXPECT_TRUE(has_error(parse("kerberos_realms = [\"EXAMPLE.COM\"]\n"), "needs kerberos_keytab"));
  auto ok = parse("kerberos_keytab = \"k\"\nmechanisms = [\"gssapi\", \"PLAIN\"]\n");
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.options.mechanisms, (std::vector<std::string>{"GSSAPI", "PLAIN"}));
}

using mailroom::testing::write_keytab;

class KeytabCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mr-keytab-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    options_.keytab = (dir_ / "mail.keytab").string();
    options_.hostname = "mail.example.com";
    options_.realms = {"EXAMPLE.COM"};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  KerberosOptions options_;
};

TEST_F(KeytabCheck, AcceptsAKeytabWithEveryServicePrincipal) {
  write_keytab(options_.keytab,
               {"imap/mail.example.com@EXAMPLE.COM", "pop/mail.example.com@EXAMPLE.COM",
                "smtp/mail.example.com@EXAMPLE.COM"});
  auto held = keytab_principals(options_.keytab);
  ASSERT_TRUE(held) << held.status().to_string();
  EXPECT_EQ(held->size(), 3u);
  auto st = check_keytab(options_, {"imap", "pop", "smtp"});
  EXPECT_TRUE(st) << st.to_string();
}

TEST_F(KeytabCheck, NamesTheMissingPrincipal) {
  write_keytab(options_.keytab,
               {"imap/mail.example.com@EXAMPLE.COM", "smtp/mail.example.com@EXAMPLE.COM"});
  EXPECT_TRUE(check_keytab(options_, {"imap", "smtp"}));
  auto st = check_keytab(options_, {"imap", "pop", "smtp"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.client_message(),
            "[auth] kerberos_keytab " + options_.keytab +
                " has no key for pop/mail.example.com@EXAMPLE.COM (realms EXAMPLE.COM); it "
                "holds: imap/mail.example.com@EXAMPLE.COM, smtp/mail.example.com@EXAMPLE.COM");
}

TEST_F(KeytabCheck, WrongRealmAndWrongHost) {
  write_keytab(options_.keytab, {"imap/mail.example.com@EXAMPLE.COM"});
  options_.realms = {"EXAMPLE.ORG"};
  auto st = check_keytab(options_, {"imap"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.client_message().find("no key for imap/mail.example.com@EXAMPLE.ORG"),
            std::string::npos)
      << st.client_message();
  options_.realms = {"EXAMPLE.COM"};
  options_.hostname = "mx.example.com";
  EXPECT_FALSE(check_keytab(options_, {"imap"}));
}

TEST_F(KeytabCheck, MissingOrNotAKeytab) {
  auto st = check_keytab(options_, {"imap"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.client_message(), "[auth] kerberos_keytab: cannot read keytab " + options_.keytab +
                                     ": No such file or directory");
  std::ofstream(options_.keytab) << "not a keytab";
  st = check_keytab(options_, {"imap"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.client_message().find("is not a Kerberos keytab file"), std::string::npos);
}

// When GSSAPI is offered: configured, Cyrus's plugin installed, TLS (no security layer is
// negotiated), and a protocol with a GSSAPI service name.
TEST(KerberosAuthenticator, OfferedOnlyWhereItCanWork) {
  auto dir = std::make_shared<testing::FakeDirectory>();
  auto resolver = std::make_shared<Resolver>(dir, ResolverOptions{});
  AuthOptions plain;
  auto without = make_sasl_authenticator(resolver, plain);
  ClientInfo c;
  c.protocol = "imap";
  c.tls = true;
  auto mechs = without->mechanisms(c);
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "GSSAPI"), mechs.end());

  AuthOptions krb;
  krb.kerberos.keytab = "/nonexistent.keytab";
  krb.kerberos.hostname = "mail.example.com";
  krb.kerberos.realms = {"EXAMPLE.COM"};
  krb.mechanisms.push_back("GSSAPI");
  auto with = make_sasl_authenticator(resolver, krb);
  mechs = with->mechanisms(c);
  if (std::find(mechs.begin(), mechs.end(), "GSSAPI") == mechs.end()) {
    GTEST_SKIP() << "Cyrus's GSSAPI plugin (libsasl2-modules-gssapi-mit) is not installed";
  }
  ClientInfo clear = c;
  clear.tls = false;
  mechs = with->mechanisms(clear);
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "GSSAPI"), mechs.end());
  ClientInfo lmtp = c;
  lmtp.protocol = "lmtp";
  mechs = with->mechanisms(lmtp);
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "GSSAPI"), mechs.end());

  // Without a usable keytab an exchange is a temporary failure, never a success.
  auto ex = with->start("GSSAPI", c);
  auto s = ex->step(std::string("\x60\x00", 2));
  EXPECT_EQ(s.outcome, AuthOutcome::unavailable) << auth_outcome_name(s.outcome);
  // Nor with a keytab that lacks this protocol's key.
  std::string keytab = ::testing::TempDir() + "/mr-pop-only.keytab";
  std::filesystem::remove(keytab);
  write_keytab(keytab, {"pop/mail.example.com@EXAMPLE.COM"});
  krb.kerberos.keytab = keytab;
  auto pop_only = make_sasl_authenticator(resolver, krb);
  ex = pop_only->start("GSSAPI", c);
  s = ex->step(std::string("\x60\x00", 2));
  EXPECT_EQ(s.outcome, AuthOutcome::unavailable) << auth_outcome_name(s.outcome);
  std::filesystem::remove(keytab);
  auto on_clear = with->start("GSSAPI", clear);
  EXPECT_EQ(on_clear->step(std::nullopt).outcome, AuthOutcome::encryption_required);
}

// A token Cyrus refuses before our mapping runs (here: not a GSS token for our key at all)
// fails, and such failures lock the client's address out like wrong passwords do.
TEST(KerberosAuthenticator, RefusedTokensCountAgainstTheAddress) {
  auto dir = std::make_shared<testing::FakeDirectory>();
  auto resolver = std::make_shared<Resolver>(dir, ResolverOptions{});
  std::string keytab = ::testing::TempDir() + "/mr-imap-refused.keytab";
  std::filesystem::remove(keytab);
  write_keytab(keytab, {"imap/mail.example.com@EXAMPLE.COM"});
  AuthOptions krb;
  krb.kerberos.keytab = keytab;
  krb.kerberos.hostname = "mail.example.com";
  krb.kerberos.realms = {"EXAMPLE.COM"};
  krb.mechanisms.push_back("GSSAPI");
  krb.throttle.max_failures_per_ip = 3;
  auto auth = make_sasl_authenticator(resolver, krb);
  ClientInfo c;
  c.protocol = "imap";
  c.tls = true;
  c.remote_ip = "192.0.2.7";
  auto mechs = auth->mechanisms(c);
  if (std::find(mechs.begin(), mechs.end(), "GSSAPI") == mechs.end()) {
    GTEST_SKIP() << "Cyrus's GSSAPI plugin (libsasl2-modules-gssapi-mit) is not installed";
  }
  // An AP-REQ-looking DER header with garbage inside.
  const std::string token("\x60\x0b\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 13);
  for (int i = 0; i < 3; ++i) {
    auto s = auth->start("GSSAPI", c)->step(token);
    EXPECT_EQ(s.outcome, AuthOutcome::failed) << auth_outcome_name(s.outcome);
  }
  EXPECT_EQ(auth->start("GSSAPI", c)->step(token).outcome, AuthOutcome::throttled);
  ClientInfo other = c;
  other.remote_ip = "192.0.2.8";
  EXPECT_EQ(auth->start("GSSAPI", other)->step(token).outcome, AuthOutcome::failed);
  std::filesystem::remove(keytab);
}

}  // namespace
}  // namespace mailroom::auth
