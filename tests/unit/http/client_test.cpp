// The blocking HTTP client (src/http/client.h) against a scripted server on a loopback port:
// kept connections are reused, a kept connection the server closed is replaced without an
// error, "Connection: close" is honoured, and oversized or malformed answers are errors.
#include "src/http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::http {
namespace {

// Answers each request with `answer(n)` (n counts requests from 0). After an answer with
// "Connection: close", or when close_after_each is set, it closes the connection.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<std::string(int)> answer, bool close_after_each = false)
      : answer_(std::move(answer)), close_after_each_(close_after_each) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  // Closes the connection being served after its current answer (an idle timeout).
  void drop_idle() { drop_ = true; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string buf;
      char tmp[4096];
      bool open = true;
      while (open && !stop_) {
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
          ssize_t n = ::read(c, tmp, sizeof tmp);
          if (n <= 0) {
            open = false;
            break;
          }
          buf.append(tmp, static_cast<size_t>(n));
        }
        if (!open) break;
        size_t body = 0;
        auto cl = buf.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) body = std::stoul(buf.substr(cl + 16));
        while (buf.size() < end + 4 + body) {
          ssize_t n = ::read(c, tmp, sizeof tmp);
          if (n <= 0) break;
          buf.append(tmp, static_cast<size_t>(n));
        }
        buf.erase(0, end + 4 + body);
        std::string a = answer_(requests_++);
        (void)!::write(c, a.data(), a.size());
        if (close_after_each_ || drop_ || a.find("Connection: close") != std::string::npos) {
          drop_ = false;
          open = false;
        }
      }
      ::close(c);
    }
  }

  std::function<std::string(int)> answer_;
  bool close_after_each_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_{false};
  std::atomic<int> connections_{0};
  int requests_ = 0;
  std::thread thread_;
};

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

ClientOptions kept() {
  ClientOptions o;
  o.max_idle = 2;
  return o;
}

TEST(HttpClient, ReusesKeptConnections) {
  ScriptedServer server([](int n) { return ok("answer " + std::to_string(n)); });
  Client client(kept());
  std::vector<bool> reused;
  for (int i = 0; i < 3; ++i) {
    ClientRequest r;
    r.method = "POST";
    r.url = server.url("/checkv2");
    r.body = "message body";
    r.headers.emplace_back("Rcpt", "a@example.com");
    auto a = client.fetch(r);
    ASSERT_EQ(a.error, "");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "answer " + std::to_string(i));
    reused.push_back(a.reused);
  }
  EXPECT_EQ(reused, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, ReplacesAKeptConnectionThePeerClosed) {
  ScriptedServer server([](int n) { return ok(std::to_string(n)); });
  Client client(kept());
  ClientRequest r;
  r.url = server.url("/");
  server.drop_idle();  // the server closes after the first answer, without saying so
  ASSERT_EQ(client.fetch(r).error, "");
  auto a = client.fetch(r);
  EXPECT_EQ(a.error, "");
  EXPECT_EQ(a.body, "1");
  EXPECT_FALSE(a.reused);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, HonoursConnectionClose) {
  ScriptedServer server([](int) {
    return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx");
  });
  Client client(kept());
  ClientRequest r;
  r.url = server.url("/");
  for (int i = 0; i < 2; ++i) {
    auto a = client.fetch(r);
    EXPECT_EQ(a.error, "");
    EXPECT_FALSE(a.reused);
  }
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, OversizedAndMalformedAnswersAreErrors) {
  ScriptedServer big([](int) { return ok(std::string(2000, 'x')); }, true);
  ClientOptions o;
  o.max_body = 1000;
  Client client(o);
  ClientRequest r;
  r.url = big.url("/");
  auto a = client.fetch(r);
  EXPECT_NE(a.error.find("body larger than 1000 bytes"), std::string::npos) << a.error;
  EXPECT_EQ(a.status, 0);

  ScriptedServer junk([](int) { return std::string("SMTP 220 hello\r\n\r\n"); }, true);
  r.url = junk.url("/");
  a = client.fetch(r);
  EXPECT_NE(a.error, "");
  EXPECT_EQ(a.status, 0);
}

TEST(HttpClient, RefusesWhatItCannotDo) {
  ClientOptions o;
  o.allow_http = false;
  Client client(o);
  ClientRequest r;
  r.url = "http://127.0.0.1:1/";
  EXPECT_NE(client.fetch(r).error.find("refused"), std::string::npos);
  r.url = "https://127.0.0.1:1/";
  EXPECT_NE(client.fetch(r).error.find("no TLS context"), std::string::npos);
  r.url = "ftp://x/";
  EXPECT_NE(client.fetch(r).error, "");
  r.url = "not a url";
  EXPECT_NE(client.fetch(r).error, "");
}

TEST(HttpClient, NothingListeningIsAnError) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // a port nobody listens on
  Client client(ClientOptions{});
  ClientRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  auto answer = client.fetch(r);
  EXPECT_NE(answer.error.find("connecting to"), std::string::npos) << answer.error;
}

}  // namespace
}  // namespace mailroom::http
