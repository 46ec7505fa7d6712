// The web client's sign-in sessions: a random 256-bit token in an HttpOnly cookie names a
// session that holds the account and a CSRF token (routes.cpp).
//
// Bounded: at most `max_per_account` sessions per account (a new sign-in ends that account's
// least recently used one) and `max_total` in all (a sign-in beyond answers "full" after the
// expired ones are dropped). A session ends after `idle` without a request or `absolute` after
// its sign-in, at sign-out, or when the account is closed (remove_account).
//
// Tokens are kept only as SHA-256 digests, so a lookup compares digests (no timing oracle on
// the token) and a memory dump does not hand out live cookies. Never log a token.
//
// State: this process's memory only (a single-node shortcut: with several nodes, web sessions
// belong in MariaDB, DESIGN.md "Beyond one machine"); a restart signs everyone out.
// Threading: every method is thread-safe (one mutex; no I/O under it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mailroom::webmail {

struct SessionLimits {
  int64_t idle_seconds = 30 * 60;
  int64_t absolute_seconds = 12 * 3600;
  std::size_t max_per_account = 20;
  std::size_t max_total = 10000;
};

struct Session {
  std::string account_id;
  std::string login;    // as the directory stores it
  std::string address;  // primary address ("" when the account has none)
  std::string csrf;     // the token state-changing requests carry in X-Mailroom-CSRF
  int64_t created = 0;
  int64_t last_used = 0;
  int64_t last_checked = 0;  // when the directory last said the account is active
};

class SessionStore {
 public:
  // `now` gives seconds on a monotonic clock (tests pass a fake one).
  explicit SessionStore(SessionLimits limits, std::function<int64_t()> now = {});

  struct Created {
    std::string token;  // the cookie value: 64 hex digits (256 random bits)
    Session session;
  };
  // nullopt: the table is full (max_total live sessions).
  std::optional<Created> create(const std::string& account_id, const std::string& login,
                                const std::string& address);
  // The live session of `token` (its idle clock restarted unless `renew` is false: a check
  // that is not the user's doing, such as a push stream's recheck); nullopt when unknown or
  // expired (an expired one is removed). The copy's last_used is now either way.
  std::optional<Session> find(const std::string& token, bool renew = true);
  // Records that the directory confirmed the account now.
  void mark_checked(const std::string& token);
  // Ends one session; false when there was none.
  bool remove(const std::string& token);
  // Ends every session of the account; returns how many.
  std::size_t remove_account(const std::string& account_id);
  std::size_t size() const;

  // Helpers shared with the routes: `n` random bytes as hex (OpenSSL RAND_bytes), and a
  // comparison that takes the same time for every pair of equal-length strings.
  static std::string random_hex(std::size_t n);
  static bool equal_constant_time(const std::string& a, const std::string& b);

 private:
  bool expired(const Session& s, int64_t now) const;
  void drop_expired(int64_t now);  // with mu_ held

  SessionLimits limits_;
  std::function<int64_t()> now_;
  mutable std::mutex mu_;
  std::map<std::string, Session> sessions_;  // SHA-256 of the token (hex) -> session
};

}  // namespace mailroom::webmail
