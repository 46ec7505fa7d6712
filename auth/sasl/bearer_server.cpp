#include "auth/sasl/bearer_server.h"

#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::auth {
namespace {

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
  // XOAUTH2 clients always name the user, almost always as the account's address or login:
  // that is the same account without a second directory lookup on every login.
  auto names_the_account = [&](const std::string& user) {
    if (core::iequals(user, account->address) || core::iequals(user, account->login)) return true;
    for (const auto& a : account->other_addresses) {
      if (core::iequals(user, a)) return true;
    }
    return false;
  };
  if (!parsed->user.empty() && !names_the_account(parsed->user)) {
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
  s.principal.expires_at = who.expires_at;
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
