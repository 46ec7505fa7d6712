// MTA-STS (RFC 8461): the policy file, the TXT record, MX patterns and the cache.
#include "src/outbound/mta_sts.h"

#include <gtest/gtest.h>

namespace mailroom::outbound {
namespace {

TEST(StsPolicy, ParsesAValidPolicyWithCrlf) {
  auto p = parse_sts_policy(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
      "max_age: 604800\r\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, StsMode::enforce);
  EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  EXPECT_EQ(p->max_age, 604800);
}

TEST(StsPolicy, ParsesLfLinesWithoutFinalNewlineAndIgnoresUnknownKeys) {
  auto p = parse_sts_policy(
      "version: STSv1\nmode:testing\nfoo_bar: whatever\nmx: MX.Example.COM.\n"
      "max_age:86400");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, StsMode::testing);
  EXPECT_EQ(p->mx, std::vector<std::string>{"mx.example.com"});
  EXPECT_EQ(p->max_age, 86400);
}

TEST(StsPolicy, FirstOccurrenceOfARepeatedFieldCounts) {
  auto p = parse_sts_policy(
      "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\n"
      "max_age: 5\nmax_age: 7\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, StsMode::testing);
  EXPECT_EQ(p->max_age, 5);
}

TEST(StsPolicy, RejectsInvalidPolicies) {
  struct Case {
    const char* body;
    const char* why;
  };
  const Case cases[] = {
      {"mode: enforce\nmx: a.example\nmax_age: 1\n", "no version"},
      {"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", "version is not STSv1"},
      {"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", "unknown mode strict"},
      {"version: STSv1\nmx: a.example\nmax_age: 1\n", "no mode"},
      {"version: STSv1\nmode: enforce\nmx: a.example\n", "no max_age"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
       "max_age above 31557600"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", "bad max_age"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", "bad max_age"},
      {"version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"},
      {"version: STSv1\nmode: testing\nmax_age: 1\n", "no mx"},
      {"version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n",
       "bad mx pattern a.*.example"},
      {"version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", "bad mx pattern *"},
      {"version: STSv1\nmode: enforce\nmx: *example.net\nmax_age: 1\n",
       "bad mx pattern *example.net"},
      {"version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n", "line without key: value"},
      {"", "no version"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_sts_policy(c.body, &error)) << c.body;
    EXPECT_EQ(error, c.why) << c.body;
  }
}

TEST(StsPolicy, MaxAgeBounds) {
  auto zero = parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 0\n");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->max_age, 0);
  auto top = parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n");
  ASSERT_TRUE(top);
  EXPECT_EQ(top->max_age, kStsMaxAgeLimit);
}

TEST(StsPolicy, ModeNoneNeedsNoMx) {
  auto p = parse_sts_policy("version: STSv1\nmode: none\nmax_age: 86400\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, StsMode::none);
  EXPECT_TRUE(p->mx.empty());
  EXPECT_FALSE(p->matches("mx.example.com"));
}

TEST(StsMx, WildcardMatchesExactlyOneLeftmostLabel) {
  EXPECT_TRUE(sts_mx_matches("*.example.net", "mx1.example.net"));
  EXPECT_TRUE(sts_mx_matches("*.example.net", "MX1.Example.Net."));
  EXPECT_FALSE(sts_mx_matches("*.example.net", "a.b.example.net"));
  EXPECT_FALSE(sts_mx_matches("*.example.net", "example.net"));
  EXPECT_FALSE(sts_mx_matches("*.example.net", ".example.net"));
  EXPECT_FALSE(sts_mx_matches("*.example.net", "mx1.otherexample.net"));
  EXPECT_TRUE(sts_mx_matches("mail.example.com", "mail.example.com."));
  EXPECT_FALSE(sts_mx_matches("mail.example.com", "x.mail.example.com"));
  EXPECT_FALSE(sts_mx_matches("", "mail.example.com"));
}

TEST(StsMx, PolicyMatchesAnyPattern) {
  auto p = parse_sts_policy(
      "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 60\n");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->matches("mail.example.com"));
  EXPECT_TRUE(p->matches("mx2.example.net"));
  EXPECT_FALSE(p->matches("mx.example.org"));
}

TEST(StsTxt, ReadsTheId) {
  EXPECT_EQ(parse_sts_txt({"v=STSv1; id=20160831085700Z;"}), "20160831085700Z");
  EXPECT_EQ(parse_sts_txt({"v=STSv1;id=abc"}), "abc");
  EXPECT_EQ(parse_sts_txt({"v=STSv1 ; id=abc ; ext=1;"}), "abc");
  EXPECT_EQ(parse_sts_txt({std::string("v=STSv1; id=") + std::string(32, 'a') + ";"}),
            std::string(32, 'a'));
  // Other records at the name are discarded.
  EXPECT_EQ(parse_sts_txt({"v=spf1 -all", "v=STSv1; id=x1;"}), "x1");
}

TEST(StsTxt, RejectsBadRecords) {
  struct Case {
    std::vector<std::string> records;
    const char* why;
  };
  const Case cases[] = {
      {{}, "no v=STSv1 record"},
      {{"v=STSv2; id=a;"}, "no v=STSv1 record"},
      {{"v=stsv1; id=a;"}, "no v=STSv1 record"},
      {{"v=STSv1x; id=a;"}, "no v=STSv1 record"},
      {{"v=STSv1; id=a;", "v=STSv1; id=b;"}, "more than one v=STSv1 record"},
      {{"v=STSv1;"}, "no id in the record"},
      {{"v=STSv1"}, "no id in the record"},
      {{"v=STSv1; id=;"}, "malformed field in the record"},
      {{"v=STSv1; id=abc-def;"}, "bad id"},
      {{"v=STSv1; id=" + std::string(33, 'a') + ";"}, "bad id"},
      {{"v=STSv1 id=abc;"}, "missing ; in the record"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_sts_txt(c.records, &error)) << (c.records.empty() ? "" : c.records[0]);
    EXPECT_EQ(error, c.why) << (c.records.empty() ? "" : c.records[0]);
  }
}

TEST(StsCache, EntriesExpireAfterMaxAge) {
  StsCache cache;
  StsPolicy p;
  p.mode = StsMode::enforce;
  p.mx = {"mx.example.com"};
  p.max_age = 100;
  cache.store("example.com", "id1", p, 1000);
  ASSERT_TRUE(cache.find("example.com", 1099));
  EXPECT_EQ(cache.find("example.com", 1099)->id, "id1");
  EXPECT_FALSE(cache.find("example.org", 1000));
  EXPECT_FALSE(cache.find("example.com", 1100));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(StsCache, FullCacheDropsTheEarliestExpiry) {
  StsCache cache(2);
  StsPolicy p;
  p.max_age = 10;
  cache.store("a.example", "1", p, 100);
  cache.store("b.example", "1", p, 50);
  cache.store("c.example", "1", p, 100);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find("b.example", 55));
  EXPECT_TRUE(cache.find("a.example", 55));
  EXPECT_TRUE(cache.find("c.example", 55));
}

}  // namespace
}  // namespace mailroom::outbound
