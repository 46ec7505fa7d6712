// EHLO/HELO/LHLO (RFC 5321 4.1.1.1, RFC 2033 4.1), STARTTLS (RFC 3207), and the commands
// without state: NOOP, RSET, VRFY, EXPN, HELP.
#include "src/core/log.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

using proto::Verb;

asio::awaitable<void> Session::cmd_hello(const proto::Command& cmd) {
  bool lmtp = ctx_.mode == Mode::lmtp;
  if (lmtp != (cmd.verb == Verb::lhlo)) {
    reply(500, "5.5.1", lmtp ? "LMTP requires LHLO" : "Use EHLO or HELO");
    co_return;
  }
  // RFC 5321 4.1.4: EHLO/HELO in a transaction resets it.
  reset_transaction();
  helo_ = cmd.argument;
  greeted_ = true;
  esmtp_ = cmd.verb != Verb::helo;
  if (!esmtp_) {
    conn_.queue(proto::make_reply(250, "", ctx_.services.hostname).wire());
    co_return;
  }
  std::vector<std::string> lines{ctx_.services.hostname + " Hello " + helo_ + " [" +
                                 conn_.info().remote_ip + "]"};
  lines.push_back("PIPELINING");
  lines.push_back("SIZE " + std::to_string(ctx_.options.max_message_size));
  lines.push_back("8BITMIME");
  lines.push_back("BINARYMIME");
  lines.push_back("CHUNKING");
  lines.push_back("ENHANCEDSTATUSCODES");
  lines.push_back("SMTPUTF8");
  lines.push_back("DSN");
  if (conn_.can_start_tls()) lines.push_back("STARTTLS");
  if (!lmtp && !authenticated() && ctx_.services.authenticator) {
    auto mechs = ctx_.services.authenticator->mechanisms(client_info());
    if (!mechs.empty()) {
      std::string auth = "AUTH";
      for (const auto& m : mechs) auth += " " + m;
      lines.push_back(auth);
    }
  }
  lines.push_back("HELP");
  conn_.queue(proto::multiline(250, lines));
  co_return;
}

// STARTTLS (RFC 3207) in two plain steps around the handshake, which dispatch() awaits.
bool Session::starttls_prepare() {
  if (conn_.is_tls()) {
    reply(503, "5.5.1", "TLS already active");
    return false;
  }
  if (!conn_.can_start_tls()) {
    reply(454, "4.7.0", "TLS not available");
    return false;
  }
  if (tx_.active) {
    reply(503, "5.5.1", "STARTTLS not allowed during a mail transaction");
    return false;
  }
  conn_.queue(proto::make_reply(220, "2.0.0", "Ready to start TLS").wire());
  return true;
}

void Session::starttls_done(bool ok) {
  if (!ok) {
    MR_LOG_INFO("event=smtp_tls_failed session={}", session_id_);
    quit_ = true;  // the transport closed the connection
    return;
  }
  MR_LOG_INFO("event=smtp_tls session={} version={} cipher={}", session_id_, conn_.tls_version(),
              conn_.tls_cipher());
  // RFC 3207 4.2: forget everything learned from the client before TLS.
  helo_.clear();
  greeted_ = false;
  esmtp_ = false;
  principal_.reset();
  reset_transaction();
}

asio::awaitable<void> Session::cmd_starttls(const proto::Command&) {
  if (!starttls_prepare()) co_return;
  bool ok = co_await conn_.flush();
  if (ok) ok = co_await conn_.start_tls();
  starttls_done(ok);
}

asio::awaitable<void> Session::cmd_quit(const proto::Command&) {
  reply(221, "2.0.0", ctx_.services.hostname + " Bye");  // RFC 5321 section 4.1.1.10
  quit_ = true;
  co_return;
}

asio::awaitable<void> Session::cmd_simple(const proto::Command& cmd) {
  switch (cmd.verb) {
    case Verb::noop:
      reply(250, "2.0.0", "Ok");
      break;
    case Verb::rset:
      reset_transaction();
      reply(250, "2.0.0", "Ok");
      break;
    case Verb::vrfy:
      // RFC 5321 3.5.3: do not disclose the directory.
      reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case Verb::expn:
      reply(502, "5.5.1", "EXPN not available");
      break;
    case Verb::help:
      reply(214, "2.0.0",
            "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
            "VRFY HELP STARTTLS AUTH");
      break;
    default:
      reply(502, "5.5.1", "Command not implemented");
      break;
  }
  co_return;
}

}  // namespace mailroom::smtp
