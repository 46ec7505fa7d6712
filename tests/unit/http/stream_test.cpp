// Streamed responses (src/http/stream.h) through the real HTTP server on a loopback Listener:
// the head, chunks rendered after notify() from another thread, coalescing, the last chunk,
// heartbeats, rechecks, the caps, and the ends (client, account, shutdown). No worker is held
// while a stream is open: a one-thread pool keeps answering other requests.
#include "src/http/stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "src/http/server.h"
#include "src/net/listener.h"
#include "src/net/worker_pool.h"
#include "tests/fakes/loopback_client.h"

namespace mailroom::http {
namespace {

namespace asio = boost::asio;

// An HTTP client of the server (tests/fakes/loopback_client.h: 30 s receive timeout).
class RawClient : public mailroom::testing::LoopbackClient {
 public:
  explicit RawClient(uint16_t port) : LoopbackClient(port) { EXPECT_TRUE(connected()); }
  void get(const std::string& path, const std::string& user = "alice") {
    send("GET " + path + " HTTP/1.1\r\nHost: x\r\nX-User: " + user + "\r\n\r\n");
  }
};

// What the test's stream route does; shared with the test body.
struct Probe {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<Stream>> streams;
  std::atomic<int> renders{0};
  std::atomic<int> closed{0};
  bool hold_render = false;  // the next render waits until released
  bool last = false;         // renders mark their chunk last
  std::atomic<bool> allowed{true};
  std::chrono::seconds heartbeat{0};
  std::chrono::seconds recheck{0};
  std::chrono::system_clock::time_point ends_at = std::chrono::system_clock::time_point::max();

  void wait_streams(std::size_t n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return streams.size() >= n; });
  }
  void wait_closed(int n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return closed.load() >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lk(mu);
    hold_render = false;
    cv.notify_all();
  }
};

class StreamTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    auto router = std::make_shared<Router>();
    router->add("GET", "/plain", [](Request&) { return Response::text(200, "plain"); });
    router->add("GET", "/stream", [p = probe_](Request& req) {
      auto s = std::make_shared<Stream>();
      s->account_id = req.header("x-user").value_or("");
      s->render = [p] {
        std::unique_lock<std::mutex> lk(p->mu);
        int n = ++p->renders;
        p->cv.notify_all();
        p->cv.wait(lk, [&] { return !p->hold_render; });
        return Stream::Chunk{"event " + std::to_string(n) + "\n", p->last};
      };
      s->heartbeat = p->heartbeat;
      s->heartbeat_text = "beat\n";
      s->recheck = p->recheck;
      s->still_allowed = [p] { return p->allowed.load(); };
      s->ends_at = p->ends_at;
      s->on_close = [p] {
        std::lock_guard<std::mutex> lk(p->mu);
        ++p->closed;
        p->cv.notify_all();
      };
      {
        std::lock_guard<std::mutex> lk(p->mu);
        p->streams.push_back(s);
        p->cv.notify_all();
      }
      Response r;
      r.set_header("Content-Type", "text/event-stream");
      r.stream = s;
      return r;
    });
    tracker_ = std::make_shared<net::ConnectionTracker>(net::ConnectionLimits{});
    net::ListenerConfig cfg;
    cfg.name = "http";
    cfg.protocol = "http";
    listener_ = std::make_unique<net::Listener>(
        ioc_, cfg, make_session_handler(router, pool_, options), nullptr, tracker_);
    ASSERT_TRUE(listener_->open().is_ok());
    listener_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    probe_->release();
    // The test's clients are closed: let their sessions see it and end (no coroutine is left
    // for ioc_.stop() to abandon).
    for (int i = 0; i < 3000 && tracker_ && tracker_->active() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    probe_->streams.clear();  // the streams' callbacks hold the probe: break the cycle
  }
  uint16_t port() const { return listener_->port(); }

  std::shared_ptr<Probe> probe_ = std::make_shared<Probe>();
  net::WorkerPool pool_{1};
  asio::io_context ioc_;
  std::shared_ptr<net::ConnectionTracker> tracker_;
  std::unique_ptr<net::Listener> listener_;
  std::thread thread_;
};

TEST_F(StreamTest, HeadThenChunksAfterNotifyAndNoWorkerHeld) {
  start();
  RawClient c(port());
  c.get("/stream");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  std::string head = c.take();
  EXPECT_NE(head.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  probe_->wait_streams(1);
  // The pool's only worker is free: another request is answered while the stream is open.
  RawClient other(port());
  other.get("/plain");
  ASSERT_TRUE(other.read_until("plain"));
  std::thread([s = probe_->streams[0]] { s->notify(); }).join();
  ASSERT_TRUE(c.read_until("event 1\n"));
  probe_->streams[0]->notify();
  ASSERT_TRUE(c.read_until("event 2\n"));
  EXPECT_EQ(probe_->closed.load(), 0);
}

TEST_F(StreamTest, BurstWhileRenderingGivesOneMoreRender) {
  start();
  RawClient c(port());
  probe_->hold_render = true;
  c.get("/stream");
  probe_->wait_streams(1);
  auto s = probe_->streams[0];
  s->notify();
  {  // the first render is running (and held)
    std::unique_lock<std::mutex> lk(probe_->mu);
    probe_->cv.wait_for(lk, std::chrono::seconds(30), [&] { return probe_->renders >= 1; });
  }
  for (int i = 0; i < 100; ++i) s->notify();
  probe_->release();
  ASSERT_TRUE(c.read_until("event 2\n"));
  s->close();
  EXPECT_TRUE(c.read_to_close());
  EXPECT_EQ(probe_->renders.load(), 2) << c.seen();
  probe_->wait_closed(1);
  EXPECT_EQ(probe_->closed.load(), 1);
}

TEST_F(StreamTest, LastChunkEndsTheResponse) {
  start();
  probe_->last = true;
  RawClient c(port());
  c.get("/stream");
  probe_->wait_streams(1);
  probe_->streams[0]->notify();
  EXPECT_TRUE(c.read_to_close());
  EXPECT_NE(c.seen().find("event 1\n"), std::string::npos);
  probe_->wait_closed(1);
  EXPECT_EQ(probe_->closed.load(), 1);
}

TEST_F(StreamTest, HeartbeatIsSent) {
  start();
  probe_->heartbeat = std::chrono::seconds(1);
  RawClient c(port());
  c.get("/stream");
  EXPECT_TRUE(c.read_until("beat\nbeat\n"));
  EXPECT_EQ(probe_->renders.load(), 0);
}

TEST_F(StreamTest, RecheckRefusalEndsTheStream) {
  start();
  probe_->recheck = std::chrono::seconds(1);
  RawClient c(port());
  c.get("/stream");
  probe_->wait_streams(1);
  probe_->allowed = false;
  EXPECT_TRUE(c.read_to_close());
  probe_->wait_closed(1);
}

// A bearer token's expiry (ends_at): the stream ends then by itself, with no recheck, no
// heartbeat and nothing rendered to wake the writer.
TEST_F(StreamTest, EndsAtItsExpiry) {
  start();
  probe_->ends_at = std::chrono::system_clock::now() + std::chrono::seconds(1);
  RawClient c(port());
  c.get("/stream");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_TRUE(c.read_to_close());
  EXPECT_GE(std::chrono::system_clock::now(), probe_->ends_at);
  probe_->wait_closed(1);
  EXPECT_EQ(probe_->renders.load(), 0);
  // Already past: it ends at once, even with changes pending.
  probe_->ends_at = std::chrono::system_clock::now() - std::chrono::seconds(5);
  RawClient late(port());
  late.get("/stream");
  probe_->wait_streams(2);
  probe_->streams.back()->notify();
  EXPECT_TRUE(late.read_to_close());
  probe_->wait_closed(2);
  EXPECT_EQ(probe_->renders.load(), 0);
}

TEST_F(StreamTest, PerUserAndTotalCaps) {
  ServerOptions o;
  o.max_streams = 2;
  o.max_streams_per_user = 1;
  start(o);
  RawClient a(port());
  a.get("/stream", "alice");
  ASSERT_TRUE(a.read_until("\r\n\r\n"));
  RawClient a2(port());
  a2.get("/stream", "alice");
  ASSERT_TRUE(a2.read_until("\r\n\r\n"));
  EXPECT_NE(a2.seen().find("HTTP/1.1 429 "), std::string::npos) << a2.seen();
  EXPECT_NE(a2.seen().find("Retry-After: 30\r\n"), std::string::npos) << a2.seen();
  RawClient b(port());
  b.get("/stream", "bob");
  ASSERT_TRUE(b.read_until("\r\n\r\n"));
  EXPECT_NE(b.seen().find("HTTP/1.1 200 "), std::string::npos);
  RawClient c(port());
  c.get("/stream", "carol");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_NE(c.seen().find("HTTP/1.1 503 "), std::string::npos) << c.seen();
  // The refused ones were closed at once (their on_close ran); alice's end frees her slot.
  probe_->wait_closed(2);
  EXPECT_EQ(probe_->closed.load(), 2);
  probe_->wait_streams(4);
  for (auto& s : probe_->streams)
    if (s->account_id == "alice") s->close();  // the refused one's close does nothing
  EXPECT_TRUE(a.read_to_close());
  probe_->wait_closed(3);
  RawClient a3(port());
  a3.get("/stream", "alice");
  ASSERT_TRUE(a3.read_until("\r\n\r\n"));
  EXPECT_NE(a3.seen().find("HTTP/1.1 200 "), std::string::npos) << a3.seen();
}

TEST_F(StreamTest, ClosingTheAccountEndsItsStreams) {
  start();
  RawClient a(port());
  a.get("/stream", "alice");
  RawClient b(port());
  b.get("/stream", "bob");
  ASSERT_TRUE(a.read_until("\r\n\r\n"));
  ASSERT_TRUE(b.read_until("\r\n\r\n"));
  probe_->wait_streams(2);
  // The connection registers its account once the head is sent; poll until it is there.
  for (int i = 0; i < 3000 && tracker_->close_account("alice") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(a.read_to_close());
  probe_->wait_closed(1);
  EXPECT_EQ(probe_->closed.load(), 1);
  for (auto& s : probe_->streams)
    if (s->account_id == "bob") s->notify();
  EXPECT_TRUE(b.read_until("event 1\n"));
}

TEST_F(StreamTest, ClientCloseAndShutdownEndStreams) {
  start();
  {
    RawClient gone(port());
    gone.get("/stream");
    ASSERT_TRUE(gone.read_until("\r\n\r\n"));
  }
  probe_->wait_closed(1);
  EXPECT_EQ(probe_->closed.load(), 1);
  RawClient c(port());
  c.get("/stream");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  tracker_->begin_shutdown();
  EXPECT_TRUE(c.read_to_close());
  probe_->wait_closed(2);
  EXPECT_EQ(probe_->closed.load(), 2);
}

}  // namespace
}  // namespace mailroom::http
