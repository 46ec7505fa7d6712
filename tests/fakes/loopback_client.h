// A blocking TCP client of a server under test on 127.0.0.1 (net and http unit tests over real
// loopback sockets). Every read has a 30 s receive timeout: a deadline for the server to answer
// or close, never a bound on how fast it does. A closed connection and a silent one never look
// alike (Read::eof vs Read::timeout).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

namespace mailroom::testing {

class LoopbackClient {
 public:
  // What one read of a line saw: the data, and whether it ended at the peer's end of stream
  // (eof) or because nothing came within the receive timeout (timeout).
  struct Read {
    std::string data;
    bool eof = false;
    bool timeout = false;
  };

  explicit LoopbackClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~LoopbackClient() { ::close(fd_); }
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void send(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), (ssize_t)s.size());
  }

  // Reads one line (with its CRLF), or what came before the end of stream or the timeout.
  Read read_line() {
    Read r;
    char c;
    for (;;) {
      ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n == 1) {
        r.data += c;
        if (c == '\n') return r;
        continue;
      }
      if (n == 0) {
        r.eof = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r.timeout = true;
      } else if (errno == EINTR) {
        continue;
      } else {
        r.eof = errno == ECONNRESET;  // a reset also ends the stream
      }
      return r;
    }
  }
  std::string line() { return read_line().data; }

  // Buffered reads (seen(), take()): until `text` has arrived (true) or the stream ends or
  // times out (false).
  bool read_until(const std::string& text) {
    while (buf_.find(text) == std::string::npos) {
      char b[4096];
      ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) return false;
      buf_.append(b, n);
    }
    return true;
  }
  // To the end of the stream; true when the server closed it (not a timeout).
  bool read_to_close() {
    for (;;) {
      char b[4096];
      ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      buf_.append(b, n);
    }
  }
  std::string take() { return std::exchange(buf_, {}); }
  const std::string& seen() const { return buf_; }

 private:
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace mailroom::testing
