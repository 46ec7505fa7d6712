#include "src/filter/clamd_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/filter/clamd_protocol.h"

namespace mailroom::filter {

using Clock = std::chrono::steady_clock;

struct ClamdClient::Connection {
  int fd = -1;
  uint64_t next_id = 1;  // clamd numbers a session's commands from 1
  Clock::time_point last_used;
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

enum class Io { ok, timeout, closed };

Io send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) return Io::timeout;
      continue;
    }
    return Io::closed;
  }
  return Io::ok;
}

// One NUL-terminated reply (without the NUL), at most clamd::kMaxReply bytes.
Io read_reply(int fd, std::string* out, Clock::time_point deadline) {
  out->clear();
  char buf[512];
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) return Io::timeout;
    // Reads byte runs up to the NUL only: what follows belongs to no request of ours.
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return Io::closed;
    const void* nul = std::memchr(buf, '\0', static_cast<size_t>(n));
    size_t take =
        nul ? static_cast<size_t>(static_cast<const char*>(nul) - buf) + 1 : static_cast<size_t>(n);
    ssize_t got = ::recv(fd, buf, take, 0);
    if (got <= 0) return Io::closed;
    out->append(buf, static_cast<size_t>(got));
    if (nul && static_cast<size_t>(got) == take) {
      out->pop_back();
      return Io::ok;
    }
    if (out->size() > clamd::kMaxReply) return Io::closed;
  }
}

int connect_with_timeout(const sockaddr* sa, socklen_t len, int family,
                         std::chrono::milliseconds timeout, std::string* error) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  if (::connect(fd, sa, len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (!wait_for(fd, POLLOUT, Clock::now() + timeout)) {
    *error = "connect: timed out";
    ::close(fd);
    return -1;
  }
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) {
    *error = std::string("connect: ") + std::strerror(err);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ClamdClient::ClamdClient(ClamdOptions options) : options_(std::move(options)) {}
ClamdClient::~ClamdClient() = default;

size_t ClamdClient::idle_connections() {
  std::lock_guard lock(mu_);
  return idle_.size();
}

std::unique_ptr<ClamdClient::Connection> ClamdClient::take_idle() {
  std::lock_guard lock(mu_);
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (Clock::now() - c->last_used < options_.max_idle_time) return c;
  }
  return nullptr;
}

void ClamdClient::give_back(std::unique_ptr<Connection> c) {
  c->last_used = Clock::now();
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(c));
}

std::unique_ptr<ClamdClient::Connection> ClamdClient::connect(std::string* error) {
  const std::string& a = options_.address;
  int fd = -1;
  if (!a.empty() && a[0] == '/') {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (a.size() >= sizeof sun.sun_path) {
      *error = "socket path too long";
      return nullptr;
    }
    std::memcpy(sun.sun_path, a.data(), a.size());
    fd = connect_with_timeout(reinterpret_cast<sockaddr*>(&sun), sizeof sun, AF_UNIX,
                              options_.connect_timeout, error);
  } else {
    size_t colon = a.rfind(':');
    if (colon == std::string::npos) {
      *error = "address is neither a socket path nor host:port";
      return nullptr;
    }
    std::string host = a.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    // A numeric address in practice (clamd runs next to us); a name is resolved once per
    // connection, on the worker pool.
    int rc = ::getaddrinfo(host.c_str(), a.substr(colon + 1).c_str(), &hints, &res);
    if (rc != 0) {
      *error = std::string("resolve: ") + gai_strerror(rc);
      return nullptr;
    }
    for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
      fd = connect_with_timeout(ai->ai_addr, ai->ai_addrlen, ai->ai_family,
                                options_.connect_timeout, error);
    }
    ::freeaddrinfo(res);
  }
  if (fd < 0) return nullptr;
  auto c = std::make_unique<Connection>();
  c->fd = fd;
  if (send_all(fd, clamd::kIdSession, Clock::now() + options_.connect_timeout) != Io::ok) {
    *error = "cannot start a session";
    return nullptr;
  }
  return c;
}

EngineVerdict ClamdClient::scan(std::string_view data) {
  if (data.size() > options_.stream_max_length) {
    return EngineVerdict::error("message of " + std::to_string(data.size()) +
                                " bytes exceeds clamd's StreamMaxLength (" +
                                std::to_string(options_.stream_max_length) + ")");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = take_idle();
    bool reused = conn != nullptr;
    if (!conn) {
      std::string error;
      conn = connect(&error);
      if (!conn) return EngineVerdict::error("clamd " + options_.address + ": " + error);
    }
    auto deadline = Clock::now() + options_.scan_timeout;
    uint64_t id = conn->next_id++;
    Io io = send_all(conn->fd, clamd::kInstream, deadline);
    for (size_t pos = 0; io == Io::ok && pos < data.size(); pos += options_.chunk_size) {
      std::string_view chunk = data.substr(pos, options_.chunk_size);
      io = send_all(conn->fd, clamd::chunk_header(static_cast<uint32_t>(chunk.size())), deadline);
      if (io == Io::ok) io = send_all(conn->fd, chunk, deadline);
    }
    if (io == Io::ok) io = send_all(conn->fd, clamd::chunk_header(0), deadline);
    std::string reply;
    if (io == Io::ok) io = read_reply(conn->fd, &reply, deadline);
    if (io == Io::closed && reused) continue;  // clamd ended the idle session: once more
    if (io == Io::timeout) return EngineVerdict::error("clamd: no verdict within the scan timeout");
    if (io == Io::closed) return EngineVerdict::error("clamd closed the connection");
    clamd::Reply r = clamd::parse_reply(reply, id);
    switch (r.kind) {
      case clamd::Reply::Kind::clean:
        give_back(std::move(conn));
        return EngineVerdict::clean();
      case clamd::Reply::Kind::infected:
        give_back(std::move(conn));
        return EngineVerdict::infected(r.signature);
      case clamd::Reply::Kind::error:
        return EngineVerdict::error("clamd: " + r.detail);  // the session may be over: dropped
      case clamd::Reply::Kind::malformed:
        return EngineVerdict::error("clamd: unexpected reply (" + r.detail + ")");
    }
  }
  return EngineVerdict::error("clamd closed the connection");
}

}  // namespace mailroom::filter
