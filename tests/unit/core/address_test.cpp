#include "src/core/address.h"

#include <gtest/gtest.h>

namespace mailroom::core {
namespace {

TEST(Address, ParsesDotAtomAndNormalizesKey) {
  auto a = parse_address("Alice.Smith@Example.COM");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "Alice.Smith");
  EXPECT_EQ(a->domain, "Example.COM");
  EXPECT_EQ(a->key(), "alice.smith@example.com");
}

TEST(Address, QuotedLocalPart) {
  auto a = parse_address("\"john doe\"@example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "john doe");
  EXPECT_EQ(a->str(), "\"john doe\"@example.com");
  // A quoted local part that is a plain atom is the same address.
  EXPECT_EQ(parse_address("\"bob\"@example.com")->key(), "bob@example.com");
}

TEST(Address, Utf8LocalPart) {
  auto a = parse_address("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e@example.com");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->has_utf8());
}

TEST(Address, RejectsMalformed) {
  for (const char* bad :
       {"", "@example.com", "alice@", "alice", "a..b@example.com", ".a@example.com",
        "a.@example.com", "a b@example.com", "alice@exa mple.com", "alice@.example.com",
        "alice@example..com", "@relay.example:alice@example.com", "\"unterminated@example.com",
        "a\x01@example.com"}) {
    EXPECT_FALSE(parse_address(bad)) << bad;
  }
}

TEST(Address, PercentHackIsJustALocalPart) {
  // "%" is atext: the address is local part "bob%other.example" at our domain; the resolver
  // then finds no such user rather than relaying (no open relay through % hacks).
  auto a = parse_address("bob%other.example@example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->domain, "example.com");
}

}  // namespace
}  // namespace mailroom::core
