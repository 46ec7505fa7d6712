// What a protocol session needs from its connection: the session kit's one seam. net::Connection
// (TLS, sockets, deadlines) implements it for mailroomd; unit tests drive SMTP, IMAP and POP3
// sessions through an in-memory scripted transport (tests/fakes/scripted_transport.h), without
// sockets.
//
// Contract (Connection's implementation says how):
// - read_line returns one line without its line end, at most max_length bytes; a longer line
//   is discarded to its end and reported too_long (the session answers and goes on).
//   *bare_lf, when given, tells whether the line ended with LF alone.
// - read_command is read_line that also reports shutdown when the server is stopping and the
//   client is between commands.
// - read_exact reads exactly n bytes (IMAP literals, BDAT chunks).
// - queue() buffers output; flush() sends it; false means the client is gone.
// - start_tls() discards plaintext the client pipelined after STARTTLS (RFC 3207 4.2).
// - set_account() is called once the client has authenticated (ends the login deadline,
//   registers the account -- and the app password it used, "" for none -- for revocation,
//   may start a protocol trace).
// - clear_account() undoes it when the session goes back to the not authenticated state
//   (IMAP UNAUTHENTICATE): the account is unregistered, its trace ends, the login deadline
//   runs again. Default: nothing (a transport without those).
// - set_secret_input(true) while reading credentials (SASL responses): a trace masks them.
// One transport belongs to one session coroutine; not thread-safe.
//
// Light on purpose: Asio's awaitable only, no sockets or SSL, so session files stay cheap to
// compile.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::net {

enum class ReadStatus {
  ok,
  eof,       // client closed the connection
  timeout,   // idle timeout or deadline
  too_long,  // line longer than the limit (discarded)
  shutdown,  // server stopping (read_command only)
  error,     // network or TLS error
};
const char* read_status_name(ReadStatus s);

enum class TlsMode { none, starttls, implicit };

struct ConnectionInfo {
  std::string session_id;
  std::string listener;  // listener name from the config
  std::string protocol;  // "smtp", "submission", "lmtp", "imap", "pop3"
  std::string remote_ip;
  uint16_t remote_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  bool loopback = false;
  TlsMode tls_mode = TlsMode::none;  // of the listener
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual const ConnectionInfo& info() const = 0;
  virtual bool is_tls() const = 0;
  // Whether STARTTLS may be offered (the listener allows it, TLS configured, not yet active).
  virtual bool can_start_tls() const = 0;
  // "TLSv1.3", "TLS_AES_256_GCM_SHA384" (empty when not TLS).
  virtual std::string tls_version() const = 0;
  virtual std::string tls_cipher() const = 0;
  // True once the server asked sessions to finish.
  virtual bool stopping() const = 0;

  virtual void set_idle_timeout(std::chrono::seconds timeout) = 0;
  virtual boost::asio::awaitable<ReadStatus> read_line(std::string& line, std::size_t max_length,
                                                       bool* bare_lf) = 0;
  virtual boost::asio::awaitable<ReadStatus> read_command(std::string& line, std::size_t max_length,
                                                          bool* bare_lf) = 0;
  virtual boost::asio::awaitable<ReadStatus> read_exact(std::string& out, std::size_t n) = 0;
  // Ends a read_command that waits for the client (it returns ReadStatus::shutdown): a session
  // whose other coroutine has ended it (IMAP NOTIFY sent BYE between commands) closes now,
  // not at the client's next line. Default: nothing (a transport whose reads never wait).
  virtual void interrupt_command_wait() {}
  // Bytes already received but not consumed (pipelining: answer them before flushing).
  virtual std::size_t buffered() const = 0;

  virtual void queue(std::string_view data) = 0;
  virtual boost::asio::awaitable<bool> flush() = 0;
  // Sends what queue() holds, then `tail` from the caller's buffer, which must stay unchanged
  // until this completes (bulk FETCH hands over a megabyte per batch without copying it).
  virtual boost::asio::awaitable<bool> flush_with(std::string_view tail) {
    queue(tail);
    return flush();
  }
  virtual boost::asio::awaitable<bool> start_tls() = 0;
  // COMPRESS=DEFLATE (RFC 4978): from the next read and write on, both directions are raw
  // deflate (src/net/deflate_layer.h), over TLS when it is active. The caller flushed the
  // tagged OK first. false: already compressed, or not available on this transport.
  // Frees the read and write buffers when they hold nothing (a session entering IDLE);
  // buffer_capacity() is the heap they hold (octets), for the tests of that.
  virtual void release_buffers() {}
  virtual std::size_t buffer_capacity() const { return 0; }
  virtual bool start_compress() { return false; }
  virtual bool compressed() const { return false; }

  virtual void set_account(const std::string& account_id, const std::string& address,
                           const std::string& app_password_id) = 0;
  virtual void clear_account() {}
  virtual void set_secret_input(bool secret) = 0;

  // Conveniences over the above.
  boost::asio::awaitable<ReadStatus> read_line(std::string& line, std::size_t max_length) {
    return read_line(line, max_length, nullptr);
  }
  boost::asio::awaitable<ReadStatus> read_command(std::string& line, std::size_t max_length) {
    return read_command(line, max_length, nullptr);
  }
  boost::asio::awaitable<bool> write(std::string_view data) {
    queue(data);
    return flush();
  }
};

}  // namespace mailroom::net
