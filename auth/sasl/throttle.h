// Failed-login throttling per account and per client IP (auth/authenticator.h).
//
// A key (lower-cased login, or an IP) that collects `limit` failures within the window is
// refused for `lockout` seconds. Successes clear the account's failures (not the IP's: one
// good password does not excuse a thousand guesses from the same address).
// Memory is bounded: expired entries are pruned, and past kMaxKeys the oldest are dropped.
//
// Threading: thread-safe. The clock is injectable for tests.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/auth_options.h"

namespace mailroom::auth {

class Throttle {
 public:
  using Clock = std::function<int64_t()>;  // seconds
  explicit Throttle(ThrottleOptions options, Clock clock = {});

  // Whether attempts from `ip` / for `account` are refused right now.
  bool ip_blocked(const std::string& ip);
  bool account_blocked(const std::string& account);
  void record_failure(const std::string& account, const std::string& ip);
  void record_success(const std::string& account);

  static constexpr size_t kMaxKeys = 200000;
  // Accounts + IPs currently remembered (tests).
  size_t tracked_keys();

 private:
  struct Entry {
    std::deque<int64_t> failures;
    int64_t locked_until = 0;
  };
  using Map = std::unordered_map<std::string, Entry>;
  bool blocked(Map& map, const std::string& key, int64_t now);
  void fail(Map& map, const std::string& key, int limit, int64_t now);
  void prune(Map& map, int64_t now);
  int64_t now() const;

  ThrottleOptions options_;
  Clock clock_;
  std::mutex mu_;
  Map accounts_;
  Map ips_;
  uint64_t ops_ = 0;
};

}  // namespace mailroom::auth
