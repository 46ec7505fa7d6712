// STARTTLS, LOGIN, AUTHENTICATE (RFC 3501 6.2) with SASL-IR (RFC 4959); UNAUTHENTICATE
// (RFC 8437).
#include "src/core/log.h"
#include "src/imap/idle_signal.h"
#include "src/imap/notify.h"
#include "src/imap/session.h"
#include "src/net/sasl_dialogue.h"
#include "src/net/transport.h"

namespace mailroom::imap {
namespace {

Reply auth_failure(auth::AuthOutcome o) {
  switch (o) {
    case auth::AuthOutcome::unavailable:
      return Reply::no("[UNAVAILABLE] Authentication service unavailable, try again later");
    case auth::AuthOutcome::throttled:
      return Reply::no("[UNAVAILABLE] Too many failed attempts, try again later");
    case auth::AuthOutcome::encryption_required:
      return Reply::no("[PRIVACYREQUIRED] Use STARTTLS first");
    case auth::AuthOutcome::bad_mechanism:
      return Reply::no("[CANNOT] Unsupported authentication mechanism");
    case auth::AuthOutcome::malformed:
      return Reply::bad("Malformed SASL response");
    case auth::AuthOutcome::cancelled:
      return Reply::bad("Authentication cancelled");
    case auth::AuthOutcome::disabled:
    default:
      return Reply::no("[AUTHENTICATIONFAILED] Authentication failed");
  }
}

Reply logged_in(Session& s, const auth::Principal& p, const char* what) {
  s.principal = p;
  s.state = State::authenticated;
  s.set_account(p.account_id, p.address, p.app_password_id);
  spdlog::info("event=imap_login session={} account={} mechanism={}", s.session_id(), p.account_id,
               what);
  return Reply::ok("[CAPABILITY " + s.capabilities() + "] Logged in");
}

}  // namespace

asio::awaitable<Reply> cmd_starttls(Session& s, const proto::Command& cmd) {
  if (!s.can_start_tls()) co_return Reply::bad("STARTTLS is not available");
  std::string line = cmd.tag + " OK Begin TLS negotiation now\r\n";
  s.queue(line);
  bool ok = co_await s.flush();
  if (ok) ok = co_await s.start_tls();
  if (!ok) {
    s.state = State::logout;
    Reply r = Reply::no("TLS negotiation failed");
    r.close = true;
    co_return r;
  }
  // The tagged OK went out before the handshake (RFC 3501 6.2.1).
  Reply r = Reply::ok("");
  r.no_sync = true;
  r.sent = true;
  co_return r;
}

asio::awaitable<Reply> cmd_login(Session& s, const proto::Command& cmd) {
  auth::ClientInfo ci = s.client_info();
  if (!s.services.authenticator || !s.services.authenticator->plaintext_allowed(ci))
    co_return Reply::no("[PRIVACYREQUIRED] LOGIN is disabled on this connection, use STARTTLS");
  std::string user = cmd.args[0], password = cmd.args[1];
  auto fn1 = [&s, &user, &password, &ci] {
    return s.services.authenticator->check_plain(user, password, ci);
  };
  auth::AuthStep step = co_await net::blocking(*s.services.workers, fn1);
  if (step.outcome != auth::AuthOutcome::success) {
    spdlog::info("event=imap_login_failed session={} result={}", s.session_id(),
                 auth::auth_outcome_name(step.outcome));
    co_return auth_failure(step.outcome);
  }
  co_return logged_in(s, step.principal, "LOGIN");
}

asio::awaitable<Reply> cmd_authenticate(Session& s, const proto::Command& cmd) {
  if (!s.services.authenticator) co_return Reply::no("[UNAVAILABLE] No authenticator");
  auth::ClientInfo ci = s.client_info();
  std::string mech = cmd.atoms[0];
  std::shared_ptr<auth::Exchange> ex = s.services.authenticator->start(mech, ci);
  // RFC 3501 6.2.2: "+ " continuations; the response line is bounded like any command line.
  net::SaslFraming framing{"+ ", s.options.max_line};
  net::SaslResult sasl =
      co_await net::run_sasl(s.conn, *s.services.workers, *ex, cmd.initial_response, framing);
  switch (sasl.end) {
    case net::SaslEnd::bad_initial_response:
      co_return Reply::bad("Invalid base64 in the initial response");
    case net::SaslEnd::too_long:
      co_return Reply::bad("Authentication aborted: response line too long");
    case net::SaslEnd::closed: {
      Reply r = Reply::bad("Authentication aborted");
      r.close = true;
      co_return r;
    }
    case net::SaslEnd::done:
      break;
  }
  if (sasl.step.outcome == auth::AuthOutcome::success) {
    co_return logged_in(s, sasl.step.principal, "SASL");
  }
  spdlog::info("event=imap_auth_failed session={} mechanism={} result={}", s.session_id(), mech,
               auth::auth_outcome_name(sasl.step.outcome));
  co_return auth_failure(sasl.step.outcome);
}

asio::awaitable<Reply> cmd_unauthenticate(Session& s, const proto::Command&) {
  // RFC 8437 3: back to the not authenticated state, as if the connection were new except for
  // its TLS and COMPRESS layers (kept: they belong to the connection, not to the user). What
  // the user had goes: the selected mailbox (closed without expunge, as UNSELECT), NOTIFY and
  // its watches, the extensions ENABLE turned on, the SEARCHRES result and RFC 5267 contexts,
  // the shared folder's rights. The next LOGIN or AUTHENTICATE may be another user.
  std::string was = s.principal.account_id;
  s.notifier.reset();
  s.unselect();
  s.condstore = false;
  s.qresync = false;
  s.utf8_accept = false;
  s.rev2 = false;
  s.current_uid = false;
  if (s.wake_) {
    s.wake_->pending = false;
    s.wake_->changed = true;
  }
  s.principal = auth::Principal{};
  s.state = State::not_authenticated;
  // Until the next login, the command reader's pre-login limits (Session::run) and the login
  // timeout apply again.
  s.conn.set_idle_timeout(std::chrono::seconds(s.options.login_timeout_seconds));
  // The connection forgets the account too: no longer listed as or closed with it, its trace
  // rule no longer applies, and the hard login deadline runs again.
  s.conn.clear_account();
  spdlog::info("event=imap_unauthenticate session={} account={}", s.session_id(), was);
  Reply r = Reply::ok("UNAUTHENTICATE completed");
  r.no_sync = true;
  co_return r;
}

}  // namespace mailroom::imap
