#include "src/net/connection.h"

#include <algorithm>

#include <openssl/ssl.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstring>

namespace mailroom::net {

namespace {
constexpr std::size_t kReadChunk = 16384;
// Bytes kept in a buffer between reads; larger buffers are released when drained so an idle
// session holds almost no memory.
constexpr std::size_t kKeepCapacity = 4096;
}  // namespace

const char* read_status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::ok: return "ok";
    case ReadStatus::eof: return "eof";
    case ReadStatus::timeout: return "timeout";
    case ReadStatus::too_long: return "too_long";
    case ReadStatus::shutdown: return "shutdown";
    case ReadStatus::error: return "error";
  }
  return "?";
}

Connection::Connection(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                       ConnectionInfo info, std::shared_ptr<ConnectionControl> control)
    : info_(std::move(info)),
      tls_context_(std::move(tls)),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      control_(std::move(control)) {}

Connection::~Connection() { close(); }

bool Connection::can_start_tls() const {
  return !tls_active_ && tls_context_ != nullptr && info_.tls_mode == TlsMode::starttls;
}

bool Connection::stopping() const { return control_ && control_->stopping(); }

void Connection::set_account(const std::string& account_id) {
  if (control_) control_->set_account(this, account_id);
}

void ConnectionControl::set_account(Connection* c, const std::string& account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_[c] = account_id;
}

void ConnectionControl::forget(Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.erase(c);
}

std::vector<std::string> ConnectionControl::accounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(accounts_.size());
  for (const auto& [c, id] : accounts_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<Connection*> ConnectionControl::connections_of(
    const std::string& account_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Connection*> out;
  for (const auto& [c, id] : accounts_) {
    if (id == account_id) out.push_back(c);
  }
  return out;
}

std::string Connection::tls_version() const {
  if (!tls_active_) return {};
  return SSL_get_version(tls_->native_handle());
}

std::string Connection::tls_cipher() const {
  if (!tls_active_) return {};
  const char* c = SSL_get_cipher_name(tls_->native_handle());
  return c ? c : "";
}

std::string Connection::tls_description() const {
  if (!tls_active_) return {};
  int bits = SSL_get_cipher_bits(tls_->native_handle(), nullptr);
  return "version=" + tls_version() + " cipher=" + tls_cipher() + " bits=" + std::to_string(bits);
}

void Connection::begin_wait() {
  timed_out_ = false;
  waiting_ = true;
  deadline_ = std::chrono::steady_clock::now() + idle_timeout_;
  // Armed for a later time only if the timeout was shortened meanwhile.
  if (!timer_armed_ || armed_for_ > deadline_) arm_timer(deadline_);
}

void Connection::arm_timer(std::chrono::steady_clock::time_point at) {
  timer_armed_ = true;
  armed_for_ = at;
  timer_.expires_at(at);
  // The handler may run after this Connection is gone only with operation_aborted (the timer
  // is cancelled by its destructor); it must not touch `this` in that case.
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    timer_armed_ = false;
    if (!waiting_) return;  // the next wait arms it again
    if (std::chrono::steady_clock::now() < deadline_) {
      arm_timer(deadline_);  // the client was active since the timer was set
      return;
    }
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
}

void Connection::interrupt_if_idle() {
  interrupted_ = true;
  if (in_command_wait_ && buffered() == 0) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
}

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
  begin_wait();
  boost::system::error_code ec;
  // Wait for readability before allocating a read buffer (idle sessions cost no buffer);
  // TLS may already hold decrypted bytes.
  bool pending_tls = tls_active_ && SSL_pending(tls_->native_handle()) > 0;
  if (!pending_tls) {
    co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
  }
  std::size_t n = 0;
  if (!ec) {
    std::size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    auto buf = asio::buffer(buffer_.data() + old, kReadChunk);
    if (tls_active_) {
      n = co_await tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await socket_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    }
    buffer_.resize(old + n);
  }
  end_wait();
  if (n > 0) co_return ReadStatus::ok;
  if (timed_out_) co_return ReadStatus::timeout;
  if (ec == asio::error::operation_aborted && interrupted_) co_return ReadStatus::shutdown;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    co_return ReadStatus::eof;
  }
  co_return ec ? ReadStatus::error : ReadStatus::eof;
}

asio::awaitable<ReadStatus> Connection::read_line(std::string& line, std::size_t max_length,
                                                  bool* bare_lf) {
  line.clear();
  std::size_t scanned = 0;  // bytes after buffer_pos_ already searched for '\n'
  bool discarding = false;
  for (;;) {
    const char* base = buffer_.data() + buffer_pos_;
    std::size_t avail = buffer_.size() - buffer_pos_;
    const void* nl = avail > scanned ? std::memchr(base + scanned, '\n', avail - scanned)
                                     : nullptr;
    if (nl) {
      std::size_t i = static_cast<const char*>(nl) - base;  // offset of '\n'
      std::size_t end = i;
      bool lf_only = !(end > 0 && base[end - 1] == '\r');
      if (!lf_only) --end;
      std::size_t consumed = i + 1;
      if (discarding || end > max_length) {
        buffer_pos_ += consumed;
        co_return ReadStatus::too_long;
      }
      line.assign(base, end);
      buffer_pos_ += consumed;
      if (bare_lf) *bare_lf = lf_only;
      co_return ReadStatus::ok;
    }
    if (avail > max_length + 1) {
      // Too long already: drop what we have and keep discarding to the end of the line.
      discarding = true;
      buffer_pos_ = buffer_.size();
      scanned = 0;
    } else {
      scanned = avail;
    }
    ReadStatus st = co_await fill();
    if (st != ReadStatus::ok) co_return st;
  }
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
  while (n > 0) {
    std::size_t avail = buffer_.size() - buffer_pos_;
    if (avail == 0) {
      ReadStatus st = co_await fill();
      if (st != ReadStatus::ok) co_return st;
      continue;
    }
    std::size_t take = std::min(avail, n);
    out.append(buffer_, buffer_pos_, take);
    buffer_pos_ += take;
    n -= take;
  }
  co_return ReadStatus::ok;
}

asio::awaitable<bool> Connection::flush() {
  if (out_.empty()) co_return true;
  if (closed_) co_return false;
  boost::system::error_code ec;
  begin_wait();
  if (tls_active_) {
    co_await asio::async_write(*tls_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(socket_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  end_wait();
  if (out_.capacity() > kKeepCapacity) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
  co_return !ec;
}

asio::awaitable<bool> Connection::write(std::string_view data) {
  queue(data);
  co_return co_await flush();
}

asio::awaitable<bool> Connection::start_tls() {
  if (tls_active_ || !tls_context_ || closed_) co_return false;
  // RFC 3207 section 4.2 / RFC 2595 section 3.1: anything the client sent after the STARTTLS
  // command in clear text is discarded (CVE-2011-0411).
  buffer_.clear();
  buffer_pos_ = 0;
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
  boost::system::error_code ec;
  begin_wait();
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
  end_wait();
  if (ec) {
    close();
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace mailroom::net
