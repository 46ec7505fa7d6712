// clamd's protocol (src/filter/clamd_protocol.h) on raw wire strings, and the client
// (src/filter/clamd_client.h) against a scripted clamd on a Unix socket: INSTREAM framing,
// session ids, the idle pool, a session clamd closed, timeouts, limits, hostile replies.
#include "src/filter/clamd_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "src/filter/clamd_protocol.h"

namespace mailroom::filter {
namespace {

using clamd::Reply;

TEST(ClamdProtocol, ChunkHeaderIsBigEndian) {
  EXPECT_EQ(clamd::chunk_header(0), std::string("\0\0\0\0", 4));
  EXPECT_EQ(clamd::chunk_header(0x01020304), "\x01\x02\x03\x04");
  EXPECT_EQ(clamd::chunk_header(65536), std::string("\0\x01\0\0", 4));
}

TEST(ClamdProtocol, FrameInstreamSplitsIntoChunksAndEndsWithZero) {
  EXPECT_EQ(clamd::frame_instream("", 4), std::string("\0\0\0\0", 4));
  EXPECT_EQ(clamd::frame_instream("abcdefghij", 4), std::string("\0\0\0\x04"
                                                                "abcd"
                                                                "\0\0\0\x04"
                                                                "efgh"
                                                                "\0\0\0\x02"
                                                                "ij"
                                                                "\0\0\0\0",
                                                                26));
}

TEST(ClamdProtocol, ParsesTheRepliesClamdSends) {
  struct Case {
    std::string wire;
    uint64_t id;
    Reply::Kind kind;
    std::string name;
  };
  const Case cases[] = {
      {"stream: OK", 0, Reply::Kind::clean, ""},
      {"1: stream: OK", 1, Reply::Kind::clean, ""},
      {"stream: Eicar-Test-Signature FOUND", 0, Reply::Kind::infected, "Eicar-Test-Signature"},
      {"7: stream: Mailroom.Test.Custom.UNOFFICIAL FOUND", 7, Reply::Kind::infected,
       "Mailroom.Test.Custom.UNOFFICIAL"},
      {"INSTREAM size limit exceeded. ERROR", 0, Reply::Kind::error, ""},
      {"2: INSTREAM size limit exceeded. ERROR", 2, Reply::Kind::error, ""},
      {"stream: Can't allocate memory ERROR", 0, Reply::Kind::error, ""},
  };
  for (const auto& c : cases) {
    Reply r = clamd::parse_reply(c.wire, c.id);
    EXPECT_EQ(r.kind, c.kind) << c.wire;
    EXPECT_EQ(r.signature, c.name) << c.wire;
  }
}

TEST(ClamdProtocol, RejectsAnythingElse) {
  const std::pair<std::string, uint64_t> hostile[] = {
      {"", 0},
      {"stream: ok", 0},
      {"stream:OK", 0},
      {"stream: OK ", 0},
      {"stream:  FOUND", 0},
      {"stream: FOUND", 0},
      {"stream:  x FOUND", 0},     // leading space in the name
      {"stream: x\r\n FOUND", 0},  // control characters
      {std::string("stream: \xff FOUND"), 0},
      {"stream: OK", 1},     // session reply without its id
      {"2: stream: OK", 1},  // the answer to another request
      {"1:stream: OK", 1},
      {"PONG", 0},
      {" ERROR", 0},
      {"stream: " + std::string(300, 'a') + " FOUND", 0},  // name too long
      {std::string(5000, 'a') + " ERROR", 0},              // reply too long
      {std::string("stream: O\0K", 11), 0},
  };
  for (const auto& [wire, id] : hostile) {
    EXPECT_EQ(clamd::parse_reply(wire, id).kind, Reply::Kind::malformed) << wire;
  }
}

// A scripted clamd: accepts connections on a Unix socket, expects zIDSESSION, then answers
// each zINSTREAM with answer(data, id). Records what it received.
class FakeClamd {
 public:
  using Answer = std::function<std::string(const std::string& data, uint64_t id)>;
  explicit FakeClamd(Answer answer) : answer_(std::move(answer)) {
    path_ =
        (std::filesystem::temp_directory_path() / ("mr-fake-clamd-" + std::to_string(::getpid()) +
                                                   "-" + std::to_string(counter_++) + ".sock"))
            .string();
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path_.data(), path_.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeClamd() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // After each answered request the server closes the connection when this is set.
  std::atomic<bool> close_after_answer{false};
  std::atomic<int> connections{0};
  std::mutex mu;
  std::vector<std::string> received;
  std::vector<uint32_t> chunk_sizes;

 private:
  static bool read_exact(int fd, char* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections;
      char cmd[11];
      if (read_exact(c, cmd, 11) && std::string_view(cmd, 11) == clamd::kIdSession) {
        for (uint64_t id = 1;; ++id) {
          char in[10];
          if (!read_exact(c, in, 10) || std::string_view(in, 10) != clamd::kInstream) break;
          std::string data;
          bool ok = true;
          for (;;) {
            unsigned char h[4];
            if (!read_exact(c, reinterpret_cast<char*>(h), 4)) {
              ok = false;
              break;
            }
            uint32_t n =
                (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
            if (n == 0) break;
            std::string chunk(n, '\0');
            if (!read_exact(c, chunk.data(), n)) {
              ok = false;
              break;
            }
            data += chunk;
            std::lock_guard lock(mu);
            chunk_sizes.push_back(n);
          }
          if (!ok) break;
          {
            std::lock_guard lock(mu);
            received.push_back(data);
          }
          std::string reply = answer_(data, id);
          if (!reply.empty()) {
            reply.push_back('\0');
            ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
          }
          if (close_after_answer) break;
        }
      }
      ::close(c);
    }
  }

  static inline std::atomic<int> counter_{0};
  Answer answer_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

ClamdOptions options_for(const FakeClamd& server) {
  ClamdOptions o;
  o.address = server.path();
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.scan_timeout = std::chrono::milliseconds(2000);
  o.chunk_size = 7;
  return o;
}

std::string by_content(const std::string& data, uint64_t id) {
  std::string prefix = std::to_string(id) + ": ";
  if (data.find("VIRUS") != std::string::npos) return prefix + "stream: Test.Virus FOUND";
  return prefix + "stream: OK";
}

TEST(ClamdClient, StreamsTheMessageInChunksAndReadsTheVerdict) {
  FakeClamd server(by_content);
  ClamdClient client(options_for(server));
  std::string message = "Subject: hi\r\n\r\nsome body text\r\n";
  EngineVerdict v = client.scan(message);
  EXPECT_EQ(v.kind, EngineVerdict::Kind::clean) << v.detail;
  std::lock_guard lock(server.mu);
  ASSERT_EQ(server.received.size(), 1u);
  EXPECT_EQ(server.received[0], message);
  for (uint32_t n : server.chunk_sizes) EXPECT_LE(n, 7u);
  EXPECT_EQ(server.chunk_sizes.size(), (message.size() + 6) / 7);
}

TEST(ClamdClient, InfectedNamesTheSignatureAndTheSessionIsReused) {
  FakeClamd server(by_content);
  ClamdClient client(options_for(server));
  EXPECT_EQ(client.scan("clean").kind, EngineVerdict::Kind::clean);
  EngineVerdict v = client.scan("has a VIRUS inside");
  EXPECT_EQ(v.kind, EngineVerdict::Kind::infected);
  EXPECT_EQ(v.signature, "Test.Virus");
  EXPECT_EQ(client.scan("clean again").kind, EngineVerdict::Kind::clean);
  EXPECT_EQ(server.connections.load(), 1);  // ids 1, 2, 3 on one session
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST(ClamdClient, ASessionClamdClosedIsRetriedOnANewConnection) {
  FakeClamd server(by_content);
  server.close_after_answer = true;
  ClamdClient client(options_for(server));
  EXPECT_EQ(client.scan("one").kind, EngineVerdict::Kind::clean);
  EXPECT_EQ(client.scan("two").kind, EngineVerdict::Kind::clean);
  EXPECT_EQ(server.connections.load(), 2);  // the pooled one was dead: one retry
}

TEST(ClamdClient, NoAnswerIsAnErrorAfterTheScanTimeout) {
  FakeClamd server([](const std::string&, uint64_t) { return std::string(); });
  auto o = options_for(server);
  o.scan_timeout = std::chrono::milliseconds(100);
  ClamdClient client(o);
  EngineVerdict v = client.scan("data");
  EXPECT_EQ(v.kind, EngineVerdict::Kind::error);
  EXPECT_NE(v.detail.find("timeout"), std::string::npos) << v.detail;
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST(ClamdClient, HostileRepliesAreErrorsNeverClean) {
  for (std::string reply :
       std::vector<std::string>{"1: stream: OK and more", "2: stream: OK", "stream: OK",
                                "1: INSTREAM size limit exceeded. ERROR", std::string(5000, 'x')}) {
    FakeClamd server([reply](const std::string&, uint64_t) { return reply; });
    ClamdClient client(options_for(server));
    EngineVerdict v = client.scan("data");
    EXPECT_EQ(v.kind, EngineVerdict::Kind::error) << reply;
    EXPECT_EQ(client.idle_connections(), 0u) << reply;
  }
}

TEST(ClamdClient, AMessageOverStreamMaxLengthIsAnErrorAndNotSent) {
  FakeClamd server(by_content);
  auto o = options_for(server);
  o.stream_max_length = 10;
  ClamdClient client(o);
  EngineVerdict v = client.scan("eleven byte");
  EXPECT_EQ(v.kind, EngineVerdict::Kind::error);
  EXPECT_NE(v.detail.find("StreamMaxLength"), std::string::npos) << v.detail;
  EXPECT_EQ(server.connections.load(), 0);
  EXPECT_EQ(client.scan("ten bytes!").kind, EngineVerdict::Kind::clean);
}

TEST(ClamdClient, NobodyListeningIsAnError) {
  ClamdOptions o;
  o.address = "/nonexistent/clamd.sock";
  ClamdClient client(o);
  EXPECT_EQ(client.scan("x").kind, EngineVerdict::Kind::error);
  o.address = "127.0.0.1:1";  // TCP, refused
  ClamdClient tcp(o);
  EXPECT_EQ(tcp.scan("x").kind, EngineVerdict::Kind::error);
  o.address = "no-port";
  ClamdClient bad(o);
  EXPECT_EQ(bad.scan("x").kind, EngineVerdict::Kind::error);
}

}  // namespace
}  // namespace mailroom::filter
