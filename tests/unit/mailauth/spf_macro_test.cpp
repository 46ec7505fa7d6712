// The pure parts of SPF: macro expansion (RFC 7208 section 7.4's examples), the record
// grammar (section 12), IP prefixes and domain checks.
#include <gtest/gtest.h>

#include "src/mailauth/spf_internal.h"

namespace mailroom::mailauth::spf_internal {
namespace {

SpfMacroContext rfc_context(const std::string& ip) {
  SpfMacroContext ctx;
  ctx.sender = "strong-bad@email.example.com";
  ctx.local_part = "strong-bad";
  ctx.sender_domain = "email.example.com";
  ctx.domain = "email.example.com";
  ctx.ip = parse_spf_ip(ip).value();
  ctx.helo = "mx.example.org";
  ctx.receiver = "mx.receiver.example";
  ctx.now = 1700000000;
  return ctx;
}

std::string expand(const std::string& text, const std::string& ip = "192.0.2.3") {
  return expand_spf_macros(text, rfc_context(ip), false).value_or("<error>");
}
std::string explain(const std::string& text, const std::string& ip = "192.0.2.3") {
  return expand_spf_macros(text, rfc_context(ip), true).value_or("<error>");
}

TEST(SpfMacroTest, Rfc7208Section74Examples) {
  EXPECT_EQ(expand("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(expand("%{o}"), "email.example.com");
  EXPECT_EQ(expand("%{d}"), "email.example.com");
  EXPECT_EQ(expand("%{d4}"), "email.example.com");
  EXPECT_EQ(expand("%{d3}"), "email.example.com");
  EXPECT_EQ(expand("%{d2}"), "example.com");
  EXPECT_EQ(expand("%{d1}"), "com");
  EXPECT_EQ(expand("%{dr}"), "com.example.email");
  EXPECT_EQ(expand("%{d2r}"), "example.email");
  EXPECT_EQ(expand("%{l}"), "strong-bad");
  EXPECT_EQ(expand("%{l-}"), "strong.bad");
  EXPECT_EQ(expand("%{lr}"), "strong-bad");
  EXPECT_EQ(expand("%{lr-}"), "bad.strong");
  EXPECT_EQ(expand("%{l1r-}"), "strong");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"),
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"),
            "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(expand("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacroTest, EscapesAndUrlEncoding) {
  EXPECT_EQ(expand("a%%b"), "a%b");
  EXPECT_EQ(explain("a%_b"), "a b");
  EXPECT_EQ(expand("a%-b"), "a%20b");
  // Uppercase letters URL-encode everything but RFC 3986 unreserved characters.
  EXPECT_EQ(expand("%{S}"), "strong-bad%40email.example.com");
  EXPECT_EQ(expand("%{L}"), "strong-bad");
  EXPECT_EQ(expand("%{D2R}"), "example.email");
  EXPECT_EQ(expand("%{i}", "::ffff:192.0.2.3"), "192.0.2.3");  // IPv4-mapped is IPv4
  EXPECT_EQ(expand("%{v}", "2001:db8::1"), "ip6");
  EXPECT_EQ(expand("%{p}"), "unknown");  // no PTR lookups
  EXPECT_EQ(expand("%{h}"), "mx.example.org");
  EXPECT_EQ(expand("%{d+=}"), "email.example.com");  // "." is no delimiter then
}

TEST(SpfMacroTest, ExplanationOnlyMacros) {
  EXPECT_EQ(expand("%{c}"), "<error>");
  EXPECT_EQ(expand("%{r}"), "<error>");
  EXPECT_EQ(expand("%{t}"), "<error>");
  EXPECT_EQ(explain("%{c} %{r} %{t}"), "192.0.2.3 mx.receiver.example 1700000000");
  EXPECT_EQ(explain("%{c}", "2001:db8::cb01"), "2001:db8::cb01");
  EXPECT_EQ(explain("%{i} is not one of %{d}'s designated mail servers."),
            "192.0.2.3 is not one of email.example.com's designated mail servers.");
}

TEST(SpfMacroTest, SyntaxErrors) {
  for (const char* bad : {"%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{d2x}", "%{d2r*}", "a b",
                          "caf\xc3\xa9", "%{dr2}"}) {
    EXPECT_EQ(expand(bad), "<error>") << bad;
  }
  EXPECT_EQ(explain("caf\xc3\xa9"), "<error>");  // explanations are printable ASCII
}

TEST(SpfMacroTest, LongDomainLosesLabelsOnTheLeft) {
  SpfMacroContext ctx = rfc_context("192.0.2.3");
  ctx.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') +
                   "." + std::string(60, 'd');
  auto out = expand_spf_domain("%{l}.example.com", ctx);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, std::string(60, 'b') + "." + std::string(60, 'c') + "." + std::string(60, 'd') +
                      ".example.com");
  EXPECT_LE(out->size(), 253u);
  EXPECT_EQ(expand_spf_domain("%{d}.", ctx).value_or(""), "email.example.com");
}

TEST(SpfIpTest, PrefixesOfBothFamilies) {
  auto a = parse_spf_ip("192.0.2.77").value();
  auto net = parse_spf_ip("192.0.2.0").value();
  EXPECT_TRUE(spf_prefix_match(a, net, 24));
  EXPECT_TRUE(spf_prefix_match(a, net, 25));
  EXPECT_FALSE(spf_prefix_match(a, net, 26));
  EXPECT_FALSE(spf_prefix_match(a, net, 32));
  EXPECT_TRUE(spf_prefix_match(a, parse_spf_ip("10.0.0.0").value(), 0));
  auto v6 = parse_spf_ip("2001:db8::1").value();
  EXPECT_TRUE(v6.v6);
  EXPECT_TRUE(spf_prefix_match(v6, parse_spf_ip("2001:db8::").value(), 32));
  EXPECT_FALSE(spf_prefix_match(v6, parse_spf_ip("2001:db9::").value(), 32));
  EXPECT_FALSE(spf_prefix_match(v6, net, 0));  // never across families
  EXPECT_FALSE(parse_spf_ip("::ffff:192.0.2.77").value().v6);
  EXPECT_FALSE(parse_spf_ip("192.0.2.256"));
  EXPECT_FALSE(parse_spf_ip("example.com"));
}

TEST(SpfDomainTest, ValidDomains) {
  EXPECT_TRUE(valid_spf_domain("example.com"));
  EXPECT_TRUE(valid_spf_domain("example.com."));
  EXPECT_TRUE(valid_spf_domain("_spf.example.com"));
  EXPECT_FALSE(valid_spf_domain("com"));
  EXPECT_FALSE(valid_spf_domain(""));
  EXPECT_FALSE(valid_spf_domain("a..com"));
  EXPECT_FALSE(valid_spf_domain(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(valid_spf_domain("1.2.3.4"));
  EXPECT_FALSE(valid_spf_domain("exa mple.com"));
}

std::string parse_error(const std::string& txt) {
  SpfRecord r;
  std::string error;
  return parse_spf_record(txt, &r, &error) ? "" : error;
}

TEST(SpfRecordTest, ParsesMechanismsAndModifiers) {
  SpfRecord r;
  std::string error;
  ASSERT_TRUE(parse_spf_record(
      "V=SPF1  +a mx:%{d}/24//64 -ip4:192.0.2.0/24 ~ip6:2001:db8::/32 ?include:_spf.example.com "
      "exists:%{ir}.x.example.com ptr a:example.com//0 redirect=other.example.com "
      "exp=exp.%{d} unknown-mod=%{h} ",
      &r, &error))
      << error;
  ASSERT_EQ(r.directives.size(), 8u);
  EXPECT_EQ(r.directives[0].mechanism, SpfMechanism::a);
  EXPECT_EQ(r.directives[0].qualifier, SpfResult::pass);
  EXPECT_EQ(r.directives[0].domain_spec, "");
  EXPECT_EQ(r.directives[1].mechanism, SpfMechanism::mx);
  EXPECT_EQ(r.directives[1].domain_spec, "%{d}");
  EXPECT_EQ(r.directives[1].cidr4, 24);
  EXPECT_EQ(r.directives[1].cidr6, 64);
  EXPECT_EQ(r.directives[2].qualifier, SpfResult::fail);
  EXPECT_EQ(r.directives[2].cidr4, 24);
  EXPECT_EQ(r.directives[3].qualifier, SpfResult::softfail);
  EXPECT_TRUE(r.directives[3].network.v6);
  EXPECT_EQ(r.directives[3].cidr6, 32);
  EXPECT_EQ(r.directives[4].qualifier, SpfResult::neutral);
  EXPECT_EQ(r.directives[4].domain_spec, "_spf.example.com");
  EXPECT_EQ(r.directives[5].mechanism, SpfMechanism::exists);
  EXPECT_EQ(r.directives[6].mechanism, SpfMechanism::ptr);
  EXPECT_EQ(r.directives[7].cidr4, 32);
  EXPECT_EQ(r.directives[7].cidr6, 0);
  EXPECT_EQ(r.redirect.value_or(""), "other.example.com");
  EXPECT_EQ(r.exp.value_or(""), "exp.%{d}");
  EXPECT_EQ(parse_error("v=spf1"), "");
  EXPECT_EQ(parse_error("v=spf1 -all"), "");
}

TEST(SpfRecordTest, SyntaxErrorsArePermerrors) {
  for (const char* bad : {
           "v=spf1 foo",                                            // unknown mechanism
           "v=spf1 all:x.com",                                      // all takes nothing
           "v=spf1 include",                                        // needs a domain
           "v=spf1 include:foo",                                    // no "." toplabel
           "v=spf1 a:1.2.3.4",                                      // numeric toplabel
           "v=spf1 ip4:192.0.2.0/33",                               // cidr too long
           "v=spf1 ip4:192.0.2.0/024",                              // leading zero
           "v=spf1 ip6:2001:db8::/129",                             //
           "v=spf1 ip4:2001:db8::",                                 // wrong family
           "v=spf1 ip6:192.0.2.1",                                  //
           "v=spf1 a/33",                                           //
           "v=spf1 mx//129",                                        //
           "v=spf1 a:example.com/24/64",                            //
           "v=spf1 exists:%{c}.example.com",                        // c only in exp
           "v=spf1 redirect=a.example.com redirect=b.example.com",  //
           "v=spf1 exp=a.example.com exp=b.example.com",            //
           "v=spf1 moo=%{x}",                                       // unknown modifier, bad macro
           "v=spf1 -",                                              //
           "v=spf1 -all\t",                                         //
       }) {
    EXPECT_NE(parse_error(bad), "") << bad;
  }
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=spf"));
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("V=Spf1 -all"));
}

}  // namespace
}  // namespace mailroom::mailauth::spf_internal
