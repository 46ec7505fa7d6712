#include "src/managesieve/session.h"

#include <array>

#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/net/sasl_dialogue.h"
#include "src/net/worker_pool.h"
#include "src/sieve/script.h"

namespace mailroom::managesieve {

// The command table (STYLE.md example 8): which state each command is valid in and its
// argument count.
struct CommandTable {
  using Handler = Awaitable (Session::*)(const Session::Args&);
  struct Entry {
    const char* name;
    Handler handler;
    bool before_login;
    bool after_login;
    std::size_t min_args, max_args;
  };
  static const Entry* find(const std::string& name) {
    static const std::array<Entry, 14> kEntries = {{
        {"CAPABILITY", &Session::cmd_capability, true, true, 0, 0},           // RFC 5804 2.4
        {"AUTHENTICATE", &Session::cmd_authenticate, true, false, 1, 2},      // 2.1
        {"STARTTLS", &Session::cmd_starttls, true, false, 0, 0},              // 2.2
        {"LOGOUT", &Session::cmd_logout, true, true, 0, 0},                   // 2.3
        {"NOOP", &Session::cmd_noop, true, true, 0, 1},                       // 2.13
        {"UNAUTHENTICATE", &Session::cmd_unauthenticate, false, true, 0, 0},  // 2.14.1
        {"HAVESPACE", &Session::cmd_havespace, false, true, 2, 2},            // 2.5
        {"PUTSCRIPT", &Session::cmd_putscript, false, true, 2, 2},            // 2.6
        {"CHECKSCRIPT", &Session::cmd_checkscript, false, true, 1, 1},        // 2.12
        {"LISTSCRIPTS", &Session::cmd_listscripts, false, true, 0, 0},        // 2.7
        {"SETACTIVE", &Session::cmd_setactive, false, true, 1, 1},            // 2.8
        {"GETSCRIPT", &Session::cmd_getscript, false, true, 1, 1},            // 2.9
        {"DELETESCRIPT", &Session::cmd_deletescript, false, true, 1, 1},      // 2.10
        {"RENAMESCRIPT", &Session::cmd_renamescript, false, true, 2, 2},      // 2.11.1
    }};
    for (const Entry& e : kEntries) {
      if (name == e.name) return &e;
    }
    return nullptr;
  }
};

Options parse_options(core::ConfigSection& section) {
  Options o;
  o.idle_timeout_seconds = section.get_seconds("idle_timeout", o.idle_timeout_seconds);
  o.login_timeout_seconds = section.get_seconds("login_timeout", o.login_timeout_seconds);
  o.max_errors = static_cast<int>(section.get_int("max_errors", o.max_errors, 1, 1000));
  o.implementation = section.get_string("implementation", o.implementation);
  for (unsigned char c : o.implementation) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      section.error("implementation", "must be printable ASCII without quotes");
      o.implementation = "Mailroom";
      break;
    }
  }
  o.max_auth_response = static_cast<std::size_t>(section.get_int(
      "max_auth_response", static_cast<int64_t>(o.max_auth_response), 256, 1 << 20));
  o.max_literal = static_cast<std::size_t>(
      section.get_size("max_literal", static_cast<uint64_t>(o.max_literal)));
  section.finish();
  return o;
}

Session::Session(net::Transport& transport, core::Services& services, const Options& options)
    : transport_(transport), services_(services), options_(options) {}

auth::ClientInfo Session::client_info() const {
  const net::ConnectionInfo& info = transport_.info();
  auth::ClientInfo ci;
  ci.session_id = info.session_id;
  ci.protocol = "managesieve";
  ci.remote_ip = info.remote_ip;
  ci.tls = transport_.is_tls();
  ci.loopback = info.loopback;
  return ci;
}

// RFC 5804 1.7 capabilities, as quoted name/value lines, then OK.
std::string Session::capabilities() const {
  std::string out = "\"IMPLEMENTATION\" " + proto::quote(options_.implementation) + "\r\n";
  if (!authenticated_) {
    std::string mechs;
    for (const auto& m : services_.authenticator->mechanisms(client_info())) {
      mechs += (mechs.empty() ? "" : " ") + m;
    }
    out += "\"SASL\" " + proto::quote(mechs) + "\r\n";
  }
  out += "\"SIEVE\" " + proto::quote(sieve::extensions_capability()) + "\r\n";
  if (!authenticated_ && !transport_.is_tls() && transport_.can_start_tls())
    out += "\"STARTTLS\"\r\n";
  out += "\"MAXREDIRECTS\" \"4\"\r\n";
  if (authenticated_) out += "\"OWNER\" " + proto::quote(principal_.address) + "\r\n";
  out += "\"VERSION\" \"1.0\"\r\n";
  return out;
}

void Session::no(std::string_view code, std::string_view text) {
  ++errors_;
  std::string line = "NO";
  if (!code.empty()) line += " (" + std::string(code) + ")";
  line += " " + proto::quote(text) + "\r\n";
  if (errors_ >= options_.max_errors) {
    send(line);
    send("BYE \"Too many errors\"\r\n");
    close_ = true;
    return;
  }
  send(line);
}

void Session::ok(std::string_view text) {
  send(text.empty() ? std::string("OK\r\n") : "OK " + proto::quote(text) + "\r\n");
}

void Session::store_error(const char* what, const core::Status& s) {
  switch (s.code()) {
    case core::Code::not_found:
      no("NONEXISTENT", s.client_message());
      return;
    case core::Code::already_exists:
      no("ALREADYEXISTS", s.client_message());
      return;
    case core::Code::permission_denied:
      no("ACTIVE", s.client_message());
      return;
    case core::Code::too_large:
      no("QUOTA/MAXSIZE", s.client_message());
      return;
    case core::Code::over_quota:
      no(s.client_message() == "too many scripts" ? "QUOTA/MAXSCRIPTS" : "QUOTA",
         s.client_message());
      return;
    case core::Code::invalid_argument:
      no("", s.client_message());
      return;
    default:
      break;
  }
  MR_LOG_WARN("event=managesieve_store_error session={} op={} detail={}",
              transport_.info().session_id, what, core::quote(s.to_string()));
  no("TRYLATER", "Temporary failure of the script store, try again later");
}

Awaitable Session::run() {
  const std::string& sid = transport_.info().session_id;
  MR_LOG_INFO("event=managesieve_connect session={} remote={} tls={}", sid,
              transport_.info().remote_ip, transport_.is_tls());
  send(capabilities());
  ok(services_.hostname.empty() ? "ManageSieve ready" : services_.hostname + " ManageSieve ready");
  const char* end_reason = "logout";
  proto::Assembler assembler(options_.max_literal);
  while (!close_) {
    if (transport_.buffered() == 0) {
      bool flushed = co_await transport_.flush();
      if (!flushed) {
        end_reason = "write_error";
        break;
      }
    }
    assembler.reset();
    std::string line;
    net::ReadStatus rs = co_await transport_.read_command(line, proto::kMaxLine);
    proto::Assembler::Need need = proto::Assembler::Need::error;
    bool broken = false;
    while (true) {
      if (rs == net::ReadStatus::eof || rs == net::ReadStatus::error) {
        end_reason = rs == net::ReadStatus::eof ? "eof" : "network_error";
        broken = true;
        break;
      }
      if (rs == net::ReadStatus::timeout) {
        send("BYE \"Idle for too long\"\r\n");
        end_reason = "timeout";
        broken = true;
        break;
      }
      if (rs == net::ReadStatus::shutdown) {
        send("BYE (TRYLATER) \"Server shutting down\"\r\n");
        end_reason = "shutdown";
        broken = true;
        break;
      }
      if (rs == net::ReadStatus::too_long) {
        need = proto::Assembler::Need::error;
        break;
      }
      need = assembler.feed_line(line);
      if (need != proto::Assembler::Need::literal) break;
      std::string bytes;
      rs = co_await transport_.read_exact(bytes, assembler.literal_size());
      if (rs != net::ReadStatus::ok) continue;  // reported at the top of the loop
      assembler.feed_literal(std::move(bytes));
      rs = co_await transport_.read_line(line, proto::kMaxLine);
    }
    if (broken) break;
    if (rs == net::ReadStatus::too_long) {
      no("", "Line too long");
      continue;
    }
    if (need == proto::Assembler::Need::error) {
      bool script =
          assembler.command().name == "PUTSCRIPT" || assembler.command().name == "CHECKSCRIPT";
      if (assembler.error() == "Literal too large") {
        if (!assembler.discard_literal()) {
          send("BYE \"Literal too large\"\r\n");
          end_reason = "literal_too_large";
          break;
        }
        // Read and drop the announced octets and the rest of their line, then answer.
        std::string junk;
        size_t left = assembler.literal_size();
        net::ReadStatus ds = net::ReadStatus::ok;
        while (left > 0 && ds == net::ReadStatus::ok) {
          size_t n = std::min<size_t>(left, 65536);
          ds = co_await transport_.read_exact(junk, n);
          left -= n;
        }
        if (ds == net::ReadStatus::ok) ds = co_await transport_.read_line(junk, proto::kMaxLine);
        if (ds != net::ReadStatus::ok && ds != net::ReadStatus::too_long) {
          end_reason = "eof";
          break;
        }
        no(script ? "QUOTA/MAXSIZE" : "", script ? "Script too large" : "Literal too large");
        continue;
      }
      no("", assembler.error());
      continue;
    }
    proto::Command& cmd = assembler.command();
    const CommandTable::Entry* e = CommandTable::find(cmd.name);
    if (!e) {
      no("", "Unknown command");
    } else if (authenticated_ ? !e->after_login : !e->before_login) {
      no("", authenticated_ ? "Not allowed after authentication" : "Authenticate first");
    } else if (cmd.args.size() < e->min_args || cmd.args.size() > e->max_args) {
      no("", "Wrong number of arguments");
    } else {
      co_await (this->*(e->handler))(cmd.args);
    }
  }
  co_await transport_.flush();
  MR_LOG_INFO("event=managesieve_disconnect session={} reason={} account={}", sid, end_reason,
              principal_.account_id.empty() ? "-" : principal_.account_id);
}

Awaitable Session::cmd_capability(const Args&) {
  send(capabilities());
  ok("Capability completed");
  co_return;
}

Awaitable Session::cmd_noop(const Args& a) {
  // RFC 5804 2.13: the optional argument comes back as a TAG response code.
  if (!a.empty()) {
    send("OK (TAG " + proto::quote(a[0].text) + ") \"Done\"\r\n");
  } else {
    ok("Done");
  }
  co_return;
}

Awaitable Session::cmd_logout(const Args&) {
  ok("Logout completed");
  close_ = true;
  co_return;
}

Awaitable Session::cmd_unauthenticate(const Args&) {
  authenticated_ = false;
  principal_ = auth::Principal{};
  ok("Unauthenticated");
  co_return;
}

Awaitable Session::cmd_starttls(const Args&) {
  if (transport_.is_tls() || !transport_.can_start_tls()) {
    no("", "STARTTLS not available");
    co_return;
  }
  ok("Begin TLS negotiation");
  bool flushed = co_await transport_.flush();
  bool secured = false;
  if (flushed) secured = co_await transport_.start_tls();
  if (!secured) {
    MR_LOG_INFO("event=managesieve_tls_failed session={}", transport_.info().session_id);
    close_ = true;
    co_return;
  }
  // RFC 5804 2.2: the server re-issues its capabilities after the TLS handshake.
  send(capabilities());
  ok("TLS negotiation successful");
}

Awaitable Session::cmd_authenticate(const Args& a) {
  auth::ClientInfo ci = client_info();
  auth::Authenticator& authenticator = *services_.authenticator;
  std::string mechanism = a[0].text;
  for (char& ch : mechanism) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto mechanisms = authenticator.mechanisms(ci);
  if (std::find(mechanisms.begin(), mechanisms.end(), mechanism) == mechanisms.end()) {
    bool plain = mechanism == "PLAIN" || mechanism == "LOGIN";
    no(plain && !transport_.is_tls() ? "ENCRYPT-NEEDED" : "",
       plain && !transport_.is_tls() ? "Use STARTTLS first" : "Unsupported mechanism");
    co_return;
  }
  std::optional<std::string> initial;
  if (a.size() == 2) initial = a[1].text.empty() ? std::string("=") : a[1].text;
  std::unique_ptr<auth::Exchange> exchange = authenticator.start(mechanism, ci);
  net::SaslFraming framing{"", options_.max_auth_response};
  framing.quoted = true;  // RFC 5804 2.1
  net::SaslResult sasl =
      co_await net::run_sasl(transport_, *services_.workers, *exchange, initial, framing);
  if (sasl.end == net::SaslEnd::closed) {
    close_ = true;
    co_return;
  }
  if (sasl.end != net::SaslEnd::done) {
    no("", sasl.end == net::SaslEnd::too_long ? "Response too long" : "Malformed initial response");
    co_return;
  }
  const auth::AuthStep& step = sasl.step;
  MR_LOG_INFO("event=managesieve_auth session={} mechanism={} result={}", ci.session_id, mechanism,
              auth::auth_outcome_name(step.outcome));
  switch (step.outcome) {
    case auth::AuthOutcome::success:
      principal_ = step.principal;
      authenticated_ = true;
      transport_.set_account(principal_.account_id, principal_.address, principal_.app_password_id);
      ok("Logged in");
      co_return;
    case auth::AuthOutcome::unavailable:
    case auth::AuthOutcome::throttled:
      no("TRYLATER", "Authentication temporarily unavailable, try again later");
      co_return;
    case auth::AuthOutcome::encryption_required:
      no("ENCRYPT-NEEDED", "Use STARTTLS first");
      co_return;
    case auth::AuthOutcome::cancelled:
      no("", "Authentication cancelled");
      co_return;
    default:
      no("", "Authentication failed");
      co_return;
  }
}

namespace {

boost::asio::awaitable<void> run_session(net::Transport& transport, core::Services& services,
                                         std::shared_ptr<const Options> options) {
  transport.set_idle_timeout(std::chrono::seconds(options->idle_timeout_seconds));
  Session session(transport, services, *options);
  co_await session.run();
}

}  // namespace

net::SessionHandler make_session_handler(core::Services& services, const Options& options) {
  auto shared = std::make_shared<const Options>(options);
  net::SessionHandler handler;
  handler.run = [&services, shared](net::Transport& c) { return run_session(c, services, shared); };
  handler.login_timeout = std::chrono::seconds(options.login_timeout_seconds);
  handler.reject = [](net::RejectReason reason) -> std::string {
    switch (reason) {
      case net::RejectReason::too_many_connections:
        return "BYE (TRYLATER) \"Too many connections\"\r\n";
      case net::RejectReason::too_many_from_ip:
        return "BYE (TRYLATER) \"Too many connections from your address\"\r\n";
      case net::RejectReason::blocked_ip:
        return "BYE \"Access denied\"\r\n";
      case net::RejectReason::shutting_down:
        return "BYE (TRYLATER) \"Server shutting down\"\r\n";
    }
    return "BYE (TRYLATER) \"Try again later\"\r\n";
  };
  return handler;
}

}  // namespace mailroom::managesieve
