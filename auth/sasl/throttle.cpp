#include "auth/sasl/throttle.h"

#include <chrono>

namespace mailroom::auth {

Throttle::Throttle(ThrottleOptions options, Clock clock)
    : options_(options), clock_(std::move(clock)) {}

int64_t Throttle::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Throttle::blocked(Map& map, const std::string& key, int64_t t) {
  auto it = map.find(key);
  return it != map.end() && it->second.locked_until > t;
}

void Throttle::fail(Map& map, const std::string& key, int limit, int64_t t) {
  auto& e = map[key];
  e.failures.push_back(t);
  while (!e.failures.empty() && e.failures.front() <= t - options_.failure_window_seconds) {
    e.failures.pop_front();
  }
  if (static_cast<int>(e.failures.size()) >= limit) {
    e.locked_until = t + options_.lockout_seconds;
    e.failures.clear();
  }
}

void Throttle::prune(Map& map, int64_t t) {
  for (auto it = map.begin(); it != map.end();) {
    auto& e = it->second;
    bool stale = e.locked_until <= t &&
                 (e.failures.empty() || e.failures.back() <= t - options_.failure_window_seconds);
    it = stale ? map.erase(it) : std::next(it);
  }
  // Still too many (an attack from many addresses): forget arbitrary entries rather than
  // grow without bound; the lockouts that matter are re-earned quickly. Dropping to 3/4 of
  // the bound keeps this O(1) amortized.
  if (map.size() > kMaxKeys) {
    while (map.size() > kMaxKeys * 3 / 4) map.erase(map.begin());
  }
}

bool Throttle::ip_blocked(const std::string& ip) {
  std::lock_guard lock(mu_);
  return !ip.empty() && blocked(ips_, ip, now());
}

bool Throttle::account_blocked(const std::string& account) {
  std::lock_guard lock(mu_);
  return !account.empty() && blocked(accounts_, account, now());
}

void Throttle::record_failure(const std::string& account, const std::string& ip) {
  std::lock_guard lock(mu_);
  int64_t t = now();
  if (!account.empty()) fail(accounts_, account, options_.max_failures_per_account, t);
  if (!ip.empty()) fail(ips_, ip, options_.max_failures_per_ip, t);
  if (++ops_ % 4096 == 0 || accounts_.size() > kMaxKeys || ips_.size() > kMaxKeys) {
    prune(accounts_, t);
    prune(ips_, t);
  }
}

size_t Throttle::tracked_keys() {
  std::lock_guard lock(mu_);
  return accounts_.size() + ips_.size();
}

void Throttle::record_success(const std::string& account) {
  std::lock_guard lock(mu_);
  accounts_.erase(account);
}

}  // namespace mailroom::auth
