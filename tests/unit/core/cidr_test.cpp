// core::Cidr and parse_ip (src/core/cidr.h): parsing, prefix boundaries of both families, and
// IPv4-mapped IPv6 addresses taken as the IPv4 address they carry.
#include "src/core/cidr.h"

#include <gtest/gtest.h>

#include <string>

namespace mailroom::core {
namespace {

Cidr net(const std::string& text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr{});
}

TEST(ParseIp, BothFamiliesAndMappedV4) {
  std::array<unsigned char, 16> a{};
  bool v4 = false;
  ASSERT_TRUE(parse_ip("192.0.2.7", &a, &v4));
  EXPECT_TRUE(v4);
  EXPECT_EQ((std::array<unsigned char, 4>{a[0], a[1], a[2], a[3]}),
            (std::array<unsigned char, 4>{192, 0, 2, 7}));
  ASSERT_TRUE(parse_ip("::ffff:192.0.2.7", &a, &v4));
  EXPECT_TRUE(v4) << "a v4-mapped address is the IPv4 address";
  EXPECT_EQ(a[0], 192);
  EXPECT_EQ(a[3], 7);
  EXPECT_EQ(a[4], 0);
  ASSERT_TRUE(parse_ip("2001:db8::1", &a, &v4));
  EXPECT_FALSE(v4);
  EXPECT_EQ(a[0], 0x20);
  EXPECT_EQ(a[15], 1);
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "example.com",
        "2001:db8:::1", "fe80::1%eth0", "1111:2222:3333:4444:5555:6666:7777:8888:9999"}) {
    EXPECT_FALSE(parse_ip(bad, &a, &v4)) << bad;
  }
}

TEST(Cidr, ParsesPrefixesAndRefusesNonsense) {
  EXPECT_EQ(net("192.0.2.7").prefix_length(), 32);  // a bare address is one host
  EXPECT_EQ(net("2001:db8::1").prefix_length(), 128);
  EXPECT_EQ(net("10.0.0.0/8").prefix_length(), 8);
  EXPECT_EQ(net("0.0.0.0/0").prefix_length(), 0);
  EXPECT_EQ(net("::/0").prefix_length(), 0);
  EXPECT_EQ(net("10.0.0.1/032").prefix_length(), 32);
  EXPECT_TRUE(net("10.0.0.0/8").is_v4());
  EXPECT_FALSE(net("2001:db8::/32").is_v4());
  // "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8.
  Cidr mapped = net("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_EQ(mapped.prefix_length(), 8);
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/0x8",
                          "10.0.0.0/0008", "10.0.0.0/8/8", "10.0.0.0 /8", "2001:db8::/129",
                          "::ffff:10.0.0.0/95", "::ffff:10.0.0.0/129", "host.example/24"}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << bad;
  }
}

TEST(Cidr, Ipv4Boundaries) {
  Cidr n = net("192.0.2.0/24");
  EXPECT_TRUE(n.contains("192.0.2.0"));
  EXPECT_TRUE(n.contains("192.0.2.255"));
  EXPECT_FALSE(n.contains("192.0.1.255"));
  EXPECT_FALSE(n.contains("192.0.3.0"));
  // A prefix that is not a multiple of 8.
  Cidr odd = net("198.51.100.64/26");
  EXPECT_FALSE(odd.contains("198.51.100.63"));
  EXPECT_TRUE(odd.contains("198.51.100.64"));
  EXPECT_TRUE(odd.contains("198.51.100.127"));
  EXPECT_FALSE(odd.contains("198.51.100.128"));
  // Host bits in the written network do not matter.
  EXPECT_TRUE(net("10.1.2.3/8").contains("10.200.0.1"));
  Cidr host = net("192.0.2.7/32");
  EXPECT_TRUE(host.contains("192.0.2.7"));
  EXPECT_FALSE(host.contains("192.0.2.6"));
  EXPECT_FALSE(host.contains("192.0.2.8"));
  Cidr all = net("0.0.0.0/0");
  EXPECT_TRUE(all.contains("0.0.0.0"));
  EXPECT_TRUE(all.contains("255.255.255.255"));
  EXPECT_FALSE(all.contains("::1")) << "an IPv4 rule never matches an IPv6 peer";
}

TEST(Cidr, Ipv6Boundaries) {
  Cidr n = net("2001:db8::/32");
  EXPECT_TRUE(n.contains("2001:db8::"));
  EXPECT_TRUE(n.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(n.contains("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(n.contains("2001:db9::"));
  Cidr odd = net("2001:db8::/33");
  EXPECT_TRUE(odd.contains("2001:db8:7fff::1"));
  EXPECT_FALSE(odd.contains("2001:db8:8000::"));
  Cidr host = net("2001:db8::7/128");
  EXPECT_TRUE(host.contains("2001:db8::7"));
  EXPECT_TRUE(host.contains("2001:DB8:0:0:0:0:0:7"));
  EXPECT_FALSE(host.contains("2001:db8::6"));
  EXPECT_FALSE(host.contains("2001:db8::8"));
  Cidr all = net("::/0");
  EXPECT_TRUE(all.contains("::"));
  EXPECT_TRUE(all.contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(all.contains("192.0.2.1")) << "an IPv6 rule never matches an IPv4 peer";
}

TEST(Cidr, MappedPeersMatchIpv4Rules) {
  Cidr n = net("192.0.2.0/24");
  EXPECT_TRUE(n.contains("::ffff:192.0.2.7"));
  EXPECT_TRUE(n.contains("::FFFF:c000:0207"));
  EXPECT_FALSE(n.contains("::ffff:192.0.3.7"));
  EXPECT_TRUE(net("::ffff:10.0.0.0/104").contains("10.9.9.9"));
  EXPECT_FALSE(net("::ffff:10.0.0.0/104").contains("11.0.0.0"));
  // Not mapped: the IPv4-compatible form "::192.0.2.7" is an IPv6 address.
  EXPECT_FALSE(n.contains("::192.0.2.7"));
}

TEST(Cidr, ContainsRefusesWhatIsNotAnAddress) {
  Cidr all = net("0.0.0.0/0");
  for (const char* bad : {"", "localhost", "192.0.2.0/24", "999.1.1.1", "1.2.3.4 "}) {
    EXPECT_FALSE(all.contains(bad)) << bad;
  }
}

}  // namespace
}  // namespace mailroom::core
