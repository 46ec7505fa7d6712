#include "auth/sasl/throttle.h"

namespace mailroom::auth {

Throttle::Throttle(ThrottleOptions options, const core::Clock& clock)
    : options_(options), clock_(clock) {}

const char* Throttle::verdict_reason(Verdict v) {
  switch (v) {
    case Verdict::allowed:
      return "ok";
    case Verdict::ip_locked:
      return "client ip locked out";
    case Verdict::account_locked_from_ip:
      return "account locked out from this ip";
    case Verdict::account_locked:
      return "account locked out (failures from many addresses)";
  }
  return "?";
}

int64_t Throttle::now() const { return clock_.steady_seconds(); }

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

void Throttle::prune_known(int64_t t) {
  for (auto it = known_.begin(); it != known_.end();) {
    it = it->second <= t - options_.known_source_ttl_seconds ? known_.erase(it) : std::next(it);
  }
  if (known_.size() > kMaxKeys) {
    while (known_.size() > kMaxKeys * 3 / 4) known_.erase(known_.begin());
  }
}

bool Throttle::ip_blocked(const std::string& ip) {
  std::lock_guard lock(mu_);
  return !ip.empty() && blocked(ips_, ip, now());
}

Throttle::Verdict Throttle::check(const std::string& account, const std::string& ip) {
  std::lock_guard lock(mu_);
  int64_t t = now();
  if (!ip.empty() && blocked(ips_, ip, t)) return Verdict::ip_locked;
  if (account.empty()) return Verdict::allowed;
  std::string pair = pair_key(account, ip);
  if (blocked(pairs_, pair, t)) return Verdict::account_locked_from_ip;
  if (blocked(accounts_, account, t)) {
    auto known = known_.find(pair);
    bool known_source =
        known != known_.end() && known->second > t - options_.known_source_ttl_seconds;
    if (!known_source) return Verdict::account_locked;
  }
  return Verdict::allowed;
}

void Throttle::record_failure(const std::string& account, const std::string& ip) {
  std::lock_guard lock(mu_);
  int64_t t = now();
  if (!ip.empty()) fail(ips_, ip, options_.max_failures_per_ip, t);
  if (!account.empty()) {
    fail(pairs_, pair_key(account, ip), options_.max_failures_per_account, t);
    fail(accounts_, account, options_.max_failures_per_account_all_sources, t);
  }
  if (++ops_ % 4096 == 0 || ips_.size() > kMaxKeys || pairs_.size() > kMaxKeys ||
      accounts_.size() > kMaxKeys) {
    prune(ips_, t);
    prune(pairs_, t);
    prune(accounts_, t);
    prune_known(t);
  }
}

void Throttle::record_success(const std::string& account, const std::string& ip) {
  std::lock_guard lock(mu_);
  if (account.empty()) return;
  std::string pair = pair_key(account, ip);
  pairs_.erase(pair);
  known_[pair] = now();
  if (known_.size() > kMaxKeys) prune_known(now());
}

size_t Throttle::unlock(const std::string& account) {
  std::lock_guard lock(mu_);
  if (account.empty()) return 0;
  size_t cleared = accounts_.erase(account);
  const std::string prefix = account + '\n';
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      it = pairs_.erase(it);
      ++cleared;
    } else {
      ++it;
    }
  }
  return cleared;
}

size_t Throttle::tracked_keys() {
  std::lock_guard lock(mu_);
  return ips_.size() + pairs_.size() + accounts_.size() + known_.size();
}

}  // namespace mailroom::auth
