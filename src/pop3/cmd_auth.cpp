// AUTHORIZATION state: USER/PASS (RFC 1939 section 7), AUTH (RFC 5034), STLS (RFC 2595).
#include <algorithm>
#include <optional>

#include "src/core/base64.h"
#include "src/core/log.h"
#include "src/net/sasl_dialogue.h"
#include "src/net/worker_pool.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

using proto::RespCode;

namespace {

// The -ERR for an authentication outcome other than success / in_progress (RFC 3206,
// RFC 5034 section 6 AUTH-RESP-CODE).
struct Refusal {
  const char* text;
  RespCode code;
};

Refusal refusal_for(auth::AuthOutcome outcome) {
  switch (outcome) {
    case auth::AuthOutcome::unavailable:
      return {"Authentication temporarily unavailable, try again later", RespCode::sys_temp};
    case auth::AuthOutcome::throttled:
      return {"Too many failed attempts, try again later", RespCode::sys_temp};
    case auth::AuthOutcome::encryption_required:
      return {"Plaintext authentication requires TLS (use STLS)", RespCode::auth};
    case auth::AuthOutcome::bad_mechanism:
      return {"Unsupported authentication mechanism", RespCode::none};
    case auth::AuthOutcome::malformed:
      return {"Malformed authentication response", RespCode::none};
    case auth::AuthOutcome::cancelled:
      return {"Authentication cancelled", RespCode::none};
    case auth::AuthOutcome::disabled:
    case auth::AuthOutcome::failed:
    default:
      // The client learns nothing about which part was wrong.
      return {"Authentication failed", RespCode::auth};
  }
}

}  // namespace

Awaitable Session::cmd_user(const proto::Command& c) {
  if (!services_.authenticator->plaintext_allowed(client_info())) {
    client_error("Plaintext authentication disallowed on non-encrypted connections (use STLS)",
                 RespCode::auth);
    co_return;
  }
  pending_user_ = c.args[0];
  user_given_ = true;
  // RFC 1939 section 7: +OK whether or not the user exists (no account probing).
  send(proto::ok("Send your password"));
  co_return;
}

Awaitable Session::cmd_pass(const proto::Command& c) {
  if (!user_given_) {
    client_error("Send USER first");
    co_return;
  }
  user_given_ = false;
  auth::ClientInfo ci = client_info();
  auth::Authenticator& authenticator = *services_.authenticator;
  std::string login = std::move(pending_user_);
  const std::string& password = c.args[0];
  auto check = [&] { return authenticator.check_plain(login, password, ci); };
  auth::AuthStep step = co_await net::blocking(*services_.workers, check);
  MR_LOG_INFO("event=pop3_auth session={} mechanism=USER login={} result={}", ci.session_id,
              core::quote(login), auth::auth_outcome_name(step.outcome));
  if (step.outcome == auth::AuthOutcome::success) {
    co_await open_maildrop(step.principal);
    co_return;
  }
  Refusal r = refusal_for(step.outcome);
  client_error(r.text, r.code);
}

Awaitable Session::cmd_auth(const proto::Command& c) {
  auth::ClientInfo ci = client_info();
  auth::Authenticator& authenticator = *services_.authenticator;
  std::vector<std::string> mechanisms = authenticator.mechanisms(ci);
  user_given_ = false;
  if (c.args.empty()) {
    // Bare AUTH lists the mechanisms (RFC 1734 behaviour, still sent by Outlook).
    std::string out = proto::ok("Methods supported:");
    for (const std::string& m : mechanisms) out += m + "\r\n";
    out += ".\r\n";
    send(out);
    co_return;
  }
  std::string mechanism = c.args[0];
  for (char& ch : mechanism) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  if (std::find(mechanisms.begin(), mechanisms.end(), mechanism) == mechanisms.end()) {
    client_error("Unsupported authentication mechanism");
    co_return;
  }
  std::optional<std::string> initial_response;
  if (c.args.size() == 2) initial_response = c.args[1];  // RFC 5034 4 ("=": empty)
  std::unique_ptr<auth::Exchange> exchange = authenticator.start(mechanism, ci);
  net::SaslFraming framing{"+ ", options_.max_auth_response};  // RFC 5034 4
  net::SaslResult sasl =
      co_await net::run_sasl(transport_, *services_.workers, *exchange, initial_response, framing);
  if (sasl.end == net::SaslEnd::bad_initial_response) {
    client_error("Malformed initial response (not base64)");
    co_return;
  }
  if (sasl.end == net::SaslEnd::too_long) {
    client_error("Authentication response too long");
    co_return;
  }
  if (sasl.end == net::SaslEnd::closed) {
    close_ = true;
    co_return;
  }
  const auth::AuthStep& step = sasl.step;
  MR_LOG_INFO("event=pop3_auth session={} mechanism={} result={}", ci.session_id, mechanism,
              auth::auth_outcome_name(step.outcome));
  if (step.outcome == auth::AuthOutcome::success) {
    co_await open_maildrop(step.principal);
    co_return;
  }
  Refusal r = refusal_for(step.outcome);
  client_error(r.text, r.code);
}

Awaitable Session::cmd_stls(const proto::Command&) {
  if (transport_.is_tls()) {
    client_error("Already using TLS");
    co_return;
  }
  if (!transport_.can_start_tls()) {
    client_error("STLS not available on this port");
    co_return;
  }
  send(proto::ok("Begin TLS negotiation"));
  // Each co_await is its own statement: GCC 12 miscompiles co_await inside || and &&.
  bool flushed = co_await transport_.flush();
  bool secured = false;
  if (flushed) secured = co_await transport_.start_tls();
  if (!secured) {
    MR_LOG_INFO("event=pop3_tls_failed session={}", transport_.info().session_id);
    close_ = true;
    co_return;
  }
  // RFC 2595 section 4: the client forgets what it learned; we forget a pending USER.
  user_given_ = false;
  pending_user_.clear();
}

}  // namespace mailroom::pop3
