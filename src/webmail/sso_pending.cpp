// Sign-ins in flight (sso_pending.h).
#include "src/webmail/sso_pending.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>
#include <iterator>

#include "src/core/base64.h"
#include "src/webmail/sessions.h"

namespace mailroom::webmail {
namespace {

std::string pending_sha256_raw(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string pending_base64url(const std::string& raw) {
  std::string b = core::base64_encode(raw);
  while (!b.empty() && b.back() == '=') b.pop_back();
  for (char& c : b) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return b;
}

int64_t pending_steady_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string pkce_challenge_s256(const std::string& verifier) {
  return pending_base64url(pending_sha256_raw(verifier));
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::abort();  // no randomness: nothing here may go on (cannot happen after start-up)
  }
  return pending_base64url(raw);
}

std::string sha256_hex(const std::string& s) { return core::hex_encode(pending_sha256_raw(s)); }

PendingLogins::PendingLogins(std::size_t max_pending, std::function<int64_t()> now)
    : max_(max_pending), now_(now ? std::move(now) : pending_steady_seconds) {}

PendingLogins::Started PendingLogins::start(std::size_t provider, const std::string& browser_cookie,
                                            const std::string& redirect_uri,
                                            int64_t lifetime_seconds) {
  Started s;
  s.state = random_token();
  PendingLogin p;
  p.provider = provider;
  p.nonce = s.nonce = random_token();
  p.code_verifier = random_token();
  s.code_challenge = pkce_challenge_s256(p.code_verifier);
  p.redirect_uri = redirect_uri;
  p.browser = sha256_hex(browser_cookie);
  p.lifetime = lifetime_seconds;
  std::lock_guard lock(mu_);
  p.created = now_();
  if (by_state_.size() >= max_) {
    for (auto it = by_state_.begin(); it != by_state_.end();) {
      it = p.created - it->second.created > it->second.lifetime ? by_state_.erase(it)
                                                                : std::next(it);
    }
  }
  while (by_state_.size() >= max_ && !by_state_.empty()) {
    auto oldest = by_state_.begin();
    for (auto it = by_state_.begin(); it != by_state_.end(); ++it) {
      if (it->second.created < oldest->second.created) oldest = it;
    }
    by_state_.erase(oldest);
  }
  by_state_[sha256_hex(s.state)] = std::move(p);
  return s;
}

std::optional<PendingLogin> PendingLogins::take(const std::string& state,
                                                const std::string& browser_cookie, Refusal* why) {
  *why = Refusal::unknown;
  std::lock_guard lock(mu_);
  auto it = by_state_.find(sha256_hex(state));
  if (it == by_state_.end()) return std::nullopt;
  PendingLogin p = std::move(it->second);
  by_state_.erase(it);  // single use, whatever follows
  if (!SessionStore::equal_constant_time(p.browser, sha256_hex(browser_cookie))) {
    *why = Refusal::other_browser;
    return std::nullopt;
  }
  if (now_() - p.created > p.lifetime) {
    *why = Refusal::expired;
    return std::nullopt;
  }
  *why = Refusal::none;
  return p;
}

std::size_t PendingLogins::size() const {
  std::lock_guard lock(mu_);
  return by_state_.size();
}

}  // namespace mailroom::webmail
