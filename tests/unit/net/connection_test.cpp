// Connection and Listener over real loopback sockets: line limits, bare LF, literals,
// idle timeout, connection limits and graceful shutdown.
#include "src/net/connection.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <thread>

#include "src/net/listener.h"
#include "src/net/protocol_trace.h"
#include "tests/fakes/loopback_client.h"

namespace mailroom::net {
namespace {

namespace asio = boost::asio;

using Client = mailroom::testing::LoopbackClient;
using Read = Client::Read;

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
    if (line == "COMPRESS") {  // the OK in clear, then RFC 4978 deflate both ways
      co_await c.write("OK\r\n");
      bool started = c.start_compress();
      co_await c.write(started ? "ON\r\n" : "AGAIN\r\n");
      continue;
    }
    if (line == "RELEASE") {  // what an IMAP session does when it enters IDLE
      std::size_t held = c.buffer_capacity();
      c.release_buffers();
      std::size_t after = c.buffer_capacity();
      co_await c.write("HELD " + std::string(held > 0 ? "some" : "none") + " AFTER " +
                       std::to_string(after) + "\r\n");
      continue;
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

// Issue 20: an idle session keeps no read or write buffer. The echo before RELEASE left
// both allocated (a 16 KiB read chunk, a reply); release_buffers() gives them back.
TEST_F(ListenerTest, ReleaseBuffersFreesBothBuffersWhenDrained) {
  start({});
  Client c(port());
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.send("LIT 40\r\n" + std::string(40, 'x'));
  EXPECT_EQ(c.line(), "LITERAL [" + std::string(40, 'x') + "]\r\n");
  c.send("RELEASE\r\n");
  EXPECT_EQ(c.line(), "HELD some AFTER 0\r\n");
  c.send("one\r\n");  // and the connection reads on as before
  EXPECT_EQ(c.line(), "ECHO one\r\n");
}

// The client's half of COMPRESS=DEFLATE (RFC 4978): raw deflate over the socket.
class DeflateClient {
 public:
  explicit DeflateClient(Client& c) : c_(c) {
    deflateInit2(&def_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    inflateInit2(&inf_, -15);
  }
  ~DeflateClient() {
    deflateEnd(&def_);
    inflateEnd(&inf_);
  }
  void send(const std::string& s) {
    std::string out(deflateBound(&def_, s.size()) + 64, '\0');
    def_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    def_.avail_in = static_cast<uInt>(s.size());
    def_.next_out = reinterpret_cast<Bytef*>(out.data());
    def_.avail_out = static_cast<uInt>(out.size());
    deflate(&def_, Z_SYNC_FLUSH);
    out.resize(out.size() - def_.avail_out);
    ::send(c_.fd(), out.data(), out.size(), MSG_NOSIGNAL);
  }
  // One decompressed line, or "" when the stream ends or stalls (receive timeout).
  std::string line() {
    for (;;) {
      std::size_t nl = plain_.find('\n');
      if (nl != std::string::npos) {
        std::string l = plain_.substr(0, nl + 1);
        plain_.erase(0, nl + 1);
        return l;
      }
      char raw[4096];
      ssize_t n = ::recv(c_.fd(), raw, sizeof raw, 0);
      if (n <= 0) return "";
      inf_.next_in = reinterpret_cast<Bytef*>(raw);
      inf_.avail_in = static_cast<uInt>(n);
      char buf[4096];
      do {
        inf_.next_out = reinterpret_cast<Bytef*>(buf);
        inf_.avail_out = sizeof buf;
        int r = inflate(&inf_, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR) return "<corrupt>";
        plain_.append(buf, sizeof buf - inf_.avail_out);
      } while (inf_.avail_in > 0 || inf_.avail_out == 0);
    }
  }

 private:
  Client& c_;
  z_stream def_{}, inf_{};
  std::string plain_;
};

TEST_F(ListenerTest, CompressDeflatesBothWaysOnceAndBombsMeetTheLineLimit) {
  start({});
  Client c(port());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.send("COMPRESS\r\n");
  EXPECT_EQ(c.line(), "OK\r\n");  // in clear
  DeflateClient z(c);
  EXPECT_EQ(z.line(), "ON\r\n");  // flushed right away: readable without more input
  z.send("one\r\nLIT 5\r\nab");
  EXPECT_EQ(z.line(), "ECHO one\r\n");
  z.send("cde");
  EXPECT_EQ(z.line(), "LITERAL [abcde]\r\n");
  // A second COMPRESS finds the layer active.
  z.send("COMPRESS\r\n");
  EXPECT_EQ(z.line(), "OK\r\n");
  EXPECT_EQ(z.line(), "AGAIN\r\n");
  // 32 MiB without a line end in a few KiB of deflate: read and dropped a chunk at a time
  // as an overlong line, then the session goes on.
  z.send(std::string(32 << 20, 'x') + "\r\nafter\r\n");
  EXPECT_EQ(z.line(), "TOOLONG\r\n");
  EXPECT_EQ(z.line(), "ECHO after\r\n");
}

TEST_F(ListenerTest, CompressedStreamThatIsCorruptEndsTheSession) {
  start({});
  Client c(port());
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.send("COMPRESS\r\n");
  EXPECT_EQ(c.line(), "OK\r\n");
  DeflateClient z(c);
  EXPECT_EQ(z.line(), "ON\r\n");
  c.send(std::string("\xff\xfe\xfd garbage\r\n", 12));
  EXPECT_EQ(z.line(), "END error\r\n");
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

// UNAUTHENTICATE (RFC 8437): clear_account() undoes set_account() -- the ConnectionControl
// entry (admin list, account sweep), the trace started for the account -- and the login
// deadline runs again. Structural: no socket I/O, no timing.
TEST(ConnectionAccount, ClearAccountForgetsTheAccountAndRearmsTheLoginDeadline) {
  asio::io_context ioc;
  auto control = std::make_shared<ConnectionControl>();
  control->set_trace_selector(std::make_shared<TraceSelector>(
      std::vector<core::Cidr>{}, std::vector<std::string>{"alice@example.com"}));
  ConnectionInfo info;
  info.session_id = "s1";
  info.protocol = "imap";
  Connection c(asio::ip::tcp::socket(ioc), nullptr, info, control);
  const auto before = std::chrono::steady_clock::now();
  c.set_login_timeout(std::chrono::seconds(60));
  EXPECT_GT(c.hard_deadline(), before);
  EXPECT_NE(c.hard_deadline(), std::chrono::steady_clock::time_point::max());

  c.set_account("acct-alice", "alice@example.com", "");
  EXPECT_EQ(control->accounts(), std::vector<std::string>{"acct-alice"});
  EXPECT_EQ(control->connections_of("acct-alice"), std::vector<Connection*>{&c});
  EXPECT_TRUE(c.tracing());
  EXPECT_EQ(c.hard_deadline(), std::chrono::steady_clock::time_point::max());

  const auto cleared_at = std::chrono::steady_clock::now();
  c.clear_account();
  EXPECT_TRUE(control->accounts().empty());
  EXPECT_TRUE(control->sessions().empty());
  EXPECT_FALSE(c.tracing()) << "the next user would be traced under alice's rule";
  EXPECT_GE(c.hard_deadline(), cleared_at + std::chrono::seconds(60));
  EXPECT_NE(c.hard_deadline(), std::chrono::steady_clock::time_point::max());

  // bob is not traced and is registered as himself.
  c.set_account("acct-bob", "bob@example.com", "");
  EXPECT_FALSE(c.tracing());
  EXPECT_EQ(control->accounts(), std::vector<std::string>{"acct-bob"});
  control->forget(&c);
}

// A trace started for the client's IP belongs to the connection: it stays.
TEST(ConnectionAccount, ClearAccountKeepsATraceForTheClientsIp) {
  asio::io_context ioc;
  auto control = std::make_shared<ConnectionControl>();
  ConnectionInfo info;
  info.session_id = "s2";
  info.protocol = "imap";
  Connection c(asio::ip::tcp::socket(ioc), nullptr, info, control);
  c.set_trace(std::make_shared<ProtocolTrace>("s2", "imap"));
  c.set_account("acct-alice", "alice@example.com", "");
  c.clear_account();
  EXPECT_TRUE(c.tracing());
  // No login timeout configured: none is armed.
  EXPECT_EQ(c.hard_deadline(), std::chrono::steady_clock::time_point::max());
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
