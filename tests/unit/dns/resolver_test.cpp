// The resolver against a real dnsmasq, and against a scripted UDP server for silence,
// negative answers with an SOA, SERVFAIL and coalescing.
#include "src/dns/resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <set>

#include "src/dns/answers.h"
#include "tests/unit/dns/dns_rig.h"

namespace mailroom::dns {
namespace {

using std::chrono::steady_clock;

const std::string kLongA(200, 'a');
const std::string kLongB(150, 'b');

std::vector<std::string> dnsmasq_records() {
  return {
      "mx-host=multi.test,mx2.multi.test,20",
      "mx-host=multi.test,mx1.multi.test,10",
      "mx-host=multi.test,mx1b.multi.test,10",
      "mx-host=nullmx.test,.,0",
      "host-record=aonly.test,127.0.0.7",
      "host-record=dual.test,127.0.0.5,::5",
      // Two <character-string>s of one record (each at most 255 bytes on the wire).
      "txt-record=long.test,\"" + kLongA + "\",\"" + kLongB + "\"",
      "txt-record=two.test,\"v=one\"",
      "txt-record=two.test,\"v=two\"",
  };
}

// Runs the io_context until `start`'s callback has run (or 30 s, or out of work).
template <class A, class Start>
A await(boost::asio::io_context& io, Start start) {
  std::optional<A> out;
  start([&out](A a) { out = std::move(a); });
  io.restart();
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (!out && steady_clock::now() < deadline) {
    if (io.run_one_for(std::chrono::milliseconds(100)) == 0 && io.stopped()) {
      break;
    }
  }
  EXPECT_TRUE(out.has_value()) << "the callback never ran";
  return out.value_or(A{});
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& r : resolvers_) {
      r->shutdown();
    }
    io_.restart();
    io_.poll();
  }

  void start_dnsmasq() {
    dnsmasq_ = std::make_unique<rig::Dnsmasq>(dnsmasq_records());
    ASSERT_TRUE(dnsmasq_->ok()) << dnsmasq_->why();
  }

  std::shared_ptr<Resolver> make(ResolverOptions options) {
    auto r = Resolver::create(io_, std::move(options));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok()) return nullptr;
    resolvers_.push_back(*r);
    return *r;
  }
  std::shared_ptr<Resolver> make_for(uint16_t port, int64_t timeout_ms = 1000, int tries = 1) {
    ResolverOptions o;
    o.servers = {"127.0.0.1:" + std::to_string(port)};
    o.timeout_ms = timeout_ms;
    o.tries = tries;
    return make(o);
  }

  MxAnswer mx(Resolver& r, const std::string& name) {
    return await<MxAnswer>(io_, [&](auto done) { r.mx(name, done); });
  }
  AddressAnswer addresses(Resolver& r, const std::string& name) {
    return await<AddressAnswer>(io_, [&](auto done) { r.addresses(name, done); });
  }
  TxtAnswer txt(Resolver& r, const std::string& name) {
    return await<TxtAnswer>(io_, [&](auto done) { r.txt(name, done); });
  }

  boost::asio::io_context io_;
  std::unique_ptr<rig::Dnsmasq> dnsmasq_;
  std::vector<std::shared_ptr<Resolver>> resolvers_;
};

TEST_F(DnsResolverTest, MxSortedByPreferenceWithEqualPreferencesShuffled) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  std::set<std::string> firsts;
  for (int i = 0; i < 40; ++i) {  // later rounds come from the cache, shuffled anew
    MxAnswer a = mx(*r, "Multi.Test.");
    ASSERT_EQ(a.outcome, Outcome::ok) << a.detail;
    ASSERT_EQ(a.records.size(), 3u);
    EXPECT_EQ(a.records[0].preference, 10);
    EXPECT_EQ(a.records[1].preference, 10);
    EXPECT_EQ((std::set<std::string>{a.records[0].host, a.records[1].host}),
              (std::set<std::string>{"mx1.multi.test", "mx1b.multi.test"}));
    EXPECT_EQ(a.records[2], (Mx{20, "mx2.multi.test"}));
    firsts.insert(a.records[0].host);
  }
  // Both orders in 40 tries: a fixed order would fail this every time, chance only 2^-39.
  EXPECT_EQ(firsts.size(), 2u);
}

TEST_F(DnsResolverTest, DomainWithOnlyAnAddressHasNoMxButAnAddress) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  MxAnswer m = mx(*r, "aonly.test");
  EXPECT_EQ(m.outcome, Outcome::nodata) << m.detail;
  EXPECT_TRUE(m.records.empty());
  EXPECT_EQ(m.detail, "MX lookup for aonly.test: no MX records");
  AddressAnswer a = addresses(*r, "aonly.test");
  EXPECT_EQ(a.outcome, Outcome::ok) << a.detail;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.7"});
}

TEST_F(DnsResolverTest, UnknownNameIsNxdomainForEveryType) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  MxAnswer m = mx(*r, "nope.test");
  EXPECT_EQ(m.outcome, Outcome::nxdomain);
  EXPECT_EQ(m.detail, "MX lookup for nope.test: domain does not exist (NXDOMAIN)");
  EXPECT_EQ(addresses(*r, "nope.test").outcome, Outcome::nxdomain);
  EXPECT_EQ(txt(*r, "nope.test").outcome, Outcome::nxdomain);
}

TEST_F(DnsResolverTest, NullMxIsOneRecordWithEmptyHost) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  MxAnswer m = mx(*r, "nullmx.test");
  ASSERT_EQ(m.outcome, Outcome::ok) << m.detail;
  EXPECT_EQ(m.records, (std::vector<Mx>{{0, ""}}));
}

TEST_F(DnsResolverTest, AddressesAreAThenAaaaAndAaaaOnlyWhenEnabled) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  AddressAnswer a = addresses(*r, "dual.test");
  ASSERT_EQ(a.outcome, Outcome::ok) << a.detail;
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"127.0.0.5", "::5"}));

  ResolverOptions v4;
  v4.servers = {dnsmasq_->server()};
  v4.ipv6 = false;
  auto r4 = make(v4);
  ASSERT_TRUE(r4);
  a = addresses(*r4, "dual.test");
  ASSERT_EQ(a.outcome, Outcome::ok) << a.detail;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.5"});
}

TEST_F(DnsResolverTest, TxtStringsOfOneRecordAreJoinedAndRecordsKeptApart) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  TxtAnswer t = txt(*r, "long.test");
  ASSERT_EQ(t.outcome, Outcome::ok) << t.detail;
  EXPECT_EQ(t.records, std::vector<std::string>{kLongA + kLongB});
  t = txt(*r, "two.test");
  ASSERT_EQ(t.outcome, Outcome::ok) << t.detail;
  std::sort(t.records.begin(), t.records.end());
  EXPECT_EQ(t.records, (std::vector<std::string>{"v=one", "v=two"}));
  EXPECT_EQ(txt(*r, "aonly.test").outcome, Outcome::nodata);
}

TEST_F(DnsResolverTest, RefusedIsTemporary) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port());
  ASSERT_TRUE(r);
  EXPECT_EQ(mx(*r, "outside.example").outcome, Outcome::temporary);  // not under local=/test/
}

TEST_F(DnsResolverTest, CachedAnswersOutliveTheServer) {
  start_dnsmasq();
  auto r = make_for(dnsmasq_->port(), 300, 1);
  ASSERT_TRUE(r);
  ASSERT_EQ(mx(*r, "multi.test").outcome, Outcome::ok);
  ASSERT_EQ(addresses(*r, "dual.test").outcome, Outcome::ok);
  ASSERT_EQ(txt(*r, "long.test").outcome, Outcome::ok);
  dnsmasq_->stop();

  MxAnswer m = mx(*r, "MULTI.test");
  ASSERT_EQ(m.outcome, Outcome::ok) << m.detail;
  EXPECT_EQ(m.records.size(), 3u);
  EXPECT_EQ(m.records[2], (Mx{20, "mx2.multi.test"}));
  EXPECT_EQ(addresses(*r, "dual.test").addresses, (std::vector<std::string>{"127.0.0.5", "::5"}));
  EXPECT_EQ(txt(*r, "long.test").records, std::vector<std::string>{kLongA + kLongB});
  // Not cached: the server is gone, so this one cannot be answered.
  EXPECT_EQ(mx(*r, "aonly.test").outcome, Outcome::temporary);
}

TEST_F(DnsResolverTest, SilentServerTimesOutAsTemporaryAfterEveryTry) {
  rig::ScriptedDnsServer silent([](uint16_t, const std::string&, uint16_t) { return ""; });
  auto r = make_for(silent.port(), 200, 2);
  ASSERT_TRUE(r);
  const auto start = steady_clock::now();
  MxAnswer m = mx(*r, "slow.test");
  EXPECT_EQ(m.outcome, Outcome::temporary);
  EXPECT_NE(m.detail.find("slow.test"), std::string::npos) << m.detail;
  EXPECT_NE(m.detail.find("imeout"), std::string::npos) << m.detail;
  EXPECT_EQ(silent.queries(), 2);  // one per try
  // c-ares doubles the timeout on each round (200 + 400 ms); the bound only catches a hang.
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(DnsResolverTest, ShutdownEndsPendingLookupsAndReleasesEverything) {
  rig::ScriptedDnsServer silent([](uint16_t, const std::string&, uint16_t) { return ""; });
  auto r = make_for(silent.port(), 5000, 2);
  ASSERT_TRUE(r);
  std::optional<MxAnswer> pending;
  r->mx("slow.test", [&](MxAnswer a) { pending = std::move(a); });
  io_.restart();
  while (silent.queries() == 0) {
    io_.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(pending.has_value());
  r->shutdown();
  EXPECT_FALSE(pending.has_value()) << "callbacks run from the io_context, not inside shutdown()";
  io_.restart();
  for (int i = 0; i < 10 && !io_.stopped(); ++i) {
    io_.poll();
  }
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->outcome, Outcome::temporary);
  EXPECT_EQ(pending->detail, "MX lookup for slow.test: lookup cancelled: resolver shut down");
  // No socket wait and no timer left: the io_context ran out of work.
  EXPECT_TRUE(io_.stopped());

  MxAnswer after = mx(*r, "slow.test");
  EXPECT_EQ(after.outcome, Outcome::temporary);
  EXPECT_EQ(after.detail, "resolver shut down");
}

TEST_F(DnsResolverTest, InvalidNamesAreAnsweredWithoutAQuery) {
  rig::ScriptedDnsServer silent([](uint16_t, const std::string&, uint16_t) { return ""; });
  auto r = make_for(silent.port(), 5000, 2);
  ASSERT_TRUE(r);
  std::string too_long;
  while (too_long.size() < 254) too_long += "abcdefg.";
  for (const std::string& bad : {too_long, std::string("a b.test"), std::string("a\0b.test", 8),
                                 std::string(""), std::string("a..test")}) {
    MxAnswer m = mx(*r, bad);
    EXPECT_EQ(m.outcome, Outcome::nxdomain) << bad;
    EXPECT_EQ(m.detail, "not a valid domain name");
    EXPECT_EQ(addresses(*r, bad).outcome, Outcome::nxdomain);
    EXPECT_EQ(txt(*r, bad).outcome, Outcome::nxdomain);
  }
  EXPECT_EQ(silent.queries(), 0);
}

TEST_F(DnsResolverTest, NegativeAnswersAreCachedForTheSoaMinimumServerFailuresNever) {
  rig::ScriptedDnsServer server([](uint16_t id, const std::string& qname, uint16_t qtype) {
    if (qname == "gone.test") {
      return rig::wire_reply(id, qname, qtype, 3, {},
                             {{"test", static_cast<uint16_t>(kTypeSoa), 600, rig::soa_rdata(60)}});
    }
    return rig::wire_reply(id, qname, qtype, 2, {});  // SERVFAIL
  });
  auto r = make_for(server.port(), 1000, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(mx(*r, "gone.test").outcome, Outcome::nxdomain);
  EXPECT_EQ(mx(*r, "gone.test").outcome, Outcome::nxdomain);
  EXPECT_EQ(server.queries(), 1);
  EXPECT_EQ(mx(*r, "broken.test").outcome, Outcome::temporary);
  EXPECT_EQ(mx(*r, "broken.test").outcome, Outcome::temporary);
  EXPECT_EQ(server.queries(), 3);
}

TEST_F(DnsResolverTest, ConcurrentIdenticalLookupsShareOneQuery) {
  rig::ScriptedDnsServer server([](uint16_t id, const std::string& qname, uint16_t qtype) {
    return rig::wire_reply(
        id, qname, qtype, 0,
        {{qname, static_cast<uint16_t>(kTypeMx), 60, rig::mx_rdata(5, "mx.shared.test")}});
  });
  auto r = make_for(server.port());
  ASSERT_TRUE(r);
  std::vector<MxAnswer> answers;
  for (int i = 0; i < 3; ++i) {
    r->mx("shared.test", [&](MxAnswer a) { answers.push_back(std::move(a)); });
  }
  io_.restart();
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (answers.size() < 3 && steady_clock::now() < deadline) {
    io_.run_one_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(answers.size(), 3u);
  for (const MxAnswer& a : answers) {
    EXPECT_EQ(a.outcome, Outcome::ok);
    EXPECT_EQ(a.records, (std::vector<Mx>{{5, "mx.shared.test"}}));
  }
  EXPECT_EQ(server.queries(), 1);
}

TEST(DnsResolverCreate, RejectsBadServers) {
  boost::asio::io_context io;
  ResolverOptions o;
  o.servers = {"dns.example:53"};
  auto r = Resolver::create(io, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.code(), core::Code::invalid_argument);
}

}  // namespace
}  // namespace mailroom::dns
