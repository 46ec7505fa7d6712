#include "auth/sasl/throttle.h"

#include <gtest/gtest.h>

#include "src/core/clock.h"

namespace mailroom::auth {
namespace {

using V = Throttle::Verdict;
using std::chrono::seconds;

ThrottleOptions small() {
  ThrottleOptions o;
  o.max_failures_per_account = 2;
  o.max_failures_per_ip = 100;
  o.max_failures_per_account_all_sources = 1000;
  o.failure_window_seconds = 10;
  o.lockout_seconds = 30;
  return o;
}

TEST(Throttle, AccountLockedFromTheFailingIpOnlyAndReleased) {
  core::ManualClock clock;  // steady time 0
  Throttle t(small(), clock);
  t.record_failure("a", "attacker");
  EXPECT_EQ(t.check("a", "attacker"), V::allowed);
  clock.advance(seconds(5));  // t = 5
  t.record_failure("a", "attacker");
  EXPECT_EQ(t.check("a", "attacker"), V::account_locked_from_ip);
  // The real user from elsewhere is not locked out (issue 13, item 6), nor is another account.
  EXPECT_EQ(t.check("a", "office"), V::allowed);
  EXPECT_EQ(t.check("b", "attacker"), V::allowed);
  EXPECT_FALSE(t.ip_blocked("attacker"));
  clock.advance(seconds(29));  // t = 34
  EXPECT_EQ(t.check("a", "attacker"), V::account_locked_from_ip);
  clock.advance(seconds(1));  // t = 35
  EXPECT_EQ(t.check("a", "attacker"), V::allowed);
}

TEST(Throttle, UnlockClearsTheAccountEverywhereButNotTheIp) {
  core::ManualClock clock;
  ThrottleOptions o = small();
  o.max_failures_per_ip = 3;
  Throttle t(o, clock);
  t.record_failure("a", "attacker");
  t.record_failure("a", "attacker");
  t.record_failure("a", "laptop");
  t.record_failure("a", "laptop");
  t.record_failure("b", "attacker");  // attacker's third: the IP is now locked
  ASSERT_EQ(t.check("a", "laptop"), V::account_locked_from_ip);
  ASSERT_TRUE(t.ip_blocked("attacker"));
  EXPECT_EQ(t.unlock("a"), 3u);  // the two (a, ip) pairs and the all-sources count of a
  EXPECT_EQ(t.check("a", "laptop"), V::allowed);
  // The attacking IP stays locked: unlocking an account does not excuse its guesses.
  EXPECT_TRUE(t.ip_blocked("attacker"));
  // "a" is not a prefix match for "ab".
  t.record_failure("ab", "x");
  t.record_failure("ab", "x");
  EXPECT_EQ(t.unlock("a"), 0u);
  EXPECT_EQ(t.check("ab", "x"), V::account_locked_from_ip);
  EXPECT_EQ(t.unlock(""), 0u);
}

TEST(Throttle, FailuresOutsideTheWindowAreForgotten) {
  core::ManualClock clock;
  Throttle t(small(), clock);
  t.record_failure("a", "ip");
  clock.advance(seconds(11));
  t.record_failure("a", "ip");
  EXPECT_EQ(t.check("a", "ip"), V::allowed);
}

TEST(Throttle, IpLockCoversEveryAccount) {
  core::ManualClock clock;
  ThrottleOptions o = small();
  o.max_failures_per_ip = 3;
  Throttle t(o, clock);
  t.record_failure("a", "ip");
  t.record_failure("b", "ip");
  t.record_failure("", "ip");  // unknown user: counts for the IP
  EXPECT_TRUE(t.ip_blocked("ip"));
  EXPECT_EQ(t.check("c", "ip"), V::ip_locked);
  EXPECT_EQ(t.check("c", "other"), V::allowed);
}

TEST(Throttle, SuccessClearsThePairNotTheIp) {
  core::ManualClock clock;
  ThrottleOptions o = small();
  o.max_failures_per_ip = 2;
  Throttle t(o, clock);
  t.record_failure("a", "ip");
  t.record_success("a", "ip");
  t.record_failure("a", "ip");
  EXPECT_NE(t.check("a", "ip"), V::account_locked_from_ip);
  EXPECT_TRUE(t.ip_blocked("ip"));
}

// A guessing attack spread over many addresses locks the account from every address except
// those it logged in from before.
TEST(Throttle, DistributedAttackSparesKnownSources) {
  core::ManualClock clock;
  ThrottleOptions o = small();
  o.max_failures_per_account_all_sources = 10;
  Throttle t(o, clock);
  t.record_success("a", "home");
  for (int i = 0; i < 10; ++i) t.record_failure("a", "bot" + std::to_string(i));
  EXPECT_EQ(t.check("a", "bot99"), V::account_locked);
  EXPECT_EQ(t.check("a", "cafe"), V::account_locked);
  EXPECT_EQ(t.check("a", "home"), V::allowed);
  EXPECT_EQ(t.check("b", "cafe"), V::allowed);
  // A known source is forgotten after known_source_ttl.
  clock.advance(seconds(o.known_source_ttl_seconds + 1));
  for (int i = 0; i < 10; ++i) t.record_failure("a", "bot" + std::to_string(i));
  EXPECT_EQ(t.check("a", "home"), V::account_locked);
}

TEST(Throttle, EmptyKeysAreIgnored) {
  ThrottleOptions o;
  o.max_failures_per_account = 1;
  o.max_failures_per_ip = 1;
  core::ManualClock clock;
  Throttle t(o, clock);
  t.record_failure("", "");
  EXPECT_EQ(t.check("", ""), V::allowed);
  EXPECT_FALSE(t.ip_blocked(""));
}

TEST(Throttle, MemoryIsBounded) {
  core::ManualClock clock;
  ThrottleOptions o;
  o.failure_window_seconds = 1000000;
  Throttle t(o, clock);
  for (size_t i = 0; i < Throttle::kMaxKeys + 5000; ++i) {  // ~1 s
    t.record_failure("user" + std::to_string(i), "");
  }
  // Two tables grow (pairs and all-sources), each bounded.
  EXPECT_LE(t.tracked_keys(), 2 * Throttle::kMaxKeys);
  EXPECT_GT(t.tracked_keys(), Throttle::kMaxKeys);
}

}  // namespace
}  // namespace mailroom::auth
