// Connection and Listener over real loopback sockets: line limits, bare LF, literals,
// idle timeout, connection limits and graceful shutdown.
#include "src/net/connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <thread>

#include "src/net/listener.h"

namespace mailroom::net {
namespace {

namespace asio = boost::asio;

// What one read of a line saw: the data, and whether it ended at the peer's end of stream
// (eof) or because nothing came within the receive timeout (timeout). A closed connection
// and a silent one must never look alike.
struct Read {
  std::string data;
  bool eof = false;
  bool timeout = false;
};

// A blocking client socket with a receive timeout (a deadline for the server to answer or
// close, never a bound on how fast it does).
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
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

 private:
  int fd_;
  bool connected_ = false;
};

// The server ended the connection: end of stream with nothing before it, not a timeout.
void expect_closed(Client& c) {
  Read r = c.read_line();
  EXPECT_EQ(r.data, "");
  EXPECT_TRUE(r.eof) << "the connection is still open";
  EXPECT_FALSE(r.timeout) << "nothing came within the receive timeout: still open";
}

// Echo protocol: "LIT n" reads an n-byte literal; other lines are echoed with flags.
asio::awaitable<void> echo_session(Transport& c) {
  co_await c.write("HELLO\r\n");
  for (;;) {
    std::string line;
    bool bare = false;
    ReadStatus st = co_await c.read_command(line, 20, &bare);
    if (st == ReadStatus::too_long) {
      co_await c.write("TOOLONG\r\n");
      continue;
    }
    if (st != ReadStatus::ok) {
      co_await c.write(std::string("END ") + read_status_name(st) + "\r\n");
      co_return;
    }
    if (line.rfind("LIT ", 0) == 0) {
      std::string data;
      st = co_await c.read_exact(data, std::stoul(line.substr(4)));
      co_await c.write("LITERAL [" + data + "]\r\n");
      continue;
    }
    co_await c.write("ECHO " + line + (bare ? " (bare)" : "") + "\r\n");
  }
}

class ListenerTest : public ::testing::Test {
 protected:
  void start(ConnectionLimits limits, std::chrono::seconds idle = std::chrono::seconds(30)) {
    tracker_ = std::make_shared<ConnectionTracker>(limits);
    ListenerConfig cfg;
    cfg.name = "echo";
    cfg.protocol = "echo";
    cfg.idle_timeout = idle;
    SessionHandler h;
    h.run = echo_session;
    h.reject = [](RejectReason r) {
      return std::string("BUSY ") + (r == RejectReason::too_many_from_ip ? "ip" : "total") + "\r\n";
    };
    listener_ = std::make_unique<Listener>(ioc_, cfg, h, nullptr, tracker_);
    ASSERT_TRUE(listener_->open().is_ok());
    listener_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return listener_->port(); }

  asio::io_context ioc_;
  std::shared_ptr<ConnectionTracker> tracker_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

TEST_F(ListenerTest, LinesBareLfAndLiterals) {
  start({});
  Client c(port());
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.send("one\r\ntwo\nLIT 5\r\nab\tcdthree\r\n");
  EXPECT_EQ(c.line(), "ECHO one\r\n");
  EXPECT_EQ(c.line(), "ECHO two (bare)\r\n");
  EXPECT_EQ(c.line(), "LITERAL [ab\tcd]\r\n");
  EXPECT_EQ(c.line(), "ECHO three\r\n");
}

TEST_F(ListenerTest, OverlongLineIsDiscardedAndSessionContinues) {
  start({});
  Client c(port());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.send(std::string(100000, 'x') + "\r\nafter\r\n");
  EXPECT_EQ(c.line(), "TOOLONG\r\n");
  EXPECT_EQ(c.line(), "ECHO after\r\n");
  // Exactly at the limit is fine, one over is not.
  c.send(std::string(20, 'y') + "\r\n" + std::string(21, 'z') + "\r\n");
  EXPECT_EQ(c.line(), "ECHO " + std::string(20, 'y') + "\r\n");
  EXPECT_EQ(c.line(), "TOOLONG\r\n");
}

TEST_F(ListenerTest, IdleTimeoutEndsSession) {
  start({}, std::chrono::seconds(1));
  Client c(port());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  EXPECT_EQ(c.line(), "END timeout\r\n");
  expect_closed(c);
}

// Slowloris: a byte every 300 ms never completes a line; the idle timeout counts from the
// start of the line, so the session still ends (it used to be reset by every byte).
TEST_F(ListenerTest, TrickledLineStillTimesOut) {
  start({}, std::chrono::seconds(1));
  Client c(port());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  std::thread trickle([&c] {
    for (int i = 0; i < 15; ++i) {
      if (::send(c.fd(), "x", 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  EXPECT_EQ(c.line(), "END timeout\r\n");
  trickle.join();
}

TEST_F(ListenerTest, PerIpLimitAnswersWithProtocolLine) {
  start({.max_connections = 100, .max_per_ip = 2});
  Client a(port()), b(port());
  EXPECT_EQ(a.line(), "HELLO\r\n");
  EXPECT_EQ(b.line(), "HELLO\r\n");
  Client c(port());
  EXPECT_EQ(c.line(), "BUSY ip\r\n");
  expect_closed(c);
  // Still serving the others.
  a.send("ping\r\n");
  EXPECT_EQ(a.line(), "ECHO ping\r\n");
}

TEST_F(ListenerTest, TotalLimit) {
  start({.max_connections = 1, .max_per_ip = 10});
  Client a(port());
  EXPECT_EQ(a.line(), "HELLO\r\n");
  Client b(port());
  EXPECT_EQ(b.line(), "BUSY total\r\n");
}

TEST_F(ListenerTest, ShutdownWakesIdleSessionsAndRefusesNewOnes) {
  start({});
  Client a(port());
  EXPECT_EQ(a.line(), "HELLO\r\n");
  tracker_->begin_shutdown();
  EXPECT_EQ(a.line(), "END shutdown\r\n");
  Client b(port());
  EXPECT_EQ(b.line(), "BUSY total\r\n");  // shutting_down maps to the generic answer here
}

TEST_F(ListenerTest, ClientGoneMidLiteral) {
  start({});
  {
    Client c(port());
    EXPECT_EQ(c.line(), "HELLO\r\n");
    c.send("LIT 100\r\nabc");
  }
  // The server survives and serves the next client.
  Client d(port());
  EXPECT_EQ(d.line(), "HELLO\r\n");
}

}  // namespace
}  // namespace mailroom::net
