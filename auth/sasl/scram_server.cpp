#include "auth/sasl/scram_server.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/password/password_hash.h"
#include "auth/sasl/saslname.h"
#include "src/core/address.h"

namespace mailroom::auth {
namespace {

std::string hmac256(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), 32);
}

std::string random_b64(size_t n) {
  std::string s(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n));
  return password::base64_encode(s);
}

// Splits "a=x,b=y" attributes (values may contain '=' but not ',').
std::vector<std::pair<char, std::string>> attributes(std::string_view s) {
  std::vector<std::pair<char, std::string>> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string_view::npos) end = s.size();
    auto part = s.substr(pos, end - pos);
    if (part.size() < 2 || part[1] != '=') return {};
    out.emplace_back(part[0], std::string(part.substr(2)));
    pos = end + 1;
  }
  return out;
}

struct Secret {
  int iterations = 0;
  std::string salt, stored_key, server_key;
};

std::optional<Secret> parse_secret(const std::string& s) {
  // SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>
  const std::string prefix = "SCRAM-SHA-256$";
  if (s.rfind(prefix, 0) != 0) return std::nullopt;
  auto rest = s.substr(prefix.size());
  auto d = rest.find('$');
  if (d == std::string::npos) return std::nullopt;
  auto a = rest.substr(0, d), b = rest.substr(d + 1);
  auto c1 = a.find(':'), c2 = b.find(':');
  if (c1 == std::string::npos || c2 == std::string::npos) return std::nullopt;
  Secret out;
  try {
    out.iterations = std::stoi(a.substr(0, c1));
  } catch (...) {
    return std::nullopt;
  }
  auto salt = password::base64_decode(a.substr(c1 + 1));
  auto sk = password::base64_decode(b.substr(0, c2));
  auto vk = password::base64_decode(b.substr(c2 + 1));
  if (!salt || !sk || !vk || sk->size() != 32 || vk->size() != 32 || out.iterations < 1) {
    return std::nullopt;
  }
  out.salt = *salt;
  out.stored_key = *sk;
  out.server_key = *vk;
  return out;
}

}  // namespace

AuthStep ScramServer::fail(AuthOutcome outcome, std::string reason) {
  state_ = 3;
  reason_ = std::move(reason);
  AuthStep s;
  s.outcome = outcome;
  return s;
}

AuthStep ScramServer::step(std::optional<std::string_view> response) {
  switch (state_) {
    case 0:
      if (!response || response->empty()) {
        AuthStep s;  // RFC 5802: the client speaks first; ask for its message
        s.outcome = AuthOutcome::in_progress;
        return s;
      }
      return client_first(*response);
    case 1:
      return client_final(response.value_or(""));
    case 2: {
      if (response && !response->empty()) return fail(AuthOutcome::malformed, "unexpected data");
      state_ = 3;
      reason_ = "ok";
      AuthStep s;
      s.outcome = AuthOutcome::success;
      s.principal = principal_;
      return s;
    }
    default:
      return fail(AuthOutcome::failed, "exchange finished");
  }
}

AuthStep ScramServer::client_first(std::string_view msg) {
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  if (msg.size() < 3) return fail(AuthOutcome::malformed, "short client-first");
  if (msg[0] == 'p') return fail(AuthOutcome::failed, "channel binding not supported");
  if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') {
    return fail(AuthOutcome::malformed, "bad gs2 header");
  }
  auto second = msg.find(',', 2);
  if (second == std::string_view::npos) return fail(AuthOutcome::malformed, "bad gs2 header");
  gs2_header_ = std::string(msg.substr(0, second + 1));
  std::string authzid;
  if (second > 2) {
    auto a = msg.substr(2, second - 2);
    if (a.substr(0, 2) != "a=") return fail(AuthOutcome::malformed, "bad authzid");
    auto d = decode_saslname(a.substr(2));
    if (!d) return fail(AuthOutcome::malformed, "bad authzid");
    authzid = *d;
  }
  client_first_bare_ = std::string(msg.substr(second + 1));
  auto attrs = attributes(client_first_bare_);
  if (attrs.size() < 2 || attrs[0].first != 'n' || attrs[1].first != 'r' ||
      attrs[1].second.empty()) {
    return fail(AuthOutcome::malformed, "bad client-first-message");
  }
  if (attrs.size() > 2 && attrs[2].first == 'm')
    return fail(AuthOutcome::malformed, "unsupported extension");
  auto user = decode_saslname(attrs[0].second);
  if (!user || user->empty()) return fail(AuthOutcome::malformed, "bad username");
  user_ = *user;
  if (!authzid.empty() && !core::iequals(authzid, user_)) {
    return fail(AuthOutcome::failed, "authorization identity differs");
  }
  nonce_ = attrs[1].second + random_b64(18);

  Secret secret;
  auto acc = resolver_.find_login(user_);
  throttle_key_ = acc ? "id:" + acc->id : core::ascii_lower(user_);
  if (!acc && acc.code() != Code::not_found) {
    return fail(AuthOutcome::unavailable, "directory: " + acc.status().to_string());
  }
  if (auto t = throttle_.check(throttle_key_, client_.remote_ip); t != Throttle::Verdict::allowed) {
    return fail(AuthOutcome::throttled, Throttle::verdict_reason(t));
  }
  if (!acc) {
    fake_ = true;
    fake_reason_ = "unknown user";
  } else {
    auto s = resolver_.directory().scram_secret(*acc);
    if (!s && s.code() != Code::not_found) {
      return fail(AuthOutcome::unavailable, "directory: " + s.status().to_string());
    }
    auto parsed = s ? parse_secret(*s) : std::nullopt;
    if (!parsed) {
      fake_ = true;
      fake_reason_ = "no SCRAM secret for account";
    } else {
      secret = *parsed;
      principal_ = Principal{acc->id, acc->login, acc->address, acc->display_name};
      status_ = acc->status;
    }
  }
  if (fake_) {
    // Deterministic per user so repeated probes see the same salt.
    secret.iterations = 4096;
    secret.salt =
        hmac256(installation_key_, "scram-fake-salt\n" + core::ascii_lower(user_)).substr(0, 16);
  }
  stored_key_ = secret.stored_key;
  server_key_ = secret.server_key;
  server_first_ = "r=" + nonce_ + ",s=" + password::base64_encode(secret.salt) +
                  ",i=" + std::to_string(secret.iterations);
  state_ = 1;
  AuthStep s;
  s.outcome = AuthOutcome::in_progress;
  s.challenge = server_first_;
  return s;
}

AuthStep ScramServer::client_final(std::string_view msg) {
  auto p = msg.rfind(",p=");
  if (p == std::string_view::npos) return fail(AuthOutcome::malformed, "no proof");
  std::string without_proof(msg.substr(0, p));
  auto attrs = attributes(without_proof);
  if (attrs.size() < 2 || attrs[0].first != 'c' || attrs[1].first != 'r') {
    return fail(AuthOutcome::malformed, "bad client-final-message");
  }
  if (attrs[0].second != password::base64_encode(gs2_header_)) {
    return fail(AuthOutcome::failed, "channel binding mismatch");
  }
  if (attrs[1].second != nonce_) return fail(AuthOutcome::failed, "nonce mismatch");
  auto proof = password::base64_decode(msg.substr(p + 3));
  if (!proof || proof->size() != 32) return fail(AuthOutcome::malformed, "bad proof");
  if (fake_) {
    throttle_.record_failure(throttle_key_, client_.remote_ip);
    return fail(AuthOutcome::failed, fake_reason_);
  }
  std::string auth_message = client_first_bare_ + "," + server_first_ + "," + without_proof;
  std::string client_signature = hmac256(stored_key_, auth_message);
  std::string client_key(32, '\0');
  for (size_t i = 0; i < 32; ++i)
    client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  if (!password::constant_time_equal(sha256(client_key), stored_key_)) {
    throttle_.record_failure(throttle_key_, client_.remote_ip);
    return fail(AuthOutcome::failed, "wrong password");
  }
  if (status_ != AccountStatus::active) {
    return fail(AuthOutcome::disabled, std::string("account ") + account_status_name(status_));
  }
  throttle_.record_success(throttle_key_, client_.remote_ip);
  state_ = 2;
  AuthStep s;
  s.outcome = AuthOutcome::in_progress;
  s.challenge = "v=" + password::base64_encode(hmac256(server_key_, auth_message));
  return s;
}

}  // namespace mailroom::auth
