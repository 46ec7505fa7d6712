// DmarcChecker against a real dnsmasq (tests/unit/dns/dns_rig.h) holding _dmarc records.
#include "src/mailauth/dmarc.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "src/dns/resolver.h"
#include "tests/unit/dns/dns_rig.h"

namespace mailroom::mailauth {
namespace {

std::vector<std::string> dmarc_test_records() {
  return {
      "txt-record=_dmarc.example.test,\"v=DMARC1; p=reject; sp=quarantine; "
      "rua=mailto:dmarc@example.test\"",
      "txt-record=_dmarc.sub.example.test,\"v=DMARC1; p=none\"",
      "txt-record=_dmarc.badp.example.test,\"v=DMARC1; p=bogus\"",
      "txt-record=_dmarc.strict.test,\"v=DMARC1; p=reject; adkim=s; aspf=s\"",
      "txt-record=_dmarc.two.test,\"v=DMARC1; p=reject\"",
      "txt-record=_dmarc.two.test,\"v=DMARC1; p=none\"",
      "txt-record=_dmarc.mixed.test,\"v=spf1 -all\"",
      "txt-record=_dmarc.mixed.test,\"v=DMARC1; p=quarantine\"",
      "txt-record=_dmarc.sample.test,\"v=DMARC1; p=reject; pct=0\"",
  };
}

SpfOutcome dmarc_test_spf(SpfResult result, const std::string& domain,
                          const std::string& identity = "mailfrom") {
  SpfOutcome spf;
  spf.result = result;
  spf.domain = domain;
  spf.identity = identity;
  return spf;
}

DkimVerification dmarc_test_dkim(std::vector<std::pair<DkimResult, std::string>> sigs) {
  DkimVerification v;
  for (auto& [result, d] : sigs) {
    DkimSignatureResult s;
    s.result = result;
    s.domain = d;
    s.selector = "sel";
    v.signatures.push_back(s);
  }
  return v;
}

std::string dmarc_test_message(const std::string& from) {
  return "Received: from x\r\nFrom: " + from + "\r\nSubject: test\r\n\r\nbody\r\n";
}

class DmarcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dnsmasq_ = new dns::rig::Dnsmasq(dmarc_test_records()); }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(dnsmasq_->ok()) << dnsmasq_->why();
    dns::ResolverOptions o;
    o.servers = {dnsmasq_->server()};
    o.timeout_ms = 1000;
    o.tries = 1;
    auto r = dns::Resolver::create(io_, o);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    resolver_ = *r;
    checker_.emplace(*resolver_, PublicSuffixList::from_text("test\nco.test\n"));
  }
  void TearDown() override {
    if (resolver_) resolver_->shutdown();
    io_.restart();
    io_.poll();
  }

  DmarcOutcome check(const std::string& from, const SpfOutcome& spf, const DkimVerification& dkim) {
    return check_message(dmarc_test_message(from), spf, dkim);
  }
  DmarcOutcome check_message(const std::string& message, const SpfOutcome& spf,
                             const DkimVerification& dkim) {
    std::optional<DmarcOutcome> out;
    int calls = 0;
    checker_->check(message, spf, dkim, [&](DmarcOutcome o) {
      ++calls;
      out = std::move(o);
    });
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!out && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    io_.poll();
    EXPECT_EQ(calls, 1);
    return out.value_or(DmarcOutcome{});
  }

  static dns::rig::Dnsmasq* dnsmasq_;
  boost::asio::io_context io_;
  std::shared_ptr<dns::Resolver> resolver_;
  std::optional<DmarcChecker> checker_;
};

dns::rig::Dnsmasq* DmarcTest::dnsmasq_ = nullptr;

const SpfOutcome kDmarcNoSpf = dmarc_test_spf(SpfResult::none, "");

TEST_F(DmarcTest, AlignedDkimPasses) {
  DmarcOutcome o = check("Alice <alice@Example.test>", kDmarcNoSpf,
                         dmarc_test_dkim({{DkimResult::pass, "example.test"}}));
  EXPECT_EQ(o.result, DmarcResult::pass) << o.detail;
  EXPECT_EQ(o.from_domain, "example.test");
  EXPECT_EQ(o.policy, DmarcPolicy::reject);
  EXPECT_FALSE(o.sampled_out);
}

TEST_F(DmarcTest, OnlyUnalignedDkimPassFails) {
  DmarcOutcome o = check(
      "alice@example.test", dmarc_test_spf(SpfResult::pass, "bounce.other.test"),
      dmarc_test_dkim({{DkimResult::fail, "example.test"}, {DkimResult::pass, "other.test"}}));
  EXPECT_EQ(o.result, DmarcResult::fail) << o.detail;
  EXPECT_EQ(o.policy, DmarcPolicy::reject);
  EXPECT_FALSE(o.sampled_out);
}

TEST_F(DmarcTest, RelaxedAndStrictAlignment) {
  // Relaxed (the default): same organizational domain.
  EXPECT_EQ(check("alice@example.test", kDmarcNoSpf,
                  dmarc_test_dkim({{DkimResult::pass, "mail.example.test"}}))
                .result,
            DmarcResult::pass);
  // adkim=s: the exact domain only.
  EXPECT_EQ(check("alice@strict.test", kDmarcNoSpf,
                  dmarc_test_dkim({{DkimResult::pass, "mail.strict.test"}}))
                .result,
            DmarcResult::fail);
  EXPECT_EQ(
      check("alice@strict.test", kDmarcNoSpf, dmarc_test_dkim({{DkimResult::pass, "STRICT.test"}}))
          .result,
      DmarcResult::pass);
  // aspf=s.
  EXPECT_EQ(
      check("alice@strict.test", dmarc_test_spf(SpfResult::pass, "bounce.strict.test"), {}).result,
      DmarcResult::fail);
  EXPECT_EQ(check("alice@strict.test", dmarc_test_spf(SpfResult::pass, "strict.test"), {}).result,
            DmarcResult::pass);
}

TEST_F(DmarcTest, SpfAlignedPass) {
  DmarcOutcome o =
      check("alice@example.test", dmarc_test_spf(SpfResult::pass, "bounce.example.test"),
            dmarc_test_dkim({{DkimResult::fail, "example.test"}}));
  EXPECT_EQ(o.result, DmarcResult::pass) << o.detail;
  // The HELO identity stands in for a null MAIL FROM.
  EXPECT_EQ(
      check("alice@example.test", dmarc_test_spf(SpfResult::pass, "mx.example.test", "helo"), {})
          .result,
      DmarcResult::pass);
  // Aligned but not a pass.
  EXPECT_EQ(
      check("alice@example.test", dmarc_test_spf(SpfResult::softfail, "example.test"), {}).result,
      DmarcResult::fail);
}

TEST_F(DmarcTest, OrganizationalDomainFallbackAndSp) {
  // No _dmarc.news.example.test: example.test's record, and its sp=.
  DmarcOutcome o = check("alice@news.example.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::fail) << o.detail;
  EXPECT_EQ(o.from_domain, "news.example.test");
  EXPECT_EQ(o.policy, DmarcPolicy::quarantine);
  // Aligned in relaxed mode with the organizational domain's signature.
  EXPECT_EQ(check("alice@news.example.test", kDmarcNoSpf,
                  dmarc_test_dkim({{DkimResult::pass, "example.test"}}))
                .result,
            DmarcResult::pass);
  // A subdomain with its own record: its p=, not the parent's sp=.
  o = check("alice@sub.example.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::fail);
  EXPECT_EQ(o.policy, DmarcPolicy::none);
  // No sp= at the organizational domain: p= applies to its subdomains.
  o = check("alice@x.strict.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::fail);
  EXPECT_EQ(o.policy, DmarcPolicy::reject);
  // A record without a valid p= (and no rua=) stops discovery: no fallback to example.test.
  o = check("alice@badp.example.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::none);
  EXPECT_NE(o.detail.find("p="), std::string::npos) << o.detail;
}

TEST_F(DmarcTest, NoRecordIsNone) {
  DmarcOutcome o = check("alice@norecord.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::none);
  EXPECT_EQ(o.from_domain, "norecord.test");
  EXPECT_EQ(o.policy, DmarcPolicy::none);
}

TEST_F(DmarcTest, TwoRecordsAreNone) {
  DmarcOutcome o = check("alice@two.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::none);
  EXPECT_NE(o.detail.find("more than one"), std::string::npos) << o.detail;
  // A TXT record that is not DMARC beside one that is: the DMARC one counts.
  o = check("alice@mixed.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::fail);
  EXPECT_EQ(o.policy, DmarcPolicy::quarantine);
}

TEST_F(DmarcTest, RefusedIsTemperror) {
  // Not under local=/test/: dnsmasq answers REFUSED.
  DmarcOutcome o = check("alice@outside.example", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::temperror) << o.detail;
  EXPECT_EQ(o.from_domain, "outside.example");
}

TEST_F(DmarcTest, PctZeroSamplesOut) {
  DmarcOutcome o = check("alice@sample.test", kDmarcNoSpf, {});
  EXPECT_EQ(o.result, DmarcResult::fail);
  EXPECT_EQ(o.policy, DmarcPolicy::reject);
  EXPECT_TRUE(o.sampled_out);
  o = check("alice@sample.test", kDmarcNoSpf, dmarc_test_dkim({{DkimResult::pass, "sample.test"}}));
  EXPECT_EQ(o.result, DmarcResult::pass);
  EXPECT_FALSE(o.sampled_out);
}

TEST_F(DmarcTest, HostileFromFields) {
  const DkimVerification dkim = dmarc_test_dkim({{DkimResult::pass, "example.test"}});
  // Two addresses of two domains in one From: permerror, nothing looked up.
  DmarcOutcome o = check("alice@example.test, mallory@evil.test", kDmarcNoSpf, dkim);
  EXPECT_EQ(o.result, DmarcResult::permerror);
  EXPECT_EQ(o.from_domain, "");
  // Two From fields.
  o = check_message("From: alice@example.test\r\nFrom: bank@strict.test\r\n\r\n", kDmarcNoSpf,
                    dkim);
  EXPECT_EQ(o.result, DmarcResult::permerror);
  // Two addresses of one domain: that domain is checked.
  o = check("alice@example.test, bob@example.test", kDmarcNoSpf, dkim);
  EXPECT_EQ(o.result, DmarcResult::pass) << o.detail;
  // No From at all, and a From that is no mailbox.
  EXPECT_EQ(check_message("Subject: x\r\n\r\nFrom: a@example.test\r\n", kDmarcNoSpf, dkim).result,
            DmarcResult::none);
  EXPECT_EQ(check("undisclosed-sender", kDmarcNoSpf, dkim).result, DmarcResult::permerror);
}

TEST_F(DmarcTest, DebianListOrganizationalDomain) {
  auto psl = PublicSuffixList::load(PublicSuffixList::kDebianPath);
  if (!psl) GTEST_SKIP() << "no " << PublicSuffixList::kDebianPath;
  // .test is in no rule: the implicit "*" gives example.test, as with the small list.
  DmarcChecker checker(*resolver_, psl);
  std::optional<DmarcOutcome> out;
  checker.check(dmarc_test_message("alice@news.example.test"), kDmarcNoSpf, {},
                [&](DmarcOutcome o) { out = std::move(o); });
  io_.restart();
  while (!out && io_.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->policy, DmarcPolicy::quarantine);
}

}  // namespace
}  // namespace mailroom::mailauth
