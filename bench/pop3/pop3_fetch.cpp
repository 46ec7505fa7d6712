// One POP3 full download as a client that costs next to nothing per message (blocking POSIX
// socket, one 1 MiB receive buffer, the end of a multi-line reply found with memmem), so a
// benchmark measures the server rather than the client. Used by pop3_bench.py next to its
// Python client; the same binary drives Mailroom and Dovecot.
//
//   pop3_fetch --port P --user U --password W --expect N [--host 127.0.0.1]
//
// USER/PASS, STAT (must say N messages), UIDL, RETR 1..N, QUIT (nothing deleted). Prints one
// JSON line: {"login_s": connect to +OK for PASS, "download_s": STAT to +OK for QUIT,
// "session_s": both, "octets": body octets received}. Exit status 1 on any -ERR or I/O error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

class Client {
 public:
  Client(const char* host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host, &a.sin_addr) != 1) throw std::runtime_error("bad host");
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.resize(1 << 20);
    status();  // greeting
  }
  ~Client() { ::close(fd_); }

  // Sends a command; returns its status line; `body` gets the multi-line part if asked.
  std::string cmd(const std::string& text, std::string_view* body = nullptr) {
    std::string line = text + "\r\n";
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("send");
    }
    std::string st = status();
    if (body) *body = multiline();
    return st;
  }

 private:
  void fill() {
    if (end_ == buf_.size()) {  // compact, or grow for a message larger than the buffer
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else {
        buf_.resize(buf_.size() * 2);
      }
    }
    ssize_t n = ::recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
    if (n <= 0) throw std::runtime_error("connection closed");
    end_ += static_cast<std::size_t>(n);
  }
  std::string status() {
    std::size_t scanned = 0;  // relative to begin_ (compaction moves begin_)
    for (;;) {
      std::size_t avail = end_ - begin_;
      void* p = avail > scanned
                    ? ::memmem(buf_.data() + begin_ + scanned, avail - scanned, "\r\n", 2)
                    : nullptr;
      if (p) {
        std::size_t e = static_cast<std::size_t>(static_cast<char*>(p) - buf_.data());
        std::string line(buf_.data() + begin_, e - begin_);
        begin_ = e + 2;
        if (line.compare(0, 3, "+OK") != 0) throw std::runtime_error(line);
        return line;
      }
      scanned = avail > 0 ? avail - 1 : 0;
      fill();
    }
  }
  // The body up to the terminating ".\r\n" (valid until the next call).
  std::string_view multiline() {
    std::size_t scanned = 0;  // relative to begin_
    for (;;) {
      std::size_t avail = end_ - begin_;
      if (avail >= 3 && std::memcmp(buf_.data() + begin_, ".\r\n", 3) == 0) {
        begin_ += 3;
        return {};
      }
      void* p = avail > scanned
                    ? ::memmem(buf_.data() + begin_ + scanned, avail - scanned, "\r\n.\r\n", 5)
                    : nullptr;
      if (p) {
        std::size_t e = static_cast<std::size_t>(static_cast<char*>(p) - buf_.data());
        std::string_view body(buf_.data() + begin_, e + 2 - begin_);
        begin_ = e + 5;
        return body;
      }
      scanned = avail >= 4 ? avail - 4 : 0;
      fill();
    }
  }

  int fd_ = -1;
  std::string buf_;
  std::size_t begin_ = 0;  // unread data is [begin_, end_)
  std::size_t end_ = 0;
};

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  long expect = -1;
  std::string user, password;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--port")
      port = std::atoi(argv[i + 1]);
    else if (k == "--host")
      host = argv[i + 1];
    else if (k == "--user")
      user = argv[i + 1];
    else if (k == "--password")
      password = argv[i + 1];
    else if (k == "--expect")
      expect = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (port == 0 || user.empty() || expect < 0) {
    std::fprintf(stderr, "usage: pop3_fetch --port P --user U --password W --expect N\n");
    return 2;
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    Client c(host, port);
    c.cmd("USER " + user);
    c.cmd("PASS " + password);
    double login = since(t0);
    auto t1 = std::chrono::steady_clock::now();
    std::string st = c.cmd("STAT");
    long n = std::atol(st.c_str() + 4);
    if (n != expect) {
      std::fprintf(stderr, "expected %ld messages, server says %ld\n", expect, n);
      return 1;
    }
    std::string_view body;
    c.cmd("UIDL", &body);
    std::size_t octets = 0;
    for (long i = 1; i <= n; ++i) {
      c.cmd("RETR " + std::to_string(i), &body);
      octets += body.size();
    }
    c.cmd("QUIT");
    double download = since(t1);
    std::printf("{\"login_s\": %.6f, \"download_s\": %.6f, \"session_s\": %.6f, \"octets\": %zu}\n",
                login, download, since(t0), octets);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pop3_fetch: %s\n", e.what());
    return 1;
  }
  return 0;
}
