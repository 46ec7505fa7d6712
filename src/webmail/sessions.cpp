#include "src/webmail/sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace mailroom::webmail {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string digest(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d);
  return hex(d, sizeof d);
}

int64_t steady_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SessionStore::SessionStore(SessionLimits limits, std::function<int64_t()> now)
    : limits_(limits), now_(now ? std::move(now) : steady_seconds) {}

std::string SessionStore::random_hex(std::size_t n) {
  std::vector<unsigned char> b(n);
  // A failing CSPRNG cannot mint a session: refuse loudly rather than hand out a weak token.
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
  return hex(b.data(), n);
}

bool SessionStore::equal_constant_time(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool SessionStore::expired(const Session& s, int64_t now) const {
  return now - s.last_used >= limits_.idle_seconds || now - s.created >= limits_.absolute_seconds;
}

void SessionStore::drop_expired(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = expired(it->second, now) ? sessions_.erase(it) : std::next(it);
  }
}

std::optional<SessionStore::Created> SessionStore::create(const std::string& account_id,
                                                          const std::string& login,
                                                          const std::string& address) {
  Created c;
  c.token = random_hex(32);
  int64_t now = now_();
  c.session = Session{account_id, login, address, random_hex(32), now, now, now};
  std::lock_guard<std::mutex> lk(mu_);
  // The account's own oldest session makes room first (a user signing in on a 21st browser
  // loses the least recently used one, never another user's).
  std::vector<std::map<std::string, Session>::iterator> own;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.account_id == account_id) own.push_back(it);
  }
  while (!own.empty() && own.size() >= limits_.max_per_account) {
    auto oldest = std::min_element(own.begin(), own.end(), [](const auto& a, const auto& b) {
      return a->second.last_used < b->second.last_used;
    });
    sessions_.erase(*oldest);
    own.erase(oldest);
  }
  if (sessions_.size() >= limits_.max_total) drop_expired(now);
  if (sessions_.size() >= limits_.max_total) return std::nullopt;
  sessions_[digest(c.token)] = c.session;
  return c;
}

std::optional<Session> SessionStore::find(const std::string& token, bool renew) {
  if (token.size() != 64) return std::nullopt;
  auto key = digest(token);
  int64_t now = now_();
  std::lock_guard<std::mutex> lk(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (renew) it->second.last_used = now;
  Session found = it->second;
  found.last_used = now;
  return found;
}

void SessionStore::mark_checked(const std::string& token) {
  auto key = digest(token);
  int64_t now = now_();
  std::lock_guard<std::mutex> lk(mu_);
  auto it = sessions_.find(key);
  if (it != sessions_.end()) it->second.last_checked = now;
}

bool SessionStore::remove(const std::string& token) {
  auto key = digest(token);
  std::lock_guard<std::mutex> lk(mu_);
  return sessions_.erase(key) > 0;
}

std::size_t SessionStore::remove_account(const std::string& account_id) {
  std::lock_guard<std::mutex> lk(mu_);
  return std::erase_if(sessions_,
                       [&](const auto& kv) { return kv.second.account_id == account_id; });
}

std::size_t SessionStore::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return sessions_.size();
}

}  // namespace mailroom::webmail
