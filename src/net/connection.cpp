#include "src/net/connection.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "src/core/log.h"
#include "src/net/deflate_layer.h"
#include "src/net/protocol_trace.h"

namespace mailroom::net {

namespace {
constexpr std::size_t kReadChunk = 16384;
// Bytes kept in a buffer between reads; larger buffers are released when drained so an idle
// session holds almost no memory.
constexpr std::size_t kKeepCapacity = 4096;
// A literal or BDAT chunk gets a fresh idle timeout after each this many bytes.
constexpr std::size_t kProgressBytes = 65536;

// A BIO over the connection's non-blocking socket: recv/send with MSG_NOSIGNAL (OpenSSL's own
// socket BIO uses write(), which raises SIGPIPE on a closed connection), EAGAIN reported as a
// retry so SSL_read/SSL_write answer WANT_READ/WANT_WRITE and the connection waits on the
// socket with Asio.
int bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

int bio_read(BIO* b, char* out, size_t len, size_t* done) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(bio_fd(b), out, len, 0);
  if (n > 0) {
    *done = static_cast<size_t>(n);
    return 1;
  }
  if (n == 0) {
    BIO_set_flags(b, BIO_FLAGS_IN_EOF);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_read(b);
  }
  *done = 0;
  return 0;
}

int bio_write(BIO* b, const char* in, size_t len, size_t* done) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(bio_fd(b), in, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *done = static_cast<size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  *done = 0;
  return 0;
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailroom-socket");
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// The end of a TLS read or write that did not succeed.
enum class SslWait { read, write, eof, error };
SslWait classify(SSL* ssl, int ret) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return SslWait::read;
    case SSL_ERROR_WANT_WRITE:
      return SslWait::write;
    case SSL_ERROR_ZERO_RETURN:
      return SslWait::eof;
    case SSL_ERROR_SYSCALL:
      return errno == 0 || errno == ECONNRESET || errno == EPIPE ? SslWait::eof : SslWait::error;
    default:
      return SslWait::error;
  }
}
}  // namespace

void Connection::SslFree::operator()(ssl_st* ssl) const { SSL_free(ssl); }

const char* read_status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::ok:
      return "ok";
    case ReadStatus::eof:
      return "eof";
    case ReadStatus::timeout:
      return "timeout";
    case ReadStatus::too_long:
      return "too_long";
    case ReadStatus::shutdown:
      return "shutdown";
    case ReadStatus::error:
      return "error";
  }
  return "?";
}

Connection::Connection(asio::ip::tcp::socket socket, std::shared_ptr<ssl_ctx_st> tls,
                       ConnectionInfo info, std::shared_ptr<ConnectionControl> control)
    : info_(std::move(info)),
      tls_context_(std::move(tls)),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      control_(std::move(control)) {}

Connection::~Connection() {
  *alive_ = nullptr;
  close();
}

bool Connection::can_start_tls() const {
  return !tls_active_ && tls_context_ != nullptr && info_.tls_mode == TlsMode::starttls;
}

bool Connection::stopping() const { return control_ && control_->stopping(); }

std::size_t Connection::buffered() const {
  std::size_t n = buffer_.size() - buffer_pos_;
  if (tls_active_) {
    n += static_cast<std::size_t>(std::max(0, SSL_pending(ssl_.get())));
    if (n == 0 && SSL_has_pending(ssl_.get())) n = 1;  // a record not yet decrypted
  }
  if (n == 0 && deflate_ && deflate_->has_pending()) n = 1;  // not yet inflated
  return n;
}

void Connection::set_account(const std::string& account_id, const std::string& address,
                             const std::string& app_password_id) {
  clear_hard_deadline();  // the login phase is over
  if (!control_) return;
  control_->set_account(this, account_id, app_password_id, address);
  const TraceSelector* selector = control_->trace_selector();
  if (!trace_ && selector && !address.empty() && selector->matches_account(address)) {
    trace_ = std::make_shared<ProtocolTrace>(info_.session_id, info_.protocol);
    account_trace_ = true;
  }
  if (trace_) trace_->set_account(account_id);
}

void Connection::set_login_timeout(std::chrono::seconds limit) {
  login_timeout_ = limit;
  if (limit.count() > 0) set_hard_deadline(std::chrono::steady_clock::now() + limit);
}

void Connection::clear_account() {
  // The next user must not inherit the previous one's trace rule, registration or the
  // absence of a login deadline.
  if (account_trace_) trace_.reset();
  account_trace_ = false;
  if (trace_) trace_->set_account({});
  if (control_) control_->forget(this);
  if (login_timeout_.count() > 0) {
    set_hard_deadline(std::chrono::steady_clock::now() + login_timeout_);
  }
}

void ConnectionControl::set_account(Connection* c, const std::string& account_id,
                                    const std::string& app_password_id,
                                    const std::string& address) {
  const auto& info = c->info();
  Login login{account_id,
              app_password_id,
              info.session_id,
              info.protocol,
              info.remote_ip,
              address,
              static_cast<int64_t>(std::time(nullptr))};
  std::lock_guard<std::mutex> lock(mu_);
  accounts_[c] = std::move(login);
}

std::vector<ConnectionControl::SessionSummary> ConnectionControl::sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SessionSummary> out;
  out.reserve(accounts_.size());
  for (const auto& [c, l] : accounts_) {
    out.push_back(SessionSummary{l.session_id, l.protocol, l.remote_ip, l.account_id, l.address,
                                 !l.app_password_id.empty(), l.since});
  }
  return out;
}

void ConnectionControl::forget(Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.erase(c);
}

std::vector<std::string> ConnectionControl::accounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(accounts_.size());
  for (const auto& [c, login] : accounts_) ids.push_back(login.account_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<std::pair<std::string, std::string>> ConnectionControl::app_passwords() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [c, login] : accounts_) {
    if (!login.app_password_id.empty()) out.emplace_back(login.account_id, login.app_password_id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Connection*> ConnectionControl::connections_of(
    const std::string& account_id, const std::string& app_password_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Connection*> out;
  for (const auto& [c, login] : accounts_) {
    if (login.account_id != account_id) continue;
    if (!app_password_id.empty() && login.app_password_id != app_password_id) continue;
    out.push_back(c);
  }
  return out;
}

std::string Connection::tls_version() const {
  if (!tls_active_) return {};
  return SSL_get_version(ssl_.get());
}

std::string Connection::tls_cipher() const {
  if (!tls_active_) return {};
  const char* c = SSL_get_cipher_name(ssl_.get());
  return c ? c : "";
}

std::string Connection::tls_description() const {
  if (!tls_active_) return {};
  int bits = SSL_get_cipher_bits(ssl_.get(), nullptr);
  return "version=" + tls_version() + " cipher=" + tls_cipher() + " bits=" + std::to_string(bits);
}

void Connection::begin_wait(std::chrono::seconds limit, bool capped) {
  timed_out_ = false;
  hit_hard_deadline_ = false;
  waiting_ = true;
  auto now = std::chrono::steady_clock::now();
  deadline_ = capped && hard_deadline_ - now < limit ? hard_deadline_ : now + limit;
  // Armed for a later time only if the deadline moved earlier meanwhile.
  if (!timer_armed_ || armed_for_ > deadline_) arm_timer(deadline_);
}

void Connection::arm_timer(std::chrono::steady_clock::time_point at) {
  timer_armed_ = true;
  armed_for_ = at;
  timer_.expires_at(at);
  // A timer that expired just before this Connection was destroyed still runs its handler
  // with success, after the destructor: the handler reaches `this` only through `alive_`,
  // which the destructor clears (both run on this connection's executor).
  timer_.async_wait([alive = alive_](const boost::system::error_code& ec) {
    Connection* self = *alive;
    if (ec || !self) return;
    self->on_timer();
  });
}

void Connection::on_timer() {
  timer_armed_ = false;
  if (!waiting_) return;  // the next wait arms it again
  auto now = std::chrono::steady_clock::now();
  if (now < deadline_) {
    arm_timer(deadline_);  // the deadline moved since the timer was set
    return;
  }
  timed_out_ = true;
  hit_hard_deadline_ = now >= hard_deadline_;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void Connection::interrupt_if_idle() {
  interrupted_ = true;
  if (in_command_wait_ && buffered() == 0) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
}

asio::awaitable<bool> Connection::wait_socket(bool for_write, boost::system::error_code& ec) {
  co_await socket_.async_wait(
      for_write ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read,
      asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && !closed_;
}

// The caller has called begin_wait(): the wait for the client ends at deadline_.
asio::awaitable<ReadStatus> Connection::fill() {
  if (closed_) co_return ReadStatus::eof;
  if (buffer_pos_ == buffer_.size()) {
    buffer_pos_ = 0;
    if (buffer_.capacity() > kKeepCapacity) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
  }
  if (!deflate_) co_return co_await fill_stream();
  // RFC 4978: inflate what was read, at most kReadChunk octets at a time, so a small stream
  // that expands a thousandfold meets read_line's and read_exact's limits chunk by chunk.
  for (;;) {
    std::size_t old = buffer_.size();
    if (!deflate_->inflate(buffer_, kReadChunk)) {
      MR_LOG_WARN("event=compress_stream_corrupt session={}", info_.session_id);
      co_return ReadStatus::error;
    }
    if (buffer_.size() > old) co_return ReadStatus::ok;
    ReadStatus st = co_await fill_stream();
    if (st != ReadStatus::ok) co_return st;
    deflate_->feed(std::string_view(buffer_).substr(old));
    buffer_.resize(old);
  }
}

asio::awaitable<ReadStatus> Connection::fill_stream() {
  if (tls_active_) co_return co_await fill_tls();
  boost::system::error_code ec;
  // Wait for readability before allocating a read buffer: idle sessions cost no buffer.
  co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
  std::size_t n = 0;
  if (!ec) {
    std::size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    auto buf = asio::buffer(buffer_.data() + old, kReadChunk);
    n = co_await socket_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    buffer_.resize(old + n);
  }
  if (n > 0) co_return ReadStatus::ok;
  if (timed_out_) co_return ReadStatus::timeout;
  if (ec == asio::error::operation_aborted && interrupted_) co_return ReadStatus::shutdown;
  if (ec == asio::error::eof || ec == asio::error::connection_reset) co_return ReadStatus::eof;
  co_return ec ? ReadStatus::error : ReadStatus::eof;
}

// Asks OpenSSL first and waits on the socket only when it wants more bytes: several records
// may have arrived in one TCP segment, and OpenSSL may hold decrypted or undecrypted bytes
// that a readiness wait on the socket would never report (the stall of issue 24).
asio::awaitable<ReadStatus> Connection::fill_tls() {
  SSL* ssl = ssl_.get();
  // Idle sessions wait for the socket before they allocate a read buffer.
  bool need_wait = !SSL_has_pending(ssl);
  bool wait_for_write = false;
  for (;;) {
    if (need_wait) {
      boost::system::error_code ec;
      bool ready = co_await wait_socket(wait_for_write, ec);
      if (!ready) {
        if (timed_out_) co_return ReadStatus::timeout;
        if (ec == asio::error::operation_aborted && interrupted_) co_return ReadStatus::shutdown;
        co_return closed_ ? ReadStatus::eof : ReadStatus::error;
      }
    }
    std::size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    std::size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(ssl, buffer_.data() + old, kReadChunk, &n);
    if (r == 1) {
      buffer_.resize(old + n);
      co_return ReadStatus::ok;
    }
    SslWait w = classify(ssl, r);
    buffer_.resize(old);
    if (old == 0 && buffer_.capacity() > kKeepCapacity) std::string().swap(buffer_);
    switch (w) {
      case SslWait::read:
        need_wait = true;
        wait_for_write = false;
        continue;
      case SslWait::write:
        need_wait = true;
        wait_for_write = true;
        continue;
      case SslWait::eof:
        co_return ReadStatus::eof;
      case SslWait::error:
        co_return ReadStatus::error;
    }
  }
}

asio::awaitable<ReadStatus> Connection::read_line(std::string& line, std::size_t max_length,
                                                  bool* bare_lf) {
  line.clear();
  std::size_t scanned = 0;  // bytes after buffer_pos_ already searched for '\n'
  bool discarding = false;
  bool waiting = false;   // the line's deadline runs from its first wait, not per byte
  char last_dropped = 0;  // while discarding: the last byte dropped (a CR before the LF?)
  ReadStatus result = ReadStatus::ok;
  for (;;) {
    const char* base = buffer_.data() + buffer_pos_;
    std::size_t avail = buffer_.size() - buffer_pos_;
    const void* nl = avail > scanned ? std::memchr(base + scanned, '\n', avail - scanned) : nullptr;
    if (nl) {
      std::size_t i = static_cast<const char*>(nl) - base;  // offset of '\n'
      std::size_t end = i;
      char before = end > 0 ? base[end - 1] : last_dropped;
      bool lf_only = before != '\r';
      if (!lf_only && end > 0) --end;
      std::size_t consumed = i + 1;
      if (discarding || end > max_length) {
        buffer_pos_ += consumed;
        // Even for a discarded line the caller learns how it ended: SMTP DATA needs it to
        // tell CRLF.CRLF from <LF>.<CR><LF>.
        if (bare_lf) *bare_lf = lf_only;
        result = ReadStatus::too_long;
        break;
      }
      line.assign(base, end);
      buffer_pos_ += consumed;
      if (bare_lf) *bare_lf = lf_only;
      if (trace_) trace_input(line);
      break;
    }
    if (avail > max_length + 1) {
      // Too long already: drop what we have and keep discarding to the end of the line.
      discarding = true;
      last_dropped = buffer_.back();
      buffer_pos_ = buffer_.size();
      scanned = 0;
    } else {
      scanned = avail;
    }
    if (!waiting) {
      begin_wait();
      waiting = true;
    }
    ReadStatus st = co_await fill();
    if (st != ReadStatus::ok) {
      result = st;
      break;
    }
  }
  if (waiting) end_wait();
  co_return result;
}

asio::awaitable<ReadStatus> Connection::read_command(std::string& line, std::size_t max_length,
                                                     bool* bare_lf) {
  if (stopping() && buffered() == 0) co_return ReadStatus::shutdown;
  in_command_wait_ = true;
  ReadStatus st = co_await read_line(line, max_length, bare_lf);
  in_command_wait_ = false;
  co_return st;
}

asio::awaitable<ReadStatus> Connection::read_exact(std::string& out, std::size_t n) {
  if (trace_) trace_->literal(n);
  bool waiting = false;
  std::size_t since_progress = 0;
  ReadStatus result = ReadStatus::ok;
  while (n > 0) {
    std::size_t avail = buffer_.size() - buffer_pos_;
    if (avail == 0) {
      // A fresh idle timeout after every kProgressBytes: a large literal over a slow link
      // goes on, a client that stops sending does not.
      if (!waiting || since_progress >= kProgressBytes) {
        begin_wait();
        waiting = true;
        since_progress = 0;
      }
      ReadStatus st = co_await fill();
      if (st != ReadStatus::ok) {
        result = st;
        break;
      }
      continue;
    }
    std::size_t take = std::min(avail, n);
    out.append(buffer_, buffer_pos_, take);
    buffer_pos_ += take;
    n -= take;
    since_progress += take;
  }
  if (waiting) end_wait();
  co_return result;
}

asio::awaitable<bool> Connection::flush_with(std::string_view tail) {
  if (out_.empty() && tail.empty()) co_return true;
  if (closed_) co_return false;
  if (trace_) {
    trace_output();
    if (!tail.empty()) trace_->server(tail);
  }
  if (deflate_) {
    // RFC 4978 4: every burst ends with a sync flush (IDLE's continuation and untagged
    // responses must reach a client that waits for them).
    std::string z;
    deflate_->compress(out_, false, z);
    deflate_->compress(tail, true, z);
    out_.swap(z);
    tail = {};
  }
  boost::system::error_code ec;
  bool ok = true;
  // Not capped by the hard deadline: the goodbye after it must still go out.
  begin_wait(idle_timeout_, /*capped=*/false);
  if (tls_active_) {
    SSL* ssl = ssl_.get();
    const std::array<std::string_view, 2> parts{out_, tail};
    for (std::string_view data : parts) {
      std::size_t off = 0;
      while (ok && off < data.size()) {
        std::size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_write_ex(ssl, data.data() + off, data.size() - off, &n);
        if (r == 1) {
          off += n;
          continue;
        }
        SslWait w = classify(ssl, r);
        if (w != SslWait::read && w != SslWait::write)
          ok = false;
        else  // not inside && (GCC 12 coroutine rules, DESIGN.md)
          ok = co_await wait_socket(w == SslWait::write, ec);
      }
    }
  } else {
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out_), asio::buffer(tail)};
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    ok = !ec;
  }
  end_wait();
  if (out_.capacity() > kKeepCapacity) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  co_return ok;
}

asio::awaitable<bool> Connection::start_tls(std::chrono::seconds limit) {
  if (tls_active_ || !tls_context_ || closed_) co_return false;
  // RFC 3207 section 4.2 / RFC 2595 section 3.1: anything the client sent after the STARTTLS
  // command in clear text is discarded (CVE-2011-0411).
  buffer_.clear();
  buffer_pos_ = 0;
  ERR_clear_error();
  ssl_.reset(SSL_new(tls_context_.get()));
  BIO* bio = ssl_ ? BIO_new(socket_bio_method()) : nullptr;
  if (!bio) {
    close();
    co_return false;
  }
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.native_handle())));
  SSL_set_bio(ssl_.get(), bio, bio);
  SSL_set_accept_state(ssl_.get());
  // One deadline for the whole handshake: a ClientHello trickled a byte at a time does not
  // hold the connection open.
  begin_wait(limit);
  bool ok = false;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) {
      ok = true;
      break;
    }
    SslWait w = classify(ssl_.get(), r);
    if (w != SslWait::read && w != SslWait::write) break;
    if (!co_await wait_socket(w == SslWait::write, ec)) break;
  }
  end_wait();
  if (!ok) {
    close();
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

void Connection::release_buffers() {
  // std::string keeps its capacity on clear(); a swap with an empty one gives it back (the
  // small-string buffer inside the object is all that stays).
  if (buffer_pos_ == buffer_.size()) {
    std::string().swap(buffer_);
    buffer_pos_ = 0;
  }
  if (out_.empty()) std::string().swap(out_);
  // With SSL_MODE_RELEASE_BUFFERS (tls.cpp) OpenSSL frees its record buffers once they are
  // empty; SSL_free_buffers() gives them back now if anything kept them.
  if (tls_active_) SSL_free_buffers(ssl_.get());
}

std::size_t Connection::buffer_capacity() const {
  // Beyond the small-string buffer inside the object: what the heap holds for them.
  auto heap = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() : 0;
  };
  return heap(buffer_) + heap(out_);
}

bool Connection::start_compress() {
  if (deflate_ || closed_) return false;
  deflate_ = DeflateLayer::create();
  if (!deflate_) return false;
  // A client that compresses right after its COMPRESS command may have pipelined some already.
  if (buffer_pos_ < buffer_.size()) deflate_->feed(std::string_view(buffer_).substr(buffer_pos_));
  buffer_.clear();
  buffer_pos_ = 0;
  return true;
}

std::size_t Connection::compress_memory() const { return deflate_ ? deflate_->memory() : 0; }

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  if (tls_active_) {
    // A best-effort close_notify (RFC 8446 6.1); the socket is non-blocking, nothing waits.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Connection::trace_input(std::string_view line) { trace_->client(line, secret_input_); }

void Connection::trace_output() { trace_->server(out_); }

}  // namespace mailroom::net
