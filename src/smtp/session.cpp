// The session loop: greeting, bounded command reads, pipelined replies, error and junk
// command limits (RFC 5321 4.5.3 / 4.3.2), and make_session_handler.
#include "src/smtp/session.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>

#include "src/core/log.h"

namespace mailroom::smtp {

using proto::Verb;

bool RateLimiter::allow(const std::string& ip) {
  if (per_minute_ == 0) return true;
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  std::lock_guard lock(mu_);
  auto& q = seen_[ip];
  while (!q.empty() && q.front() <= now - 60) q.pop_front();
  if (q.size() >= per_minute_) return false;
  q.push_back(now);
  if (seen_.size() > 100000) seen_.clear();  // bound memory under address-spraying floods
  return true;
}

Session::Session(ServerContext& ctx, net::Transport& conn)
    : ctx_(ctx), conn_(conn), session_id_(conn.info().session_id) {}

void Session::reply(const proto::Reply& r) {
  if (r.code >= 400) ++errors_;
  conn_.queue(r.wire());
}

void Session::reply(int code, const char* enhanced, const std::string& text) {
  reply(proto::make_reply(code, enhanced, text));
}

void Session::refuse_message(int code, const char* enhanced, const std::string& text) {
  size_t replies = ctx_.mode == Mode::lmtp ? std::max<size_t>(1, tx_.rcpts.size()) : 1;
  reset_transaction();
  auto r = proto::make_reply(code, enhanced, text);
  reply(r);  // counted once towards max_errors
  for (size_t i = 1; i < replies; ++i) conn_.queue(r.wire());
}

bool Session::from_trusted_network() const {
  for (const auto& n : ctx_.options.trusted_networks) {
    if (n.contains(conn_.info().remote_ip)) return true;
  }
  return false;
}

bool Session::from_relay_network() const {
  for (const auto& n : ctx_.options.relay_networks) {
    if (n.contains(conn_.info().remote_ip)) return true;
  }
  return false;
}

void Session::reset_transaction() { tx_ = Transaction{}; }

auth::ClientInfo Session::client_info() const {
  auth::ClientInfo c;
  c.session_id = session_id_;
  c.protocol = ctx_.mode == Mode::lmtp ? "lmtp" : "smtp";
  c.remote_ip = conn_.info().remote_ip;
  c.tls = conn_.is_tls();
  c.loopback = conn_.info().loopback;
  return c;
}

bool Session::check_limits() {
  if (errors_ >= ctx_.options.max_errors) {
    conn_.queue(proto::make_reply(421, "4.7.0",
                                  ctx_.services.hostname + " Too many errors, closing connection")
                    .wire());
    MR_LOG_INFO("event=smtp_too_many_errors session={} errors={}", session_id_, errors_);
    return false;
  }
  if (junk_commands_ > ctx_.options.max_commands_before_mail) {
    conn_.queue(proto::make_reply(421, "4.7.0",
                                  ctx_.services.hostname + " Too many commands, closing connection")
                    .wire());
    MR_LOG_INFO("event=smtp_too_many_commands session={}", session_id_);
    return false;
  }
  return true;
}

asio::awaitable<void> Session::run() {
  const auto& info = conn_.info();
  MR_LOG_INFO("event=smtp_connect session={} protocol={} ip={} tls={}", session_id_, ctx_.protocol,
              info.remote_ip, conn_.is_tls());
  if (!ctx_.rate->allow(info.remote_ip)) {
    const std::string refusal =
        proto::make_reply(421, "4.7.0", "Too many connections from your address, try later").wire();
    co_await conn_.write(refusal);
    co_return;
  }
  // RFC 5321 4.3.1 greeting; RFC 2034: no enhanced code here.
  std::string greeting =
      ctx_.services.hostname + " " +
      (ctx_.mode == Mode::lmtp ? std::string("LMTP Mailroom") : ctx_.options.banner);
  const std::string greeting_reply = proto::make_reply(220, "", greeting).wire();
  co_await conn_.write(greeting_reply);

  const size_t max_cmd = ctx_.options.max_line_length - 2;
  // RFC 4954 4 keeps AUTH within the command line limit (a longer initial response goes after
  // a 334), but clients send XOAUTH2/OAUTHBEARER bearer tokens, often over 1000 octets, as the
  // initial response anyway; AUTH lines may be as long as a SASL response (12288, RFC 4954 4).
  // Other commands keep the RFC 5321 limit.
  const size_t max_read = std::max<size_t>(max_cmd, 12288 - 2);
  auto is_auth = [](const std::string& l) {
    return l.size() >= 5 && core::iequals(std::string_view(l).substr(0, 5), "AUTH ");
  };
  std::string line;
  while (!quit_) {
    if (conn_.buffered() == 0) {
      bool flushed = co_await conn_.flush();
      if (!flushed) co_return;
    }
    bool bare_lf = false;
    auto st = co_await conn_.read_command(line, max_read, &bare_lf);
    if (st == net::ReadStatus::ok && line.size() > max_cmd && !is_auth(line)) {
      st = net::ReadStatus::too_long;
    }
    if (st == net::ReadStatus::timeout) {
      const std::string timeout_reply =
          proto::make_reply(421, "4.4.2", ctx_.services.hostname + " Timeout, closing connection")
              .wire();
      co_await conn_.write(timeout_reply);
      co_return;
    }
    if (st == net::ReadStatus::shutdown) {
      const std::string shutdown_reply =
          proto::make_reply(421, "4.3.2", ctx_.services.hostname + " Service shutting down").wire();
      co_await conn_.write(shutdown_reply);
      co_return;
    }
    if (st == net::ReadStatus::eof || st == net::ReadStatus::error) {
      MR_LOG_INFO("event=smtp_disconnect session={} reason={} in_transaction={}", session_id_,
                  net::read_status_name(st), tx_.active);
      co_return;
    }
    if (st == net::ReadStatus::too_long) {
      reply(500, "5.5.2", "Line too long");  // RFC 5321 4.5.3.1.4
    } else if (bare_lf && ctx_.options.bare_lf == BareLf::reject) {
      reply(500, "5.5.2", "Bare LF line endings are not allowed; use CRLF");
    } else {
      auto parsed = proto::parse_command(line);
      if (auto* r = std::get_if<proto::Reply>(&parsed)) {
        reply(*r);
      } else {
        co_await dispatch(std::get<proto::Command>(parsed));
      }
    }
    if (!check_limits()) break;
  }
  co_await conn_.flush();
  MR_LOG_INFO("event=smtp_close session={} errors={}", session_id_, errors_);
}

// The command table (STYLE.md example 8), as POP3 and IMAP have: each verb's handler and whether
// it counts toward [smtp] commands_before_mail (commands that move no mail; RFC 5321 section
// 7.8 lets a server limit them). Sequencing rules stay in the handlers: they depend on the mode
// (LMTP, submission) and the transaction, not only on the verb.
struct CommandTable {
  using Handler = asio::awaitable<void> (Session::*)(const proto::Command&);
  struct Entry {
    Verb verb;
    Handler handler;
    bool junk;
  };
  static const Entry* find(Verb verb) {
    static const std::array<Entry, 15> kEntries = {{
        {Verb::ehlo, &Session::cmd_hello, true},  // RFC 5321 section 4.1.1.1
        {Verb::helo, &Session::cmd_hello, true},
        {Verb::lhlo, &Session::cmd_hello, true},          // RFC 2033 section 4.1
        {Verb::starttls, &Session::cmd_starttls, false},  // RFC 3207 section 4
        {Verb::auth, &Session::cmd_auth, false},          // RFC 4954 section 4
        {Verb::mail, &Session::cmd_mail, false},          // RFC 5321 section 4.1.1.2
        {Verb::rcpt, &Session::cmd_rcpt, false},          // RFC 5321 section 4.1.1.3
        {Verb::data, &Session::cmd_data, false},          // RFC 5321 section 4.1.1.4
        {Verb::bdat, &Session::cmd_bdat, false},          // RFC 3030 section 2
        {Verb::quit, &Session::cmd_quit, false},          // RFC 5321 section 4.1.1.10
        {Verb::rset, &Session::cmd_simple, true},         // RFC 5321 section 4.1.1.5
        {Verb::noop, &Session::cmd_simple, true},         // RFC 5321 section 4.1.1.9
        {Verb::vrfy, &Session::cmd_simple, true},         // RFC 5321 section 3.5.3
        {Verb::expn, &Session::cmd_simple, true},
        {Verb::help, &Session::cmd_simple, true},
    }};
    for (const Entry& e : kEntries) {
      if (e.verb == verb) return &e;
    }
    return nullptr;
  }
};

asio::awaitable<void> Session::dispatch(const proto::Command& cmd) {
  const CommandTable::Entry* entry = CommandTable::find(cmd.verb);
  if (!entry || entry->junk) ++junk_commands_;
  co_await (this->*(entry ? entry->handler : &Session::cmd_simple))(cmd);
}

net::SessionHandler make_session_handler(core::Services& services, const Options& options,
                                         const std::string& protocol) {
  Mode mode = protocol == "lmtp"         ? Mode::lmtp
              : protocol == "submission" ? Mode::submission
                                         : Mode::mx;
  auto ctx = std::make_shared<ServerContext>(ServerContext{
      services, options, mode, protocol,
      services.blocklist
          ? services.blocklist
          : std::make_shared<filter::Blocklist>(filter::blocklist_path(services.data_dir)),
      std::make_shared<RateLimiter>(options.max_connection_rate)});
  net::SessionHandler h;
  h.run = [ctx](net::Transport& conn) -> asio::awaitable<void> {
    Session session(*ctx, conn);
    co_await session.run();
  };
  if (mode == Mode::submission) h.login_timeout = options.login_timeout;
  h.reject = [](net::RejectReason why) -> std::string {
    switch (why) {
      case net::RejectReason::blocked_ip:
        return proto::make_reply(554, "5.7.1", "Access denied").wire();
      case net::RejectReason::shutting_down:
        return proto::make_reply(421, "4.3.2", "Service shutting down").wire();
      default:
        return proto::make_reply(421, "4.7.0", "Too many connections, try again later").wire();
    }
  };
  return h;
}

}  // namespace mailroom::smtp
