// AUTH (RFC 4954): SASL exchanges through the Authenticator, each step on the worker pool.
#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/core/base64.h"
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
  std::optional<std::string> response;
  if (cmd.initial_response) {
    if (*cmd.initial_response == "=") {
      response = std::string();  // RFC 4954 4: "=" is an empty initial response
    } else {
      response = core::base64_decode(*cmd.initial_response);
      if (!response) {
        reply(501, "5.5.2", "Invalid base64 data");
        co_return;
      }
    }
  }
  bool first = true;
  while (true) {
    std::optional<std::string_view> arg;
    if (response) arg = *response;
    auth::AuthStep step = co_await ctx_.services.workers->run(
        [&] { return exchange->step(first && !cmd.initial_response ? std::nullopt : arg); });
    first = false;
    switch (step.outcome) {
      case auth::AuthOutcome::in_progress: {
        conn_.queue("334 " + core::base64_encode(step.challenge) + "\r\n");
        if (!co_await conn_.flush()) {
          quit_ = true;
          co_return;
        }
        std::string line;
        auto st = co_await conn_.read_line(line, 12288);  // RFC 4954 4: 12288 octets
        if (st == net::ReadStatus::too_long) {
          reply(500, "5.5.6", "Authentication exchange line is too long");
          co_return;
        }
        if (st != net::ReadStatus::ok) {
          quit_ = true;
          co_return;
        }
        if (line == "*") {
          reply(501, "5.0.0", "Authentication cancelled");
          co_return;
        }
        response = core::base64_decode(line);
        if (!response) {
          reply(501, "5.5.2", "Invalid base64 data");
          co_return;
        }
        continue;
      }
      case auth::AuthOutcome::success:
        principal_ = step.principal;
        conn_.set_account(step.principal.account_id, step.principal.address);
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
}

}  // namespace mailroom::smtp
