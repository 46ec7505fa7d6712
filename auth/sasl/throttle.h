// Failed-login throttling (auth/authenticator.h): every password check (PLAIN, LOGIN, IMAP
// LOGIN, POP3 USER/PASS) and every SCRAM exchange asks check() first and reports the outcome.
//
// Policy (issue 13, item 6: a lockout must not be a denial of service for the real user):
// - per client IP: `max_failures_per_ip` failures within the window lock that IP out, for every
//   account, for `lockout` seconds;
// - per (account, IP): `max_failures_per_account` failures within the window lock that account
//   out *from that IP only*: the real user, logging in from elsewhere, is not locked out;
// - per account from all IPs together: past `max_failures_per_account_all_sources` (a guessing
//   attack spread over many addresses) the account is locked out from every IP except those it
//   logged in from successfully within `known_source_ttl`.
// A success clears the (account, IP) count and remembers the IP as a known source; it does not
// clear the IP's count (one good password does not excuse a thousand guesses from it) nor the
// account's all-sources count (the distributed attack goes on).
//
// Accounts are keyed by their immutable id ("id:<uuid>") when the login resolves to one, so
// every spelling of one login ("alice", "alice@example.com") shares one count; unknown logins
// are keyed by the lower-cased name.
//
// Memory is bounded: expired entries are pruned, and past kMaxKeys per table the oldest are
// dropped. State is in this process only: a single-node shortcut (with several nodes the
// counters belong in MariaDB, DESIGN.md "Beyond one machine").
//
// Threading: thread-safe. Time is the steady reading of the given clock (tests: ManualClock).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/auth_options.h"
#include "src/core/clock.h"

namespace mailroom::auth {

class Throttle {
 public:
  // `clock` must outlive the throttle.
  explicit Throttle(ThrottleOptions options, const core::Clock& clock = core::real_clock());

  enum class Verdict { allowed, ip_locked, account_locked_from_ip, account_locked };
  static const char* verdict_reason(Verdict v);

  // Whether a login attempt by `ip` is refused before anything else is looked at.
  bool ip_blocked(const std::string& ip);
  // Whether `account` (a key as above; may be empty) may try to log in from `ip` now.
  Verdict check(const std::string& account, const std::string& ip);
  void record_failure(const std::string& account, const std::string& ip);
  void record_success(const std::string& account, const std::string& ip);
  // The administrator's unlock (admin API, helpdesk role): forgets the account's failures and
  // lock-outs from every source. The IPs' own counts stay (they are not the account's).
  // Returns how many entries were cleared.
  size_t unlock(const std::string& account);

  static constexpr size_t kMaxKeys = 200000;
  // Entries currently remembered over all tables (tests).
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
  void prune_known(int64_t now);
  int64_t now() const;
  static std::string pair_key(const std::string& account, const std::string& ip) {
    return account + '\n' + ip;
  }

  ThrottleOptions options_;
  const core::Clock& clock_;
  std::mutex mu_;
  Map ips_;
  Map pairs_;                                       // account + '\n' + ip
  Map accounts_;                                    // all sources
  std::unordered_map<std::string, int64_t> known_;  // pair -> last successful login
  uint64_t ops_ = 0;
};

}  // namespace mailroom::auth
