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
// This header pulls in Asio and asio::ssl: include it only from session translation units.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailroom::net {

namespace asio = boost::asio;

enum class ReadStatus {
  ok,
  eof,        // client closed the connection
  timeout,    // idle timeout
  too_long,   // line longer than the limit (discarded)
  shutdown,   // server stopping (read_command only)
  error,      // network or TLS error
};
const char* read_status_name(ReadStatus s);

enum class TlsMode { none, starttls, implicit };

struct ConnectionInfo {
  std::string session_id;
  std::string listener;     // listener name from the config
  std::string protocol;     // "smtp", "submission", "lmtp", "imap", "pop3"
  std::string remote_ip;
  uint16_t remote_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  bool loopback = false;
  TlsMode tls_mode = TlsMode::none;  // of the listener
};

class Connection;

// The listener's side of every connection: the shutdown flag sessions observe, and which
// account each authenticated connection belongs to (so the server can close every session of
// an account the directory disables). Thread-safe.
class ConnectionControl {
 public:
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  void set_stopping() { stopping_.store(true, std::memory_order_relaxed); }

  void set_account(Connection* c, const std::string& account_id);
  void forget(Connection* c);
  // Distinct account ids with at least one open authenticated connection.
  std::vector<std::string> accounts() const;
  std::vector<Connection*> connections_of(const std::string& account_id) const;

 private:
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::unordered_map<Connection*, std::string> accounts_;
};

class Connection {
 public:
  Connection(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
             ConnectionInfo info, std::shared_ptr<ConnectionControl> control);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const ConnectionInfo& info() const { return info_; }
  bool is_tls() const { return tls_active_; }
  // Whether STARTTLS may be offered (listener allows it, TLS configured, not yet active).
  bool can_start_tls() const;
  // "version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256" (empty when not TLS).
  std::string tls_description() const;
  std::string tls_version() const;
  std::string tls_cipher() const;

  void set_idle_timeout(std::chrono::seconds timeout) { idle_timeout_ = timeout; }

  // Reads one line without its line ending. *bare_lf is set when the line ended with LF alone.
  asio::awaitable<ReadStatus> read_line(std::string& line, std::size_t max_length,
                                        bool* bare_lf = nullptr);
  // read_line that is interrupted by server shutdown between commands.
  asio::awaitable<ReadStatus> read_command(std::string& line, std::size_t max_length,
                                           bool* bare_lf = nullptr);
  // Reads exactly n bytes (IMAP literals, SMTP BDAT chunks) and appends them to `out`.
  asio::awaitable<ReadStatus> read_exact(std::string& out, std::size_t n);
  // Bytes already received but not consumed (pipelining checks).
  std::size_t buffered() const { return buffer_.size() - buffer_pos_; }

  // Adds to the output buffer; flush() sends it. write() = queue + flush.
  void queue(std::string_view data) { out_.append(data); }
  asio::awaitable<bool> flush();
  asio::awaitable<bool> write(std::string_view data);

  // Server-side TLS handshake on this connection (STARTTLS / implicit TLS).
  asio::awaitable<bool> start_tls();

  // Called by a session once its client has authenticated: the account's sessions are closed
  // when the directory disables or removes it (src/server/account_sweep.h).
  void set_account(const std::string& account_id);

  // True once the server asked sessions to finish.
  bool stopping() const;
  void close();
  // Called by the listener (on this connection's strand) when shutdown begins: a session
  // waiting in read_command is woken with ReadStatus::shutdown.
  void interrupt_if_idle();
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  asio::awaitable<ReadStatus> fill();
  // The idle timeout: every wait for the client (read, write, TLS handshake) may last
  // idle_timeout_. begin_wait() only moves a deadline; the timer is armed when none is pending
  // and re-arms itself if it fires before the deadline, so a busy session does not pay two
  // timer updates (timerfd syscalls) per command.
  void begin_wait();
  void end_wait() { waiting_ = false; }
  void arm_timer(std::chrono::steady_clock::time_point at);

  ConnectionInfo info_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  asio::ip::tcp::socket socket_;
  // Created by start_tls(): plaintext sessions carry no OpenSSL state at all, which keeps an
  // idle connection small.
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  asio::steady_timer timer_;
  std::shared_ptr<ConnectionControl> control_;
  std::chrono::seconds idle_timeout_{300};
  bool tls_active_ = false;
  bool timed_out_ = false;
  bool waiting_ = false;       // in a wait that the idle timeout applies to
  bool timer_armed_ = false;   // a timer wait is pending, for armed_for_
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
