#include "auth/sasl/throttle.h"

#include <gtest/gtest.h>

namespace mailroom::auth {
namespace {

TEST(Throttle, LocksAfterLimitWithinWindowAndReleases) {
  int64_t now = 0;
  ThrottleOptions o;
  o.max_failures_per_account = 2;
  o.max_failures_per_ip = 100;
  o.failure_window_seconds = 10;
  o.lockout_seconds = 30;
  Throttle t(o, [&] { return now; });
  t.record_failure("a", "ip");
  EXPECT_FALSE(t.account_blocked("a"));
  now = 5;
  t.record_failure("a", "ip");
  EXPECT_TRUE(t.account_blocked("a"));
  EXPECT_FALSE(t.account_blocked("b"));
  EXPECT_FALSE(t.ip_blocked("ip"));
  now = 34;
  EXPECT_TRUE(t.account_blocked("a"));
  now = 35;
  EXPECT_FALSE(t.account_blocked("a"));
}

TEST(Throttle, SuccessClearsAccountNotIp) {
  int64_t now = 0;
  ThrottleOptions o;
  o.max_failures_per_account = 2;
  o.max_failures_per_ip = 2;
  Throttle t(o, [&] { return now; });
  t.record_failure("a", "ip");
  t.record_success("a");
  t.record_failure("a", "ip");
  EXPECT_FALSE(t.account_blocked("a"));
  EXPECT_TRUE(t.ip_blocked("ip"));
}

TEST(Throttle, EmptyKeysAreIgnored) {
  ThrottleOptions o;
  o.max_failures_per_account = 1;
  o.max_failures_per_ip = 1;
  Throttle t(o, [] { return int64_t{0}; });
  t.record_failure("", "");
  EXPECT_FALSE(t.account_blocked(""));
  EXPECT_FALSE(t.ip_blocked(""));
}

TEST(Throttle, MemoryIsBounded) {
  int64_t now = 0;
  ThrottleOptions o;
  o.failure_window_seconds = 1000000;
  Throttle t(o, [&] { return now; });
  for (size_t i = 0; i < Throttle::kMaxKeys + 5000; ++i) {  // ~1 s
    t.record_failure("user" + std::to_string(i), "");
  }
  EXPECT_LE(t.tracked_keys(), Throttle::kMaxKeys);
  EXPECT_GT(t.tracked_keys(), Throttle::kMaxKeys / 2);
}

}  // namespace
}  // namespace mailroom::auth
