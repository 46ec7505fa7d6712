// AUTH (RFC 4954): the SASL dialogue of the session kit (src/net/sasl_dialogue.h), answered
// with SMTP's codes.
#include "src/core/log.h"
#include "src/net/sasl_dialogue.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

asio::awaitable<void> Session::cmd_auth(const proto::Command& cmd) {
  if (ctx_.mode == Mode::lmtp || !ctx_.services.authenticator) {
    reply(502, "5.5.1", "AUTH not available");
    co_return;
  }
  if (!greeted_ || !esmtp_) {
    reply(503, "5.5.1", "Send EHLO first");
    co_return;
  }
  if (authenticated()) {
    reply(503, "5.5.1", "Already authenticated");  // RFC 4954 4
    co_return;
  }
  if (tx_.active) {
    reply(503, "5.5.1", "AUTH not allowed during a mail transaction");
    co_return;
  }
  auto info = client_info();
  auto mechs = ctx_.services.authenticator->mechanisms(info);
  if (std::find(mechs.begin(), mechs.end(), cmd.mechanism) == mechs.end()) {
    if (!conn_.is_tls() && conn_.can_start_tls()) {
      reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
    } else {
      reply(504, "5.5.4", "Unrecognized authentication type");
    }
    co_return;
  }
  auto exchange = ctx_.services.authenticator->start(cmd.mechanism, info);
  net::SaslFraming framing{"334 ", 12288};  // RFC 4954 4: 12288 octets
  net::SaslResult sasl = co_await net::run_sasl(conn_, *ctx_.services.workers, *exchange,
                                                cmd.initial_response, framing);
  if (sasl.end == net::SaslEnd::too_long) {
    reply(500, "5.5.6", "Authentication exchange line is too long");
    co_return;
  }
  if (sasl.end == net::SaslEnd::bad_initial_response) {
    reply(501, "5.5.2", "Invalid base64 data");
    co_return;
  }
  if (sasl.end == net::SaslEnd::closed) {
    quit_ = true;
    co_return;
  }
  const auth::AuthStep& step = sasl.step;
  switch (step.outcome) {
    case auth::AuthOutcome::in_progress:
      break;  // not after run_sasl
    case auth::AuthOutcome::success:
      principal_ = step.principal;
      conn_.set_account(step.principal.account_id, step.principal.address,
                        step.principal.app_password_id);
      MR_LOG_INFO("event=smtp_auth session={} result=ok mechanism={} account={}", session_id_,
                  cmd.mechanism, step.principal.account_id);
      reply(235, "2.7.0", "Authentication successful");
      co_return;
    case auth::AuthOutcome::unavailable:
      reply(454, "4.7.0", "Temporary authentication failure");
      break;
    case auth::AuthOutcome::throttled:
      reply(454, "4.7.0", "Too many failed attempts, try again later");
      break;
    case auth::AuthOutcome::encryption_required:
      reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
      break;
    case auth::AuthOutcome::bad_mechanism:
      reply(504, "5.5.4", "Unrecognized authentication type");
      break;
    case auth::AuthOutcome::malformed:
      reply(501, "5.5.2", "Malformed authentication data");
      break;
    case auth::AuthOutcome::cancelled:
      reply(501, "5.0.0", "Authentication cancelled");
      break;
    case auth::AuthOutcome::failed:
    case auth::AuthOutcome::disabled:
      reply(535, "5.7.8", "Authentication credentials invalid");
      break;
  }
  MR_LOG_INFO("event=smtp_auth session={} result={} mechanism={}", session_id_,
              auth::auth_outcome_name(step.outcome), cmd.mechanism);
  co_return;
}

}  // namespace mailroom::smtp
