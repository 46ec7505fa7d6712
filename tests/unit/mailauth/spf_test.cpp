// SpfChecker against a real dnsmasq (tests/unit/dns/dns_rig.h): cases in the spirit of the
// RFC 7208 test suite, written here. Names under .test are dnsmasq's own (NXDOMAIN when
// missing); names under .invalid get REFUSED, a temporary failure.
#include "src/mailauth/spf.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "src/dns/resolver.h"
#include "tests/unit/dns/dns_rig.h"

namespace mailroom::mailauth {
namespace {

std::string txt(const std::string& name, const std::string& text) {
  return "txt-record=" + name + ",\"" + text + "\"";
}

std::string times(const std::string& term, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += " " + term;
  return out;
}

std::vector<std::string> spf_zone() {
  std::vector<std::string> lines = {
      txt("pass.test", "v=spf1 +all"),
      txt("fail.test", "v=spf1 -all"),
      txt("softfail.test", "v=spf1 ~all"),
      txt("neutral.test", "v=spf1 ?all"),
      txt("upper.test", "V=SPF1 -ALL"),
      txt("empty.test", "v=spf1"),
      txt("nospf.test", "hello world"),
      txt("two.test", "v=spf1 +all"),
      txt("two.test", "v=spf1 -all"),
      txt("other-txt.test", "v=spf10 +all"),
      txt("other-txt.test", "v=spf1 -all"),
      txt("syntax.test", "v=spf1 ip4:192.0.2.0/33 +all"),
      txt("unknown-mod.test", "v=spf1 moo=%{d} -all"),
      txt("ip.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"),
      // a and a:<domain> with cidr; dual cidr.
      "host-record=a.test,192.0.2.10,2001:db8::10",
      "host-record=host.a.test,198.51.100.20",
      txt("a.test", "v=spf1 a a:host.a.test/24 -all"),
      "host-record=dual.test,192.0.2.10,2001:db8::10",
      txt("dual.test", "v=spf1 a/24//64 -all"),
      txt("dual-named.test", "v=spf1 a:dual.test/30//120 -all"),
      // mx with cidr; more than 10 MX names.
      "mx-host=mx.test,mx1.mx.test,10",
      "mx-host=mx.test,mx2.mx.test,20",
      "host-record=mx1.mx.test,192.0.2.30",
      "host-record=mx2.mx.test,198.51.100.40,2001:db8::40",
      txt("mx.test", "v=spf1 mx/28 -all"),
      txt("mx6.test", "v=spf1 mx:mx.test//64 -all"),
      txt("mxmany.test", "v=spf1 mx -all"),
      // include: each row of RFC 7208 5.2's table.
      txt("inc-pass.test", "v=spf1 include:pass.test -all"),
      txt("inc-fail.test", "v=spf1 include:fail.test ?all"),
      txt("inc-softfail.test", "v=spf1 include:softfail.test ?all"),
      txt("inc-neutral.test", "v=spf1 include:neutral.test ?all"),
      txt("inc-temperror.test", "v=spf1 include:refused.invalid +all"),
      txt("inc-permerror.test", "v=spf1 include:two.test +all"),
      txt("inc-none.test", "v=spf1 include:nospf.test +all"),
      // redirect
      txt("redirect.test", "v=spf1 redirect=fail.test"),
      txt("redirect-none.test", "v=spf1 redirect=nospf.test"),
      txt("redirect-nx.test", "v=spf1 redirect=nowhere.test"),
      txt("redirect-unused.test", "v=spf1 ip4:192.0.2.1 redirect=fail.test"),
      txt("redirect-twice.test", "v=spf1 redirect=pass.test redirect=fail.test"),
      // exp=
      txt("exp.test", "v=spf1 ip4:192.0.2.1 -all exp=why.exp.test"),
      txt("why.exp.test", "%{i} is not one of %{d}'s designated mail servers."),
      txt("exp-missing.test", "v=spf1 -all exp=nowhere.test"),
      txt("exp-softfail.test", "v=spf1 ~all exp=why.exp.test"),
      txt("exp-redirect.test", "v=spf1 redirect=exp.test exp=other.exp.test"),
      txt("other.exp.test", "the redirecting domain's text"),
      txt("exp-include.test", "v=spf1 include:exp.test -all exp=inc.exp.test"),
      txt("inc.exp.test", "the including domain for %{l} at %{o}"),
      // exists with macros; helo
      "host-record=9.2.0.192.ex.test,127.0.0.2",
      "host-record=postmaster.helo-macro.test,127.0.0.2",
      txt("exists.test", "v=spf1 exists:%{ir}.ex.test -all"),
      txt("helo.test", "v=spf1 ip4:192.0.2.5 -all"),
      txt("helo-macro.test", "v=spf1 exists:%{l}.%{h} -all"),
      // limits: 10 DNS terms pass, 11 are a permerror, also counted across include.
      txt("limit10.test", "v=spf1" + times("a:a.test", 9) + " include:pass.test"),
      txt("limit11.test", "v=spf1" + times("a:a.test", 10) + " include:pass.test"),
      txt("limit-inc.test", "v=spf1" + times("a:a.test", 5) + " include:five.test +all"),
      txt("five.test", "v=spf1" + times("a:a.test", 5) + " -all"),
      txt("void2.test", "v=spf1 a:nx1.test mx:nx2.test +all"),
      txt("void3.test", "v=spf1 a:nx1.test mx:nx2.test exists:nx3.test +all"),
      // temperror
      txt("temp-a.test", "v=spf1 a:refused.invalid +all"),
      txt("temp-mx.test", "v=spf1 mx:refused.invalid +all"),
      txt("ptr.test", "v=spf1 ptr -all"),
  };
  for (int i = 1; i <= 11; ++i) {
    lines.push_back("mx-host=mxmany.test,mx" + std::to_string(i) + ".mxmany.test," +
                    std::to_string(i));
  }
  // A record longer than one 255-byte character-string (dnsmasq splits it).
  std::string long_record = "v=spf1";
  for (int i = 1; i <= 30; ++i) long_record += " ip4:10.0.0." + std::to_string(i);
  lines.push_back(txt("long.test", long_record + " ip4:192.0.2.99 -all"));
  return lines;
}

class SpfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dnsmasq_ = std::make_unique<dns::rig::Dnsmasq>(spf_zone());
    ASSERT_TRUE(dnsmasq_->ok()) << dnsmasq_->why();
    dns::ResolverOptions o;
    o.servers = {dnsmasq_->server()};
    o.timeout_ms = 2000;
    o.tries = 1;
    auto r = dns::Resolver::create(io_, o);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    resolver_ = *r;
  }
  void TearDown() override {
    if (resolver_) resolver_->shutdown();
    io_.restart();
    io_.poll();
  }

  SpfOutcome check(const std::string& ip, const std::string& helo, const std::string& from) {
    SpfChecker checker(io_, *resolver_, "mx.receiver.test");
    std::optional<SpfOutcome> out;
    checker.check(ip, helo, from, [&out](SpfOutcome o) { out = std::move(o); });
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!out && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(out.has_value()) << "the callback never ran";
    return out.value_or(SpfOutcome{});
  }
  SpfResult result(const std::string& ip, const std::string& domain) {
    SpfOutcome o = check(ip, "helo.example", "user@" + domain);
    return o.result;
  }

  boost::asio::io_context io_;
  std::unique_ptr<dns::rig::Dnsmasq> dnsmasq_;
  std::shared_ptr<dns::Resolver> resolver_;
};

#define EXPECT_SPF(expected, ip, domain)                                                     \
  do {                                                                                       \
    SpfOutcome o_ = check(ip, "helo.example", std::string("user@") + (domain));              \
    EXPECT_EQ(spf_result_name(o_.result), std::string(spf_result_name(SpfResult::expected))) \
        << (domain) << " from " << (ip) << ": " << o_.detail;                                \
  } while (0)

TEST_F(SpfTest, QualifiersOfAll) {
  SpfOutcome o = check("192.0.2.1", "helo.example", "user@pass.test");
  EXPECT_EQ(o.result, SpfResult::pass);
  EXPECT_EQ(o.identity, "mailfrom");
  EXPECT_EQ(o.domain, "pass.test");
  EXPECT_SPF(fail, "192.0.2.1", "fail.test");
  EXPECT_SPF(softfail, "192.0.2.1", "softfail.test");
  EXPECT_SPF(neutral, "192.0.2.1", "neutral.test");
  EXPECT_SPF(fail, "192.0.2.1", "upper.test");
  EXPECT_SPF(neutral, "192.0.2.1", "empty.test");  // nothing matched, no redirect
  EXPECT_SPF(pass, "192.0.2.99", "long.test");
  EXPECT_SPF(fail, "192.0.2.98", "long.test");
}

TEST_F(SpfTest, RecordSelection) {
  EXPECT_SPF(none, "192.0.2.1", "nospf.test");
  EXPECT_SPF(none, "192.0.2.1", "nowhere.test");  // NXDOMAIN
  EXPECT_SPF(permerror, "192.0.2.1", "two.test");
  EXPECT_SPF(fail, "192.0.2.1", "other-txt.test");  // "v=spf10" is not a version section
  EXPECT_SPF(permerror, "192.0.2.1", "syntax.test");
  EXPECT_SPF(fail, "192.0.2.1", "unknown-mod.test");
  // 4.3: an invalid initial domain is "none" without a lookup.
  EXPECT_SPF(none, "192.0.2.1", "nodot");
  EXPECT_SPF(none, "192.0.2.1", std::string(64, 'x') + ".test");
  EXPECT_EQ(check("192.0.2.1", "helo.example", "<user@fail.test>").result, SpfResult::fail);
  EXPECT_EQ(check("not-an-ip", "helo.example", "user@fail.test").result, SpfResult::none);
}

TEST_F(SpfTest, Ip4AndIp6WithCidr) {
  EXPECT_SPF(pass, "192.0.2.77", "ip.test");
  EXPECT_SPF(fail, "192.0.3.1", "ip.test");
  EXPECT_SPF(pass, "2001:db8:1::1", "ip.test");
  EXPECT_SPF(fail, "2001:db9::1", "ip.test");
  EXPECT_SPF(pass, "::ffff:192.0.2.77", "ip.test");  // IPv4-mapped is IPv4
}

TEST_F(SpfTest, AMechanismWithCidrAndDualCidr) {
  EXPECT_SPF(pass, "192.0.2.10", "a.test");
  EXPECT_SPF(fail, "192.0.2.11", "a.test");
  EXPECT_SPF(pass, "198.51.100.99", "a.test");  // a:host.a.test/24
  EXPECT_SPF(pass, "2001:db8::10", "a.test");
  EXPECT_SPF(fail, "2001:db8::11", "a.test");
  EXPECT_SPF(pass, "192.0.2.200", "dual.test");
  EXPECT_SPF(fail, "192.0.3.10", "dual.test");
  EXPECT_SPF(pass, "2001:db8::ffff:1", "dual.test");
  EXPECT_SPF(fail, "2001:db8:0:1::10", "dual.test");
  EXPECT_SPF(pass, "192.0.2.9", "dual-named.test");
  EXPECT_SPF(fail, "192.0.2.12", "dual-named.test");
  EXPECT_SPF(pass, "2001:db8::ff", "dual-named.test");
  EXPECT_SPF(fail, "2001:db8::100", "dual-named.test");
}

TEST_F(SpfTest, MxMechanismWithCidrAndTheTenNameLimit) {
  EXPECT_SPF(pass, "192.0.2.20", "mx.test");  // mx1 192.0.2.30/28
  EXPECT_SPF(fail, "192.0.2.50", "mx.test");
  EXPECT_SPF(pass, "198.51.100.33", "mx.test");  // mx2 198.51.100.40/28
  EXPECT_SPF(pass, "2001:db8::1", "mx6.test");   // mx2 2001:db8::40//64
  EXPECT_SPF(fail, "2001:db9::40", "mx6.test");
  EXPECT_SPF(permerror, "192.0.2.1", "mxmany.test");
}

TEST_F(SpfTest, IncludeResultMapping) {
  EXPECT_SPF(pass, "192.0.2.1", "inc-pass.test");
  EXPECT_SPF(neutral, "192.0.2.1", "inc-fail.test");  // no match, then ?all
  EXPECT_SPF(neutral, "192.0.2.1", "inc-softfail.test");
  EXPECT_SPF(neutral, "192.0.2.1", "inc-neutral.test");
  EXPECT_SPF(temperror, "192.0.2.1", "inc-temperror.test");
  EXPECT_SPF(permerror, "192.0.2.1", "inc-permerror.test");
  EXPECT_SPF(permerror, "192.0.2.1", "inc-none.test");
}

TEST_F(SpfTest, Redirect) {
  EXPECT_SPF(fail, "192.0.2.1", "redirect.test");
  EXPECT_SPF(permerror, "192.0.2.1", "redirect-none.test");
  EXPECT_SPF(permerror, "192.0.2.1", "redirect-nx.test");
  EXPECT_SPF(pass, "192.0.2.1", "redirect-unused.test");  // a mechanism matched first
  EXPECT_SPF(fail, "192.0.2.2", "redirect-unused.test");
  EXPECT_SPF(permerror, "192.0.2.1", "redirect-twice.test");
}

TEST_F(SpfTest, ExplanationForFailOnly) {
  SpfOutcome o = check("192.0.2.9", "helo.example", "user@exp.test");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.explanation, "192.0.2.9 is not one of exp.test's designated mail servers.");
  o = check("192.0.2.9", "helo.example", "user@exp-missing.test");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.explanation, "");
  o = check("192.0.2.9", "helo.example", "user@exp-softfail.test");
  EXPECT_EQ(o.result, SpfResult::softfail);
  EXPECT_EQ(o.explanation, "");
  // After redirect= the target's exp= (with %{d} the target), never the redirecting one's.
  o = check("192.0.2.9", "helo.example", "user@exp-redirect.test");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.explanation, "192.0.2.9 is not one of exp.test's designated mail servers.");
  // An include's exp= is not used: the fail comes from the including record.
  o = check("192.0.2.9", "helo.example", "joe@exp-include.test");
  EXPECT_EQ(o.result, SpfResult::fail);
  EXPECT_EQ(o.explanation, "the including domain for joe at exp-include.test");
}

TEST_F(SpfTest, ExistsWithMacros) {
  EXPECT_SPF(pass, "192.0.2.9", "exists.test");
  EXPECT_SPF(fail, "192.0.2.8", "exists.test");
}

TEST_F(SpfTest, HeloIdentityWhenMailFromIsNull) {
  SpfOutcome o = check("192.0.2.5", "helo.test", "");
  EXPECT_EQ(o.result, SpfResult::pass) << o.detail;
  EXPECT_EQ(o.identity, "helo");
  EXPECT_EQ(o.domain, "helo.test");
  EXPECT_EQ(check("192.0.2.6", "helo.test", "").result, SpfResult::fail);
  EXPECT_EQ(check("192.0.2.6", "helo.test", "<>").result, SpfResult::fail);
  // %{l} is "postmaster" and %{h} the HELO name.
  o = check("192.0.2.6", "helo-macro.test", "");
  EXPECT_EQ(o.result, SpfResult::pass) << o.detail;
  // A sender without a local part is postmaster@ too.
  EXPECT_EQ(check("192.0.2.6", "helo-macro.test", "@helo-macro.test").result, SpfResult::pass);
}

TEST_F(SpfTest, TenDnsTermsAtMostAcrossRecursion) {
  EXPECT_SPF(pass, "192.0.2.1", "limit10.test");
  SpfOutcome o = check("192.0.2.1", "helo.example", "user@limit11.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_NE(o.detail.find("more than 10"), std::string::npos) << o.detail;
  EXPECT_SPF(permerror, "192.0.2.1", "limit-inc.test");
}

TEST_F(SpfTest, TwoVoidLookupsAtMost) {
  EXPECT_SPF(pass, "192.0.2.1", "void2.test");
  SpfOutcome o = check("192.0.2.1", "helo.example", "user@void3.test");
  EXPECT_EQ(o.result, SpfResult::permerror);
  EXPECT_NE(o.detail.find("void"), std::string::npos) << o.detail;
}

TEST_F(SpfTest, DnsFailuresAreTemperrors) {
  EXPECT_SPF(temperror, "192.0.2.1", "temp-a.test");
  EXPECT_SPF(temperror, "192.0.2.1", "temp-mx.test");
  EXPECT_SPF(temperror, "192.0.2.1", "refused.invalid");  // the record itself
}

TEST_F(SpfTest, CheckerMayGoBeforeItsChecks) {
  std::optional<SpfOutcome> out;
  {
    SpfChecker checker(io_, *resolver_);
    checker.check("192.0.2.1", "helo.example", "user@inc-pass.test",
                  [&out](SpfOutcome o) { out = std::move(o); });
  }
  io_.restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io_.run_one_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(out);
  EXPECT_EQ(out->result, SpfResult::pass) << out->detail;
}

TEST_F(SpfTest, PtrNeverMatches) { EXPECT_SPF(fail, "127.0.0.1", "ptr.test"); }

TEST(SpfResultNameTest, Rfc8601Names) {
  EXPECT_STREQ(spf_result_name(SpfResult::none), "none");
  EXPECT_STREQ(spf_result_name(SpfResult::neutral), "neutral");
  EXPECT_STREQ(spf_result_name(SpfResult::pass), "pass");
  EXPECT_STREQ(spf_result_name(SpfResult::fail), "fail");
  EXPECT_STREQ(spf_result_name(SpfResult::softfail), "softfail");
  EXPECT_STREQ(spf_result_name(SpfResult::temperror), "temperror");
  EXPECT_STREQ(spf_result_name(SpfResult::permerror), "permerror");
}

}  // namespace
}  // namespace mailroom::mailauth
