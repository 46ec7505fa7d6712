#include "src/api/caller.h"

#include "auth/resolver.h"
#include "auth/sasl/throttle.h"
#include "auth/token_verifier.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/service/admin_store.h"
#include "src/service/api_tokens.h"
#include "src/service/role_grants.h"

namespace mailroom::api {
namespace {

// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool caller_is_b64token(std::string_view t) {
  size_t i = 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

auth::ThrottleOptions caller_throttle_options(const CallerAuthOptions& o) {
  auth::ThrottleOptions t;
  t.max_failures_per_ip = o.max_failures_per_ip;
  t.failure_window_seconds = o.failure_window_seconds;
  t.lockout_seconds = o.lockout_seconds;
  // Only the IP is counted (no account key is ever given).
  return t;
}

class BearerCallerAuthenticator final : public CallerAuthenticator {
 public:
  BearerCallerAuthenticator(std::shared_ptr<service::ApiTokenStore> tokens,
                            std::shared_ptr<service::RoleGrants> grants,
                            std::shared_ptr<auth::Resolver> resolver,
                            std::shared_ptr<auth::TokenVerifier> idp, CallerAuthOptions options,
                            const core::Clock& clock)
      : tokens_(std::move(tokens)),
        grants_(std::move(grants)),
        resolver_(std::move(resolver)),
        idp_(std::move(idp)),
        options_(std::move(options)),
        throttle_(caller_throttle_options(options_), clock) {}

  AuthResult authenticate(const http::Request& request, std::string_view front_end) override {
    const std::string& ip = request.remote_ip;
    if (throttle_.ip_blocked(ip)) {
      MR_LOG_WARN("event=api.auth_throttled ip={} session={}", core::quote(ip), request.session_id);
      auto r = http::Response::problem(429, "Too Many Requests",
                                       "too many failed authentication attempts; try later");
      r.set_header("Retry-After", std::to_string(options_.lockout_seconds));
      return r;
    }
    auto header = request.header("authorization");
    if (!header) return challenge("bearer token required");
    // RFC 9110 11.1: the scheme is case-insensitive; RFC 6750 2.1: one or more spaces, then
    // exactly one b64token (a second Authorization field joined with ", " is not one).
    std::string_view value = *header;
    size_t sp = value.find(' ');
    if (sp == std::string_view::npos || !core::iequals(value.substr(0, sp), "bearer")) {
      return challenge("bearer token required");
    }
    std::string_view token = value.substr(sp);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token.size() > options_.max_token_bytes || !caller_is_b64token(token)) {
      return failed(request, "malformed bearer token", challenge("malformed bearer token"));
    }
    AuthResult result = token.substr(0, service::kApiTokenPrefix.size()) == service::kApiTokenPrefix
                            ? api_token(request, token)
                            : idp_token(request, token);
    if (result) result->front_end = std::string(front_end);
    return result;
  }

 private:
  AuthResult api_token(const http::Request& request, std::string_view token) {
    auto check = tokens_->verify(token);
    if (!check) return problem_from_status(check.status());
    using Outcome = service::ApiTokenStore::Outcome;
    switch (check->outcome) {
      case Outcome::valid: {
        service::Caller caller;
        caller.name = "token:" + check->token.name;
        caller.grants = std::move(check->token.grants);
        return caller;
      }
      case Outcome::expired:
        return failed(request, "api token " + check->token.id + " expired", invalid_token());
      case Outcome::revoked:
        return failed(request, "api token " + check->token.id + " revoked", invalid_token());
      case Outcome::unknown:
        break;
    }
    return failed(request, "unknown api token", invalid_token());
  }

  AuthResult idp_token(const http::Request& request, std::string_view token) {
    if (!idp_) return failed(request, "not an api token and no [sso]", invalid_token());
    auth::TokenCheck check = idp_->verify(token);
    if (check.verdict == auth::TokenVerdict::unavailable) {
      return problem_from_status(
          core::unavailable("the identity provider cannot be reached", "token: " + check.reason));
    }
    if (check.verdict != auth::TokenVerdict::valid) {
      return failed(request, "token: " + check.reason, invalid_token());
    }
    // As an OAUTHBEARER login maps it (auth/sasl/bearer_server.cpp).
    const auth::TokenIdentity& who = check.identity;
    auto account = who.match == auth::TokenMatch::id
                       ? resolver_->directory().find_account_by_id(who.value)
                       : resolver_->find_login(who.value);
    if (!account) {
      if (account.code() != core::Code::not_found) return problem_from_status(account.status());
      return failed(request, "no account for " + who.claim + " " + core::quote(who.value),
                    invalid_token());
    }
    auto caller = grants_->caller_for_account(*account);
    if (!caller) return problem_from_status(caller.status());
    if (caller->grants.empty()) {
      MR_LOG_INFO("event=api.no_role ip={} account={} status={}", core::quote(request.remote_ip),
                  core::quote(account->address), auth::account_status_name(account->status));
      return http::Response::problem(403, "Forbidden", "no administrative role");
    }
    return std::move(*caller);
  }

  http::Response challenge(std::string_view detail) const {
    auto r = http::Response::problem(401, "Unauthorized", detail);
    r.set_header("WWW-Authenticate", "Bearer realm=\"" + options_.realm + "\"");
    return r;
  }

  // RFC 6750 3.1; the same words for every reason.
  http::Response invalid_token() const {
    auto r = http::Response::problem(401, "Unauthorized", "invalid or expired token");
    r.set_header("WWW-Authenticate",
                 "Bearer realm=\"" + options_.realm +
                     "\", error=\"invalid_token\", error_description=\"invalid or expired "
                     "token\"");
    return r;
  }

  http::Response failed(const http::Request& request, const std::string& reason,
                        http::Response response) {
    throttle_.record_failure("", request.remote_ip);
    MR_LOG_INFO("event=api.auth_failed ip={} session={} reason={}", core::quote(request.remote_ip),
                request.session_id, core::quote(reason));
    return response;
  }

  std::shared_ptr<service::ApiTokenStore> tokens_;
  std::shared_ptr<service::RoleGrants> grants_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::shared_ptr<auth::TokenVerifier> idp_;
  CallerAuthOptions options_;
  auth::Throttle throttle_;
};

}  // namespace

std::shared_ptr<CallerAuthenticator> make_caller_authenticator(
    std::shared_ptr<service::ApiTokenStore> tokens, std::shared_ptr<service::RoleGrants> grants,
    std::shared_ptr<auth::Resolver> resolver, std::shared_ptr<auth::TokenVerifier> idp,
    CallerAuthOptions options, const core::Clock& clock) {
  return std::make_shared<BearerCallerAuthenticator>(std::move(tokens), std::move(grants),
                                                     std::move(resolver), std::move(idp),
                                                     std::move(options), clock);
}

std::shared_ptr<CallerAuthenticator> make_caller_authenticator(const core::Services& services,
                                                               const service::AdminAccess& admin,
                                                               CallerAuthOptions options) {
  return make_caller_authenticator(admin.tokens, admin.grants, services.resolver,
                                   services.token_verifier, std::move(options));
}

}  // namespace mailroom::api
