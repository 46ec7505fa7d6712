// The SMTP client session (RFC 5321 3, 4.1, 4.5.3.2 timeouts; RFC 3207 STARTTLS; RFC 2920
// PIPELINING; RFC 1870 SIZE; RFC 6152 8BITMIME; RFC 6531 SMTPUTF8; RFC 3461 DSN; RFC 4954
// AUTH PLAIN).
#include "src/outbound/smtp_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "src/core/address.h"
#include "src/core/base64.h"
#include "src/outbound/reply_parser.h"

namespace mailroom::outbound {
namespace asio = boost::asio;
using asio::ip::tcp;
using queue::RemoteReply;

namespace {

using Reply = SmtpReply;

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string client_status_default(int code) {
  if (code >= 500) return "5.0.0";
  if (code >= 400) return "4.0.0";
  return "2.0.0";
}

}  // namespace

// One connection to a peer. open() connects and says EHLO (STARTTLS, AUTH); send() runs one
// transaction and may be called again on the same connection (after RSET) when it is reused.
class ClientSession {
 public:
  ClientSession(asio::io_context& io, Peer peer, ClientSettings settings)
      : io_(io), peer_(std::move(peer)), settings_(std::move(settings)), socket_(io), timer_(io) {}

  // Connected and greeted; a failure result otherwise.
  asio::awaitable<std::optional<SessionResult>> open();
  asio::awaitable<SessionResult> send(const ClientMessage& message);
  // RSET before reusing a cached connection: false when the connection is not usable.
  asio::awaitable<bool> reset() {
    Reply r = co_await command("RSET", settings_.command_timeout);
    co_return r.code == 250;
  }
  asio::awaitable<void> quit() {
    if (usable_) co_await command("QUIT", settings_.command_timeout);
    usable_ = false;
  }
  // The last transaction ended in a clean state (every reply read, no timeout).
  bool usable() const { return usable_ && transactions_ < kMaxTransactions; }
  const Peer& peer() const { return peer_; }
  const std::string& certificate_problem() const { return certificate_problem_; }

 private:
  static constexpr int kMaxTransactions = 100;  // per connection, like Postfix's reuse limit

  SessionResult fail(RemoteReply::Kind kind, int code, std::string status, std::string text) {
    SessionResult r;
    r.session_failed = true;
    r.failure = RemoteReply{
        kind, code, std::move(status), std::move(text), peer_.label(), tls_version_, false, ""};
    return r;
  }
  SessionResult fail(const Reply& reply, const std::string& during) {
    return fail(reply.permanent() ? RemoteReply::Kind::permanent : RemoteReply::Kind::temporary,
                reply.code, reply.status.empty() ? client_status_default(reply.code) : reply.status,
                reply.text + " (in reply to " + during + ")");
  }
  RemoteReply to_remote(const Reply& r) const {
    RemoteReply out;
    out.kind = r.code >= 200 && r.code < 300 ? RemoteReply::Kind::delivered
               : r.permanent()               ? RemoteReply::Kind::permanent
                                             : RemoteReply::Kind::temporary;
    out.code = r.code;
    out.status = r.status.empty() ? client_status_default(r.code) : r.status;
    out.text = r.text;
    out.peer = peer_.label();
    out.tls = tls_version_;
    return out;
  }

  void arm(int64_t seconds) {
    timer_.expires_after(std::chrono::seconds(seconds));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        timed_out_ = true;
        boost::system::error_code ignored;
        socket_.lowest_layer().cancel(ignored);
        if (tls_) tls_->lowest_layer().cancel(ignored);
      }
    });
  }
  void disarm() { timer_.cancel(); }

  asio::awaitable<bool> write(const std::string& data, int64_t timeout) {
    boost::system::error_code ec;
    arm(timeout);
    if (tls_) {
      co_await asio::async_write(*tls_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(socket_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
    if (ec) error_ = timed_out_ ? "timed out writing" : "write failed: " + ec.message();
    co_return !ec;
  }

  // A complete (possibly multi-line) reply; code 0 when the connection failed or the reply
  // was unreadable (error_ says).
  asio::awaitable<Reply> read_reply(int64_t timeout) {
    while (true) {
      if (auto reply = replies_.next()) co_return std::move(*reply);
      if (replies_.failed()) {
        error_ = replies_.error();
        co_return Reply{};
      }
      char chunk[4096];
      boost::system::error_code ec;
      size_t n = 0;
      arm(timeout);
      if (tls_) {
        n = co_await tls_->async_read_some(asio::buffer(chunk),
                                           asio::redirect_error(asio::use_awaitable, ec));
      } else {
        n = co_await socket_.async_read_some(asio::buffer(chunk),
                                             asio::redirect_error(asio::use_awaitable, ec));
      }
      disarm();
      if (ec) {
        error_ =
            timed_out_ ? "timed out waiting for the reply" : "connection lost: " + ec.message();
        co_return Reply{};
      }
      replies_.feed(std::string_view(chunk, n));
    }
  }

  asio::awaitable<Reply> command(const std::string& line, int64_t timeout) {
    if (!co_await write(line + "\r\n", timeout)) co_return Reply{};
    co_return co_await read_reply(timeout);
  }

  bool has(const char* ext) const { return extensions_.has(ext); }

  asio::awaitable<Reply> hello() {
    Reply r = co_await command("EHLO " + settings_.helo, settings_.command_timeout);
    if (r.code == 250) {
      extensions_ = parse_ehlo_extensions(r.lines);
      co_return r;
    }
    if (r.code >= 500) {  // RFC 5321 3.2: fall back to HELO
      r = co_await command("HELO " + settings_.helo, settings_.command_timeout);
      extensions_ = EhloExtensions{};
    }
    co_return r;
  }

  asio::awaitable<bool> start_tls() {
    SSL_CTX* raw = settings_.tls_context.get();
    SSL_CTX_up_ref(raw);
    tls_context_.emplace(raw);  // takes the reference
    tls_.emplace(std::move(socket_), *tls_context_);
    SSL* ssl = tls_->native_handle();
    if (!peer_.host.empty() && !is_ip_literal(peer_.host)) {
      SSL_set_tlsext_host_name(ssl, peer_.host.c_str());  // SNI
    }
    if (settings_.tls == TlsLevel::verify) {
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (is_ip_literal(peer_.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, peer_.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, peer_.host.c_str(), 0);
      }
    } else {
      SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
      // Checked, not enforced: the result is read after the handshake.
      if (settings_.audit_certificate && !is_ip_literal(peer_.host)) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, peer_.host.c_str(), 0);
      }
    }
    boost::system::error_code ec;
    arm(settings_.command_timeout);
    co_await tls_->async_handshake(asio::ssl::stream_base::client,
                                   asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) {
      long verify = SSL_get_verify_result(ssl);
      error_ = "TLS handshake failed: " + ec.message();
      if (verify != X509_V_OK) {
        error_ += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
      co_return false;
    }
    tls_version_ = SSL_get_version(ssl);
    if (settings_.audit_certificate && settings_.tls != TlsLevel::verify) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) certificate_problem_ = X509_verify_cert_error_string(verify);
    }
    replies_.clear();  // RFC 3207 4.2: nothing read before the handshake counts
    co_return true;
  }

  // RFC 5321 4.5.2: dot-stuffing, and the final "." line.
  static std::string dot_stuffed(const std::string& data) {
    std::string out;
    out.reserve(data.size() + data.size() / 64 + 8);
    bool line_start = true;
    for (size_t i = 0; i < data.size(); ++i) {
      char c = data[i];
      if (line_start && c == '.') out += '.';
      if (c == '\n' && (i == 0 || data[i - 1] != '\r')) out += '\r';  // bare LF -> CRLF
      out += c;
      line_start = c == '\n';
    }
    if (!out.empty() && !line_start) out += "\r\n";
    out += ".\r\n";
    return out;
  }

  static std::string xtext(const std::string& s) {
    // RFC 3461 4: xtext. Our values arrive already encoded from the SMTP server: kept as they
    // are when they are valid xtext ("+" only before two upper-case hex digits), encoded
    // otherwise.
    bool valid = !s.empty();
    for (size_t i = 0; i < s.size() && valid; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '+') {
        valid = i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                std::isxdigit(static_cast<unsigned char>(s[i + 2])) && !std::islower(s[i + 1]) &&
                !std::islower(s[i + 2]);
        i += 2;
      } else if (c < 33 || c > 126 || c == '=') {
        valid = false;
      }
    }
    if (valid) return s;
    std::string out;
    for (unsigned char c : s) {
      if (c >= 33 && c <= 126 && c != '+' && c != '=') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "+%02X", c);
        out += buf;
      }
    }
    return out;
  }

  asio::io_context& io_;
  const Peer peer_;
  const ClientSettings settings_;
  tcp::socket socket_;
  std::optional<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  asio::steady_timer timer_;
  bool timed_out_ = false;
  ReplyParser replies_;
  std::string error_;
  std::string tls_version_;
  std::string certificate_problem_;
  EhloExtensions extensions_;
  bool usable_ = false;
  int transactions_ = 0;
};

asio::awaitable<std::optional<SessionResult>> ClientSession::open() {
  const auto temp = RemoteReply::Kind::temporary;
  // Connect.
  boost::system::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(peer_.ip, ec), peer_.port);
  if (ec) co_return fail(temp, 0, "4.4.1", "bad peer address " + peer_.ip);
  arm(settings_.connect_timeout);
  co_await socket_.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  if (ec) {
    co_return fail(temp, 0, "4.4.1",
                   timed_out_ ? "connection timed out" : "connect failed: " + ec.message());
  }
  Reply greeting = co_await read_reply(settings_.command_timeout);
  if (greeting.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (greeting)");
  if (greeting.code != 220) co_return fail(greeting, "the greeting");

  Reply ehlo = co_await hello();
  if (ehlo.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (EHLO)");
  if (ehlo.code != 250) co_return fail(ehlo, "EHLO");

  // RFC 3207: STARTTLS when offered (may) or required (encrypt, verify).
  const bool required = settings_.tls == TlsLevel::encrypt || settings_.tls == TlsLevel::verify;
  if (settings_.tls != TlsLevel::none && has("STARTTLS") && settings_.tls_context) {
    Reply r = co_await command("STARTTLS", settings_.command_timeout);
    if (r.code == 220) {
      if (!co_await start_tls()) co_return fail(temp, 0, "4.7.5", error_);
      ehlo = co_await hello();
      if (ehlo.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (EHLO after STARTTLS)");
      if (ehlo.code != 250) co_return fail(ehlo, "EHLO after STARTTLS");
    } else if (required) {
      co_return fail(temp, r.code, "4.7.5", "STARTTLS refused: " + r.text);
    }
  } else if (required) {
    co_return fail(temp, 0, "4.7.5", "TLS is required for this destination but not offered");
  }

  // RFC 4954: AUTH PLAIN towards a relay that asks for it.
  if (!settings_.user.empty()) {
    if (extensions_.auth_mechanisms.count("PLAIN") == 0) {
      co_return fail(temp, 0, "4.7.0", "the relay does not offer AUTH PLAIN");
    }
    std::string token = std::string(1, '\0') + settings_.user + '\0' + settings_.password;
    Reply r =
        co_await command("AUTH PLAIN " + core::base64_encode(token), settings_.command_timeout);
    if (r.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (AUTH)");
    // A refused login is our configuration's fault: retry (Postfix defers too), never bounce.
    if (r.code != 235) co_return fail(temp, r.code, "4.7.0", "authentication failed: " + r.text);
  }

  usable_ = true;
  co_return std::nullopt;
}

asio::awaitable<SessionResult> ClientSession::send(const ClientMessage& message) {
  const auto temp = RemoteReply::Kind::temporary;
  const auto perm = RemoteReply::Kind::permanent;
  usable_ = false;  // until this transaction ends cleanly
  ++transactions_;
  // What the message needs of the peer.
  std::shared_ptr<const std::string> data = message.data;
  bool eight_bit = message.eight_bit;
  if (message.smtputf8 && !has("SMTPUTF8")) {
    // RFC 6531 3.4: no downgrade of UTF-8 addresses; the sender is told.
    co_return fail(perm, 0, "5.6.7",
                   "the receiving server does not support SMTPUTF8 (internationalized mail)");
  }
  if (eight_bit && !has("8BITMIME")) {
    auto seven = message.downgrade ? message.downgrade() : nullptr;
    if (!seven) {
      co_return fail(perm, 0, "5.6.3",
                     "the receiving server does not accept 8-bit data and the message could "
                     "not be converted");
    }
    data = seven;
    eight_bit = false;
  }
  if (extensions_.size_limit > 0 && data->size() > extensions_.size_limit) {
    co_return fail(perm, 0, "5.3.4",
                   "message size " + std::to_string(data->size()) +
                       " exceeds the receiving server's limit of " +
                       std::to_string(extensions_.size_limit));
  }

  // MAIL, RCPT..., DATA: in one write with PIPELINING (RFC 2920 3.1), else one by one.
  const bool dsn = has("DSN");
  std::string mail = "MAIL FROM:<" + message.sender + ">";
  if (has("SIZE")) mail += " SIZE=" + std::to_string(data->size());
  if (eight_bit) mail += " BODY=8BITMIME";
  if (message.smtputf8) mail += " SMTPUTF8";
  if (dsn && !message.ret.empty()) mail += " RET=" + message.ret;
  if (dsn && !message.envid.empty()) mail += " ENVID=" + xtext(message.envid);
  std::vector<std::string> rcpts;
  for (const auto& r : message.recipients) {
    std::string line = "RCPT TO:<" + r.address + ">";
    if (dsn && !r.notify.empty()) line += " NOTIFY=" + r.notify;
    if (dsn && !r.orcpt.empty()) line += " ORCPT=" + r.orcpt;
    rcpts.push_back(std::move(line));
  }
  const bool pipelining = has("PIPELINING");
  Reply mail_reply;
  std::vector<Reply> rcpt_replies;
  Reply data_reply;
  if (pipelining) {
    std::string batch = mail + "\r\n";
    for (auto& l : rcpts) batch += l + "\r\n";
    batch += "DATA\r\n";
    if (!co_await write(batch, settings_.command_timeout)) {
      co_return fail(temp, 0, "4.4.2", error_ + " (MAIL)");
    }
    mail_reply = co_await read_reply(settings_.command_timeout);
    for (size_t i = 0; i < rcpts.size() && mail_reply.code != 0; ++i) {
      rcpt_replies.push_back(co_await read_reply(settings_.command_timeout));
      if (rcpt_replies.back().code == 0) break;
    }
    if (mail_reply.code != 0 && rcpt_replies.size() == rcpts.size() &&
        rcpt_replies.back().code != 0) {
      data_reply = co_await read_reply(settings_.command_timeout);
    }
    if (data_reply.code == 0)
      co_return fail(temp, 0, "4.4.2", error_ + " (pipelined MAIL/RCPT/DATA)");
  } else {
    mail_reply = co_await command(mail, settings_.command_timeout);
    if (mail_reply.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (MAIL)");
    if (mail_reply.code == 250) {
      for (auto& l : rcpts) {
        rcpt_replies.push_back(co_await command(l, settings_.command_timeout));
        if (rcpt_replies.back().code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (RCPT)");
      }
    }
  }
  if (mail_reply.code != 250) {
    if (pipelining && data_reply.code == 354) {
      // Nothing acceptable to send: end the DATA phase empty is not allowed; close instead.
      co_return fail(mail_reply, "MAIL FROM");
    }
    co_return fail(mail_reply, "MAIL FROM");
  }
  bool any = false;
  for (auto& r : rcpt_replies) any = any || (r.code >= 200 && r.code < 300);
  SessionResult result;
  if (!any) {
    // RFC 2920 3.1: with no accepted recipient the client must not send the message.
    for (auto& r : rcpt_replies) result.replies.push_back(to_remote(r));
    if (!pipelining || data_reply.code != 354) {
      co_await command("QUIT", settings_.command_timeout);
    }
    co_return result;
  }
  if (!pipelining) {
    data_reply = co_await command("DATA", settings_.command_timeout);
    if (data_reply.code == 0) co_return fail(temp, 0, "4.4.2", error_ + " (DATA)");
  }
  Reply final_reply;
  if (data_reply.code != 354) {
    final_reply = data_reply;
  } else {
    if (!co_await write(dot_stuffed(*data), settings_.data_timeout)) {
      co_return fail(temp, 0, "4.4.2", error_ + " (sending the message)");
    }
    final_reply = co_await read_reply(settings_.data_timeout);
    if (final_reply.code == 0) {
      // RFC 5321 6.1: we do not know whether the peer took it; retrying may duplicate it.
      co_return fail(temp, 0, "4.4.2", error_ + " (after the message was sent)");
    }
  }
  for (auto& r : rcpt_replies) {
    if (r.code >= 200 && r.code < 300) {
      auto out = to_remote(final_reply);
      out.relayed_without_dsn = !dsn && out.kind == RemoteReply::Kind::delivered;
      result.replies.push_back(std::move(out));
    } else {
      result.replies.push_back(to_remote(r));
    }
  }
  usable_ = true;
  co_return result;
}

namespace {

int tls_protocol(const std::string& name) {
  if (name == "TLSv1") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return TLS1_2_VERSION;
}

}  // namespace

SessionCache::SessionCache() = default;
SessionCache::~SessionCache() = default;

std::string SessionCache::key(const Peer& peer, const ClientSettings& settings) {
  return peer.ip + "|" + std::to_string(peer.port) + "|" + peer.host + "|" +
         std::to_string(static_cast<int>(settings.tls)) + "|" + settings.user + "|" + settings.helo;
}

std::unique_ptr<ClientSession> SessionCache::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto s = std::move(it->second.back().session);
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  --size_;
  return s;
}

bool SessionCache::put(const std::string& key, std::unique_ptr<ClientSession> session) {
  if (size_ >= max_idle_) return false;
  idle_[key].push_back(Idle{std::chrono::steady_clock::now(), std::move(session)});
  ++size_;
  return true;
}

std::vector<std::unique_ptr<ClientSession>> SessionCache::expire(std::chrono::seconds idle_limit,
                                                                 bool all) {
  std::vector<std::unique_ptr<ClientSession>> out;
  auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& v = it->second;
    for (auto e = v.begin(); e != v.end();) {
      if (all || now - e->since >= idle_limit) {
        out.push_back(std::move(e->session));
        e = v.erase(e);
        --size_;
      } else {
        ++e;
      }
    }
    it = v.empty() ? idle_.erase(it) : std::next(it);
  }
  return out;
}

asio::awaitable<void> close_session(std::unique_ptr<ClientSession> session) {
  co_await session->quit();
}

asio::awaitable<SessionResult> run_smtp_session(asio::io_context& io, const Peer& peer,
                                                const ClientSettings& settings,
                                                const ClientMessage& message, SessionCache* cache) {
  std::string key = cache ? SessionCache::key(peer, settings) : std::string();
  std::unique_ptr<ClientSession> session = cache ? cache->take(key) : nullptr;
  if (session && !co_await session->reset()) session.reset();  // gone stale: a new one
  if (!session) {
    session = std::make_unique<ClientSession>(io, peer, settings);
    if (auto failed = co_await session->open()) {
      failed->certificate_problem = session->certificate_problem();
      co_return std::move(*failed);
    }
  }
  SessionResult result = co_await session->send(message);
  result.certificate_problem = session->certificate_problem();
  if (session->usable() && cache && cache->put(key, std::move(session))) co_return result;
  if (session) co_await session->quit();
  co_return result;
}

core::Result<std::shared_ptr<ssl_ctx_st>> make_client_context(bool verify,
                                                              const std::string& ca_file,
                                                              const std::string& min_version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return core::internal_error("SSL_CTX_new failed");
  std::shared_ptr<ssl_ctx_st> out(ctx, SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx, tls_protocol(min_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (verify) {
    int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                             : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    if (ok != 1) return core::invalid_argument("cannot load TLS trust anchors from " + ca_file);
  }
  return out;
}

}  // namespace mailroom::outbound
