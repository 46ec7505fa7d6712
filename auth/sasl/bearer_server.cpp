#include "auth/sasl/bearer_server.h"

#include <cctype>
#include <vector>

#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::auth {
namespace {

constexpr char kSep = '\x01';
// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view t) {
  if (t.empty()) return false;
  size_t i = 0;
  for (; i < t.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
          c == '/')) {
      break;
    }
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

// "auth=Bearer <token>" (RFC 7628 3.1: the scheme is case-insensitive, one space).
std::optional<std::string> bearer_of(std::string_view value) {
  if (value.size() < 8 || !core::iequals(value.substr(0, 7), "Bearer ")) return std::nullopt;
  auto token = value.substr(7);
  if (!is_b64token(token)) return std::nullopt;
  return std::string(token);
}

// Splits "k=v\x01k=v\x01\x01" into pairs; nullopt unless it ends with the empty pair.
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> kvpairs(
    std::string_view s) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  while (true) {
    size_t end = s.find(kSep);
    if (end == std::string_view::npos) return std::nullopt;
    auto pair = s.substr(0, end);
    s.remove_prefix(end + 1);
    if (pair.empty()) break;
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
    auto key = pair.substr(0, eq);
    for (char c : key) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
    }
    out.emplace_back(key, pair.substr(eq + 1));
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

// RFC 5801 saslname in the gs2 header: "=2C" is ",", "=3D" is "=".
std::optional<std::string> bearer_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    if (s.substr(i, 3) == "=2C") {
      out += ',';
    } else if (s.substr(i, 3) == "=3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::optional<BearerMessage> parse_oauthbearer(std::string_view m) {
  // gs2-header = gs2-cb-flag "," [ authzid ] "," ; then kvsep (RFC 7628 3.1, RFC 5801 4)
  if (m.size() < 3 || (m[0] != 'n' && m[0] != 'y') || m[1] != ',') return std::nullopt;
  size_t second = m.find(',', 2);
  if (second == std::string_view::npos) return std::nullopt;
  BearerMessage out;
  auto authzid = m.substr(2, second - 2);
  if (!authzid.empty()) {
    if (authzid.substr(0, 2) != "a=") return std::nullopt;
    auto name = bearer_saslname(authzid.substr(2));
    if (!name || name->empty()) return std::nullopt;
    out.user = *name;
  }
  auto rest = m.substr(second + 1);
  if (rest.empty() || rest[0] != kSep) return std::nullopt;
  auto pairs = kvpairs(rest.substr(1));
  if (!pairs) return std::nullopt;
  bool have_auth = false;
  for (const auto& [key, value] : *pairs) {
    if (key != "auth") continue;  // host, port and extensions are informative
    if (have_auth) return std::nullopt;
    auto token = bearer_of(value);
    if (!token) return std::nullopt;
    out.token = *token;
    have_auth = true;
  }
  if (!have_auth) return std::nullopt;
  return out;
}

std::optional<BearerMessage> parse_xoauth2(std::string_view m) {
  auto pairs = kvpairs(m);
  if (!pairs) return std::nullopt;
  BearerMessage out;
  bool have_auth = false;
  for (const auto& [key, value] : *pairs) {
    if (key == "user") {
      out.user = std::string(value);
    } else if (key == "auth") {
      if (have_auth) return std::nullopt;
      auto token = bearer_of(value);
      if (!token) return std::nullopt;
      out.token = *token;
      have_auth = true;
    }
  }
  if (!have_auth) return std::nullopt;
  return out;
}

AuthStep BearerServer::step(std::optional<std::string_view> response) {
  switch (state_) {
    case 0:
      if (!response) {  // no initial response: an empty challenge asks for the message
        AuthStep s;
        s.outcome = AuthOutcome::in_progress;
        return s;
      }
      return check(*response);
    case 1:
      // RFC 7628 3.2.3: the client answers the error with %x01 (XOAUTH2 clients: empty);
      // whatever it sends, the exchange ends with the outcome already decided.
      return end(pending_, reason_);
    default:
      return end(AuthOutcome::failed, "exchange finished");
  }
}

AuthStep BearerServer::check(std::string_view message) {
  auto parsed = kind_ == Kind::oauthbearer ? parse_oauthbearer(message) : parse_xoauth2(message);
  if (!parsed) {
    if (kind_ == Kind::oauthbearer && !message.empty() && message[0] == 'p') {
      return end(AuthOutcome::failed, "channel binding not supported");
    }
    return end(AuthOutcome::malformed, "malformed client message");
  }
  user_ = parsed->user;
  std::string throttle_key =
      user_.empty() ? "bearer:" + client_.remote_ip : core::ascii_lower(user_);
  if (auto t = throttle_.check(throttle_key, client_.remote_ip); t != Throttle::Verdict::allowed) {
    return end(AuthOutcome::throttled, Throttle::verdict_reason(t));
  }
  TokenCheck token = verifier_.verify(parsed->token);
  if (token.verdict == TokenVerdict::unavailable) {
    return end(AuthOutcome::unavailable, "token: " + token.reason);
  }
  if (token.verdict == TokenVerdict::invalid) {
    throttle_.record_failure(throttle_key, client_.remote_ip);
    return error_challenge(AuthOutcome::failed, "token: " + token.reason, token.status);
  }
  const TokenIdentity& who = token.identity;
  Result<Account> account = who.match == TokenMatch::id
                                ? resolver_.directory().find_account_by_id(who.value)
                                : resolver_.find_login(who.value);
  if (user_.empty()) user_ = who.value;
  if (!account) {
    if (account.code() != Code::not_found) {
      return end(AuthOutcome::unavailable, "directory: " + account.status().to_string());
    }
    throttle_.record_failure(throttle_key, client_.remote_ip);
    return error_challenge(AuthOutcome::failed,
                           "no account for " + who.claim + " " + core::quote(who.value),
                           "invalid_token");
  }
  if (!parsed->user.empty()) {
    auto named = resolver_.find_login(parsed->user);
    if (!named && named.code() != Code::not_found) {
      return end(AuthOutcome::unavailable, "directory: " + named.status().to_string());
    }
    if (!named || named->id != account->id) {
      throttle_.record_failure(throttle_key, client_.remote_ip);
      return error_challenge(AuthOutcome::failed, "authorization identity differs",
                             "invalid_token");
    }
  }
  if (account->status != AccountStatus::active) {
    return error_challenge(AuthOutcome::disabled,
                           std::string("account ") + account_status_name(account->status),
                           "invalid_token");
  }
  throttle_.record_success("id:" + account->id, client_.remote_ip);
  AuthStep s = end(AuthOutcome::success, "ok issuer=" + who.issuer + " claim=" + who.claim);
  s.principal = Principal{account->id, account->login, account->address, account->display_name};
  return s;
}

AuthStep BearerServer::error_challenge(AuthOutcome outcome, std::string reason,
                                       const std::string& status) {
  pending_ = outcome;
  reason_ = std::move(reason);
  state_ = 1;
  std::string json = "{\"status\":";
  if (kind_ == Kind::xoauth2) {
    json_string(json, "401");  // Google's form; clients treat it as "refresh the token"
    json += ",\"schemes\":\"bearer\"";
  } else {
    json_string(json, status);
  }
  if (auto scope = verifier_.required_scope(); !scope.empty()) {
    json += ",\"scope\":";
    json_string(json, scope);
  }
  if (auto config = verifier_.openid_configuration(); !config.empty()) {
    json += ",\"openid-configuration\":";
    json_string(json, config);
  }
  json += "}";
  AuthStep s;
  s.outcome = AuthOutcome::in_progress;
  s.challenge = std::move(json);
  return s;
}

AuthStep BearerServer::end(AuthOutcome outcome, std::string reason) {
  state_ = 2;
  reason_ = std::move(reason);
  AuthStep s;
  s.outcome = outcome;
  return s;
}

}  // namespace mailroom::auth
