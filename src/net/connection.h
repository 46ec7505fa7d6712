// A client connection for line protocols (SMTP, LMTP, IMAP, POP3): bounded line and literal
// reads with an idle timeout, buffered writes, and a server-side TLS upgrade (STARTTLS/STLS).
//
// Contract:
// - Every read has the idle timeout set by set_idle_timeout(); on expiry the read returns
//   ReadStatus::timeout and the session should say goodbye and return.
// - read_line never buffers more than max_length bytes: a longer line is discarded up to its
//   end of line and reported as too_long, so the session can answer an error and continue.
// - read_command is read_line that also returns ReadStatus::shutdown when the server is
//   stopping and the client is between commands; sessions then send their goodbye.
// - start_tls discards any plaintext the client pipelined after STARTTLS (RFC 3207 section
//   4.2, the CVE-2011-0411 command-injection defence).
// - A Connection belongs to one session coroutine and its strand; it is not thread-safe.
//
// - TLS is OpenSSL directly over the socket (no asio::ssl stream): every read first asks
//   OpenSSL for bytes it already holds and waits on the socket only when OpenSSL wants more,
//   so records that arrived together (a handshake Finished and the first command, two
//   pipelined commands) are all served without waiting for the client again.
// - Deadlines: each wait for the client (a whole line, a literal chunk, a write, the TLS
//   handshake) must finish within the idle timeout counted from its start, not from the last
//   byte (a client sending a byte every few seconds does not keep a line open); a hard
//   deadline (set_hard_deadline, e.g. "log in within 3 minutes") caps every wait.
//
// This header pulls in Asio (no OpenSSL): include it only from session translation units.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/net/transport.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace mailroom::net {

namespace asio = boost::asio;
class ProtocolTrace;

class Connection;
class DeflateLayer;
class TraceSelector;

// The listener's side of every connection: the shutdown flag sessions observe, and which
// account each authenticated connection belongs to (so the server can close every session of
// an account the directory disables). Thread-safe.
class ConnectionControl {
 public:
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  void set_stopping() { stopping_.store(true, std::memory_order_relaxed); }

  // app_password_id: the app password the connection logged in with ("" for none).
  void set_account(Connection* c, const std::string& account_id,
                   const std::string& app_password_id = {}, const std::string& address = {});
  // An authenticated session, for the admin API's session list.
  struct SessionSummary {
    std::string session_id;
    std::string protocol;
    std::string remote_ip;
    std::string account_id;
    std::string address;
    bool app_password = false;
    int64_t since = 0;  // unix seconds of the login
  };
  std::vector<SessionSummary> sessions() const;
  void forget(Connection* c);
  // Distinct account ids with at least one open authenticated connection.
  std::vector<std::string> accounts() const;
  // Distinct (account id, app password id) of connections that logged in with an app password.
  std::vector<std::pair<std::string, std::string>> app_passwords() const;
  // The account's connections; with app_password_id, only those that logged in with it.
  std::vector<Connection*> connections_of(const std::string& account_id,
                                          const std::string& app_password_id = {}) const;

  // Which connections get a protocol trace; set once at start-up, before listeners start.
  void set_trace_selector(std::shared_ptr<const TraceSelector> s) {
    trace_selector_ = std::move(s);
  }
  const TraceSelector* trace_selector() const { return trace_selector_.get(); }

 private:
  std::shared_ptr<const TraceSelector> trace_selector_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  struct Login {
    std::string account_id;
    std::string app_password_id;
    std::string session_id;
    std::string protocol;
    std::string remote_ip;
    std::string address;
    int64_t since = 0;
  };
  std::unordered_map<Connection*, Login> accounts_;
};

class Connection final : public Transport {
 public:
  Connection(asio::ip::tcp::socket socket, std::shared_ptr<ssl_ctx_st> tls, ConnectionInfo info,
             std::shared_ptr<ConnectionControl> control);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Transport (src/net/transport.h has the contract).
  const ConnectionInfo& info() const override { return info_; }
  bool is_tls() const override { return tls_active_; }
  bool can_start_tls() const override;
  std::string tls_version() const override;
  std::string tls_cipher() const override;
  bool stopping() const override;
  void set_idle_timeout(std::chrono::seconds timeout) override { idle_timeout_ = timeout; }
  // *bare_lf is also set for a line reported too_long.
  asio::awaitable<ReadStatus> read_line(std::string& line, std::size_t max_length,
                                        bool* bare_lf) override;
  asio::awaitable<ReadStatus> read_command(std::string& line, std::size_t max_length,
                                           bool* bare_lf) override;
  asio::awaitable<ReadStatus> read_exact(std::string& out, std::size_t n) override;
  // Includes bytes the TLS layer holds.
  std::size_t buffered() const override;
  void queue(std::string_view data) override { out_.append(data); }
  asio::awaitable<bool> flush() override { return flush_with({}); }
  asio::awaitable<bool> flush_with(std::string_view tail) override;
  // STARTTLS: the handshake must complete within set_tls_handshake_timeout() from its start.
  asio::awaitable<bool> start_tls() override { return start_tls(handshake_timeout_); }
  void release_buffers() override;
  std::size_t buffer_capacity() const override;
  // Bytes the client already sent after the command are read as compressed.
  bool start_compress() override;
  bool compressed() const override { return deflate_ != nullptr; }
  // What zlib holds for this connection (0 when not compressed).
  std::size_t compress_memory() const;
  // Ends the login deadline; the account's sessions are closed when the directory disables
  // or removes it (src/server/account_sweep.h); a trace starts if [log] trace_users names
  // `address`.
  void set_account(const std::string& account_id, const std::string& address,
                   const std::string& app_password_id) override;
  // Back to the login phase: the ConnectionControl entry goes, a trace started by
  // set_account() ends (one started for the client's IP stays), and the login deadline
  // (set_login_timeout) runs again from now.
  void clear_account() override;
  void set_secret_input(bool secret) override { secret_input_ = secret; }
  using Transport::read_command;
  using Transport::read_line;

  // "version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256" (empty when not TLS).
  std::string tls_description() const;
  // Every wait ends by this time at the latest (ReadStatus::timeout); time_point::max() clears
  // it. The listener sets it at connect for protocols with a login phase
  // (SessionHandler::login_timeout); set_account() clears it.
  void set_hard_deadline(std::chrono::steady_clock::time_point at) { hard_deadline_ = at; }
  void clear_hard_deadline() { hard_deadline_ = std::chrono::steady_clock::time_point::max(); }
  std::chrono::steady_clock::time_point hard_deadline() const { return hard_deadline_; }
  // The login deadline: the hard deadline at now + limit, and again at clear_account().
  // 0 = none.
  void set_login_timeout(std::chrono::seconds limit);
  // Whether the last timeout came from the hard deadline (not from idleness).
  bool hit_hard_deadline() const { return hit_hard_deadline_; }
  void set_tls_handshake_timeout(std::chrono::seconds limit) { handshake_timeout_ = limit; }

  // Server-side TLS handshake (implicit TLS, or STARTTLS through start_tls()). It must
  // complete within `limit` from its start, however slowly the client trickles bytes.
  asio::awaitable<bool> start_tls(std::chrono::seconds limit);

  // Protocol trace (off unless set): lines read and written are logged, except that input
  // marked secret (set_secret_input: SASL responses) is masked and literals are logged by
  // size only; client lines are masked per protocol (src/net/protocol_trace.h).
  void set_trace(std::shared_ptr<ProtocolTrace> trace) { trace_ = std::move(trace); }
  bool tracing() const { return trace_ != nullptr; }

  void close();
  // Called by the listener (on this connection's strand) when shutdown begins: a session
  // waiting in read_command is woken with ReadStatus::shutdown.
  void interrupt_if_idle();
  void interrupt_command_wait() override { interrupt_if_idle(); }
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  // Reads more bytes into buffer_; the wait ends at deadline_ (set by the caller's
  // begin_wait).
  asio::awaitable<ReadStatus> fill();
  // fill() without the COMPRESS layer: appends what the socket (or TLS) delivers.
  asio::awaitable<ReadStatus> fill_stream();
  asio::awaitable<ReadStatus> fill_tls();
  // Waits until the socket is readable (or writable); false on timeout, close or error.
  asio::awaitable<bool> wait_socket(bool for_write, boost::system::error_code& ec);
  // Deadlines: begin_wait() sets the time by which the current operation (a line, a chunk, a
  // write, a handshake) must be done: now + limit, capped by the hard deadline. The timer is
  // armed when none is pending and re-arms itself if it fires before the deadline, so a busy
  // session does not pay two timer updates (timerfd syscalls) per command.
  // `capped`: the hard deadline applies (reads and handshakes; not writes).
  void begin_wait(std::chrono::seconds limit, bool capped = true);
  void begin_wait() { begin_wait(idle_timeout_); }
  void on_timer();
  void end_wait() { waiting_ = false; }
  void arm_timer(std::chrono::steady_clock::time_point at);
  void trace_input(std::string_view line);
  void trace_output();

  ConnectionInfo info_;
  std::shared_ptr<ssl_ctx_st> tls_context_;
  asio::ip::tcp::socket socket_;
  // Created by start_tls(): plaintext sessions carry no OpenSSL state at all, which keeps an
  // idle connection small.
  struct SslFree {
    void operator()(ssl_st* ssl) const;
  };
  std::unique_ptr<ssl_st, SslFree> ssl_;
  // Created by start_compress() (RFC 4978), above TLS.
  std::unique_ptr<DeflateLayer> deflate_;
  asio::steady_timer timer_;
  std::shared_ptr<ConnectionControl> control_;
  std::shared_ptr<ProtocolTrace> trace_;
  bool account_trace_ = false;  // trace_ was started by set_account (not for the IP)
  // What the timer handler reaches this Connection through; null once it is destroyed.
  std::shared_ptr<Connection*> alive_ = std::make_shared<Connection*>(this);
  std::chrono::seconds idle_timeout_{300};
  std::chrono::seconds handshake_timeout_{30};
  std::chrono::seconds login_timeout_{0};
  std::chrono::steady_clock::time_point hard_deadline_ =
      std::chrono::steady_clock::time_point::max();
  bool hit_hard_deadline_ = false;
  bool secret_input_ = false;
  bool tls_active_ = false;
  bool timed_out_ = false;
  bool waiting_ = false;      // in a wait that the idle timeout applies to
  bool timer_armed_ = false;  // a timer wait is pending, for armed_for_
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::steady_clock::time_point armed_for_{};
  bool closed_ = false;
  bool in_command_wait_ = false;
  bool interrupted_ = false;
  std::string buffer_;
  std::size_t buffer_pos_ = 0;
  std::string out_;
};

}  // namespace mailroom::net
