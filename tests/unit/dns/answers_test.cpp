// Replies built byte by byte and read the way the resolver reads c-ares's: records, TTLs,
// negative TTLs from the SOA, the null MX; and the cache, names, servers and [dns] options.
#include "src/dns/answers.h"

#include <ares.h>
#include <gtest/gtest.h>

#include "src/core/config_section.h"
#include "src/dns/cache.h"
#include "src/dns/server_address.h"
#include "tests/unit/dns/dns_rig.h"

namespace mailroom::dns {
namespace {

using rig::mx_rdata;
using rig::soa_rdata;
using rig::wire_reply;
using rig::WireRecord;

Answer read(int type, int status, const std::string& packet, int64_t negative_ttl_max = 300) {
  return interpret_reply(type, status, reinterpret_cast<const unsigned char*>(packet.data()),
                         static_cast<int>(packet.size()), negative_ttl_max);
}

TEST(DnsAnswers, MxKeepsReplyOrderLowerCasesHostsAndTakesTheSmallestTtl) {
  std::string p = wire_reply(1, "example.test", kTypeMx, 0,
                             {{"example.test", kTypeMx, 600, mx_rdata(20, "MX2.Example.TEST")},
                              {"example.test", kTypeMx, 300, mx_rdata(10, "mx1.example.test")}});
  Answer a = read(kTypeMx, ARES_SUCCESS, p);
  EXPECT_EQ(a.outcome, Outcome::ok);
  EXPECT_EQ(a.mx, (std::vector<Mx>{{20, "mx2.example.test"}, {10, "mx1.example.test"}}));
  EXPECT_EQ(a.ttl, 300u);
}

TEST(DnsAnswers, NullMxIsOneRecordWithEmptyHost) {
  std::string p =
      wire_reply(1, "nomail.test", kTypeMx, 0, {{"nomail.test", kTypeMx, 3600, mx_rdata(0, "")}});
  Answer a = read(kTypeMx, ARES_SUCCESS, p);
  EXPECT_EQ(a.outcome, Outcome::ok);
  EXPECT_EQ(a.mx, (std::vector<Mx>{{0, ""}}));
  EXPECT_EQ(a.ttl, 3600u);
}

TEST(DnsAnswers, RootHostNextToRealHostsIsDropped) {
  std::string p = wire_reply(1, "mixed.test", kTypeMx, 0,
                             {{"mixed.test", kTypeMx, 60, mx_rdata(0, "")},
                              {"mixed.test", kTypeMx, 60, mx_rdata(10, "mx.mixed.test")}});
  EXPECT_EQ(read(kTypeMx, ARES_SUCCESS, p).mx, (std::vector<Mx>{{10, "mx.mixed.test"}}));
}

TEST(DnsAnswers, TtlWithTopBitSetCountsAsZeroAndLongTtlsAreCapped) {
  std::string p = wire_reply(1, "a.test", kTypeMx, 0,
                             {{"a.test", kTypeMx, 0x80000000U, mx_rdata(10, "mx.a.test")}});
  EXPECT_EQ(read(kTypeMx, ARES_SUCCESS, p).ttl, 0u);
  p = wire_reply(1, "a.test", kTypeMx, 0, {{"a.test", kTypeMx, 999999, mx_rdata(10, "mx.a.test")}});
  EXPECT_EQ(read(kTypeMx, ARES_SUCCESS, p).ttl, kMaxPositiveTtl);
}

TEST(DnsAnswers, TxtJoinsTheStringsOfOneRecordOnly) {
  std::string p = wire_reply(1, "t.test", kTypeTxt, 0,
                             {{"t.test", kTypeTxt, 120, std::string("\3abc\2de", 7)},
                              {"t.test", kTypeTxt, 60, std::string("\5v=two", 6)}});
  Answer a = read(kTypeTxt, ARES_SUCCESS, p);
  EXPECT_EQ(a.outcome, Outcome::ok);
  EXPECT_EQ(a.items, (std::vector<std::string>{"abcde", "v=two"}));
  EXPECT_EQ(a.ttl, 60u);
}

TEST(DnsAnswers, AddressesAndTheirTtl) {
  std::string p = wire_reply(1, "h.test", kTypeA, 0,
                             {{"h.test", kTypeA, 90, std::string("\x7f\0\0\x05", 4)},
                              {"h.test", kTypeA, 45, std::string("\xc0\x00\x02\x01", 4)}});
  Answer a = read(kTypeA, ARES_SUCCESS, p);
  EXPECT_EQ(a.items, (std::vector<std::string>{"127.0.0.5", "192.0.2.1"}));
  EXPECT_EQ(a.ttl, 45u);
  std::string v6(16, '\0');
  v6[15] = 5;
  p = wire_reply(1, "h.test", kTypeAaaa, 0, {{"h.test", kTypeAaaa, 30, v6}});
  a = read(kTypeAaaa, ARES_SUCCESS, p);
  EXPECT_EQ(a.items, (std::vector<std::string>{"::5"}));
  EXPECT_EQ(a.ttl, 30u);
}

TEST(DnsAnswers, NegativeAnswersLastForTheSoaMinimumCapped) {
  std::string p =
      wire_reply(1, "gone.test", kTypeMx, 3, {}, {{"test", kTypeSoa, 600, soa_rdata(60)}});
  Answer a = read(kTypeMx, ARES_ENOTFOUND, p);
  EXPECT_EQ(a.outcome, Outcome::nxdomain);
  EXPECT_EQ(a.ttl, 60u);
  EXPECT_EQ(read(kTypeMx, ARES_ENOTFOUND, p, 30).ttl, 30u);
  p = wire_reply(1, "a.test", kTypeMx, 0, {}, {{"test", kTypeSoa, 20, soa_rdata(60)}});
  a = read(kTypeMx, ARES_ENODATA, p);
  EXPECT_EQ(a.outcome, Outcome::nodata);
  EXPECT_EQ(a.ttl, 20u);
  // RFC 2308 section 5: without an SOA a negative answer is not cached.
  EXPECT_EQ(read(kTypeMx, ARES_ENOTFOUND, wire_reply(1, "gone.test", kTypeMx, 3, {})).ttl, 0u);
}

TEST(DnsAnswers, ServerFailuresAndBrokenRepliesAreTemporaryAndNeverCached) {
  for (int status : {ARES_ESERVFAIL, ARES_EREFUSED, ARES_ETIMEOUT, ARES_ECONNREFUSED}) {
    Answer a = read(kTypeMx, status, "");
    EXPECT_EQ(a.outcome, Outcome::temporary) << status;
    EXPECT_EQ(a.ttl, 0u);
  }
  std::string p =
      wire_reply(1, "a.test", kTypeMx, 0, {{"a.test", kTypeMx, 60, mx_rdata(10, "mx.a.test")}});
  p.resize(p.size() - 3);  // cut inside the record
  Answer a = read(kTypeMx, ARES_SUCCESS, p);
  EXPECT_EQ(a.outcome, Outcome::temporary);
  EXPECT_TRUE(a.mx.empty());
  EXPECT_EQ(read(kTypeMx, ARES_ECANCELLED, "").detail, "lookup cancelled: resolver shut down");
}

TEST(DnsNames, NormalizeAndReject) {
  std::string out;
  EXPECT_TRUE(normalize_name("Example.TEST.", &out));
  EXPECT_EQ(out, "example.test");
  EXPECT_TRUE(normalize_name("s1._domainkey.example.test", &out));
  std::string label63(63, 'a');
  EXPECT_TRUE(normalize_name(label63 + ".test", &out));
  EXPECT_FALSE(normalize_name(std::string(64, 'a') + ".test", &out));
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "test";  // 254 characters
  EXPECT_FALSE(normalize_name(long_name, &out));
  EXPECT_TRUE(normalize_name(long_name.substr(long_name.size() - 253), &out));
  const std::vector<std::string> bad_names = {"",         ".",        "a..test",
                                              ".a.test",  "a b.test", std::string("a\0b.test", 8),
                                              "a\\.test", "a\t.test"};
  for (const std::string& bad : bad_names) {
    EXPECT_FALSE(normalize_name(bad, &out)) << bad;
  }
}

TEST(DnsServers, CanonicalForms) {
  EXPECT_EQ(canonical_server("192.0.2.1"), "192.0.2.1:53");
  EXPECT_EQ(canonical_server("127.0.0.1:5353"), "127.0.0.1:5353");
  EXPECT_EQ(canonical_server("2001:db8::1"), "[2001:db8::1]:53");
  EXPECT_EQ(canonical_server("[::1]:5353"), "[::1]:5353");
  EXPECT_EQ(canonical_server("[::1]"), "[::1]:53");
  for (const char* bad :
       {"", "dns.example", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:", "192.0.2.1:53x",
        "[::1]:", "[::1", "[192.0.2.1]:53", "::1:53:zz", " 192.0.2.1"}) {
    EXPECT_FALSE(canonical_server(bad)) << bad;
  }
}

TEST(DnsCache, KeepsForTheTtlAndEvictsTheLeastRecentlyUsed) {
  using std::chrono::seconds;
  AnswerCache cache(2);
  const auto t0 = AnswerCache::Time{} + seconds(1000);
  Answer ok;
  ok.outcome = Outcome::ok;
  ok.items = {"x"};
  ok.ttl = 10;
  cache.put("A a", ok, t0);
  cache.put("A b", ok, t0);
  ASSERT_TRUE(cache.get("A a", t0 + seconds(9)));  // a is now the most recently used
  cache.put("A c", ok, t0);
  EXPECT_FALSE(cache.get("A b", t0));
  EXPECT_TRUE(cache.get("A c", t0));
  EXPECT_EQ(cache.get("A a", t0)->items, std::vector<std::string>{"x"});
  EXPECT_FALSE(cache.get("A a", t0 + seconds(10)));  // expired
  EXPECT_EQ(cache.size(), 1u);

  Answer temp;
  temp.outcome = Outcome::temporary;
  temp.ttl = 10;
  cache.put("A t", temp, t0);
  EXPECT_FALSE(cache.get("A t", t0));
  Answer no_ttl = ok;
  no_ttl.ttl = 0;
  cache.put("A z", no_ttl, t0);
  EXPECT_FALSE(cache.get("A z", t0));

  AnswerCache off(0);
  off.put("A a", ok, t0);
  EXPECT_FALSE(off.get("A a", t0));
}

TEST(DnsOptions, ParsesTheSection) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[dns]\nservers = [\"127.0.0.1:5353\", \"[::1]:53\"]\ntimeout = \"3s\"\ntries = 4\n"
      "cache_entries = 0\nipv6 = false\n",
      "t.toml", &errors);
  auto section = doc->root().child("dns");
  ResolverOptions o = parse_options(section);
  EXPECT_TRUE(errors.empty()) << errors.messages()[0];
  EXPECT_EQ(o.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"}));
  EXPECT_EQ(o.timeout_ms, 3000);
  EXPECT_EQ(o.tries, 4);
  EXPECT_EQ(o.cache_entries, 0u);
  EXPECT_FALSE(o.ipv6);
}

TEST(DnsOptions, NamesBadServersTimeoutsAndUnknownKeys) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[dns]\nservers = [\"ns1.example\"]\ntimeout = 0\ntries = 0\nserver = \"x\"\n", "t.toml",
      &errors);
  auto section = doc->root().child("dns");
  ResolverOptions o = parse_options(section);
  ASSERT_EQ(errors.messages().size(), 4u);
  EXPECT_EQ(errors.messages()[0],
            "t.toml:2: dns.servers: \"ns1.example\" is not an IP address with an optional port "
            "(\"192.0.2.1\", \"192.0.2.1:5353\", \"[2001:db8::1]:5353\")");
  EXPECT_EQ(errors.messages()[1], "t.toml:3: dns.timeout: must be between 1s and 300s (per try)");
  EXPECT_EQ(errors.messages()[2], "t.toml:4: dns.tries: value 0 out of range [1, 10]");
  EXPECT_EQ(errors.messages()[3], "t.toml:5: dns.server: unknown key");
  EXPECT_EQ(o.timeout_ms, 5000);
}

TEST(DnsOptions, OutcomeNames) {
  EXPECT_STREQ(outcome_name(Outcome::ok), "ok");
  EXPECT_STREQ(outcome_name(Outcome::nxdomain), "nxdomain");
  EXPECT_STREQ(outcome_name(Outcome::nodata), "nodata");
  EXPECT_STREQ(outcome_name(Outcome::temporary), "temporary");
}

}  // namespace
}  // namespace mailroom::dns
