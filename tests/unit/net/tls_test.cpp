// Connection over TLS with a client that controls where TLS records and TCP segments fall
// (OpenSSL memory BIOs over a plain socket): records that arrive together must all be served
// without waiting for the client again (issue 24), at random record and segment boundaries,
// after STARTTLS and on implicit TLS; handshake and line deadlines hold against a client that
// trickles bytes (issue 13, item 8); TLS policy refuses TLS 1.1.
#include "src/net/tls.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "src/net/connection.h"
#include "src/net/listener.h"

namespace mailroom::net {
namespace {

namespace asio = boost::asio;

// A throwaway key and self-signed certificate for localhost in a temp directory.
struct TestCert {
  std::string dir, cert, key;
  TestCert() {
    dir = std::filesystem::temp_directory_path() /
          ("mailroom-tls-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~TestCert() { std::filesystem::remove_all(dir); }
};

// A TLS client over a blocking socket whose records are produced into a memory BIO, so the
// test decides which records travel in one TCP segment.
class RecordClient {
 public:
  explicit RecordClient(uint16_t port, int max_version = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A liveness bound, not a speed test: a stalled server never answers at all.
    timeval tv{20, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (max_version) {
      SSL_CTX_set_max_proto_version(ctx_, max_version);
      SSL_CTX_set_min_proto_version(ctx_, max_version);
      SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");  // really offer it
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
  }
  ~RecordClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  bool connected() const { return connected_; }

  void send_raw(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Plaintext line before STARTTLS.
  std::string raw_line() {
    std::string out;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      out += c;
      if (c == '\n') break;
    }
    return out;
  }

  // Runs the handshake; with `hold_last_flight` the client's final flight (Finished) stays in
  // the output BIO so the next records travel in the same segment.
  bool handshake(bool hold_last_flight) {
    for (int rounds = 0; rounds < 50; ++rounds) {
      int r = SSL_do_handshake(ssl_);
      if (r == 1) {
        if (!hold_last_flight) flush_out();
        return true;
      }
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ) return false;
      flush_out();
      if (!receive_some()) return false;
    }
    return false;
  }
  // Encrypts `text` as one record into the pending output (not sent yet).
  void record(const std::string& text) {
    ASSERT_EQ(SSL_write(ssl_, text.data(), static_cast<int>(text.size())),
              static_cast<int>(text.size()));
  }
  std::string take_pending() {
    std::string bytes;
    char buf[16384];
    int n;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) bytes.append(buf, n);
    return bytes;
  }
  void flush_out() {
    std::string b = take_pending();
    if (!b.empty()) send_raw(b);
  }
  // One decrypted line; empty when the connection ends or nothing arrives.
  std::string line() {
    for (;;) {
      auto nl = plain_.find('\n');
      if (nl != std::string::npos) {
        std::string l = plain_.substr(0, nl + 1);
        plain_.erase(0, nl + 1);
        return l;
      }
      char buf[4096];
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        plain_.append(buf, n);
        continue;
      }
      if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ) return "";
      flush_out();
      if (!receive_some()) return "";
    }
  }
  // True when the server closed the socket (recv returns 0 or an error other than timeout).
  bool closed_by_server() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  int fd() const { return fd_; }

 private:
  bool receive_some() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    BIO_write(in_, buf, static_cast<int>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  std::string plain_;
};

// Echo protocol with STARTTLS: "STARTTLS" answers "GO" and starts TLS; other lines are
// echoed; "LIT n" reads an n-byte literal.
asio::awaitable<void> tls_echo_session(Transport& c) {
  co_await c.write("HELLO\r\n");
  for (;;) {
    std::string line;
    ReadStatus st = co_await c.read_command(line, 200);
    if (st != ReadStatus::ok) {
      co_await c.write(std::string("END ") + read_status_name(st) + "\r\n");
      co_return;
    }
    if (line == "STARTTLS") {
      co_await c.write("GO\r\n");
      bool ok = co_await c.start_tls();
      if (!ok) co_return;
      continue;
    }
    if (line.rfind("LIT ", 0) == 0) {
      std::string data;
      st = co_await c.read_exact(data, std::stoul(line.substr(4)));
      co_await c.write("LITERAL [" + data + "]\r\n");
      continue;
    }
    co_await c.write("ECHO " + line + "\r\n");
  }
}

class TlsTest : public ::testing::Test {
 protected:
  void start(TlsMode mode, std::chrono::seconds idle = std::chrono::seconds(60),
             std::chrono::seconds handshake = std::chrono::seconds(30), TlsSettings settings = {}) {
    settings.certificate = cert_.cert;
    settings.private_key = cert_.key;
    auto provider = TlsContextProvider::create(settings);
    ASSERT_TRUE(provider.is_ok()) << provider.status().to_string();
    tracker_ = std::make_shared<ConnectionTracker>(ConnectionLimits{});
    ListenerConfig cfg;
    cfg.name = "echo";
    cfg.protocol = "echo";
    cfg.tls = mode;
    cfg.idle_timeout = idle;
    cfg.tls_handshake_timeout = handshake;
    SessionHandler h;
    h.run = tls_echo_session;
    listener_ = std::make_unique<Listener>(ioc_, cfg, h, *provider, tracker_);
    ASSERT_TRUE(listener_->open().is_ok());
    listener_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return listener_->port(); }

  TestCert cert_;
  asio::io_context ioc_;
  std::shared_ptr<ConnectionTracker> tracker_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

TEST_F(TlsTest, ImplicitTlsTwoRecordsInOneSegment) {
  start(TlsMode::implicit);
  RecordClient c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.handshake(false));
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.record("a NOOP\r\n");
  c.record("b NOOP\r\n");
  c.flush_out();  // both records, one send()
  EXPECT_EQ(c.line(), "ECHO a NOOP\r\n");
  EXPECT_EQ(c.line(), "ECHO b NOOP\r\n");
}

TEST_F(TlsTest, ImplicitTlsFinishedAndFirstCommandTogether) {
  start(TlsMode::implicit);
  RecordClient c(port());
  ASSERT_TRUE(c.handshake(/*hold_last_flight=*/true));
  c.record("first\r\n");
  c.record("second\r\n");
  c.flush_out();  // Finished + two application records in one segment
  EXPECT_EQ(c.line(), "HELLO\r\n");
  EXPECT_EQ(c.line(), "ECHO first\r\n");
  EXPECT_EQ(c.line(), "ECHO second\r\n");
}

TEST_F(TlsTest, StartTlsFinishedAndPipelinedCommands) {
  start(TlsMode::starttls);
  RecordClient c(port());
  EXPECT_EQ(c.raw_line(), "HELLO\r\n");
  c.send_raw("STARTTLS\r\n");
  EXPECT_EQ(c.raw_line(), "GO\r\n");
  ASSERT_TRUE(c.handshake(true));
  c.record("EHLO client\r\n");
  c.record("b NOOP\r\n");
  c.flush_out();
  EXPECT_EQ(c.line(), "ECHO EHLO client\r\n");
  EXPECT_EQ(c.line(), "ECHO b NOOP\r\n");
}

TEST_F(TlsTest, LiteralSplitAcrossRecordsArrivingTogether) {
  start(TlsMode::implicit);
  RecordClient c(port());
  ASSERT_TRUE(c.handshake(false));
  EXPECT_EQ(c.line(), "HELLO\r\n");
  c.record("LIT 10\r\n01234");
  c.record("56789next\r\n");
  c.flush_out();
  EXPECT_EQ(c.line(), "LITERAL [0123456789]\r\n");
  EXPECT_EQ(c.line(), "ECHO next\r\n");
}

// Records of random sizes cut into TCP segments at random boundaries: every line is
// answered, in order, whatever joins and splits the network makes.
TEST_F(TlsTest, RandomRecordAndSegmentBoundaries) {
  start(TlsMode::implicit);
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    RecordClient c(port());
    ASSERT_TRUE(c.handshake(round % 2 == 0));
    std::string plain;
    int lines = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < lines; ++i)
      plain += "line" + std::to_string(round) + "-" + std::to_string(i) + "\r\n";
    // Cut the plaintext into records of 1..40 bytes.
    for (std::size_t pos = 0; pos < plain.size();) {
      std::size_t n = std::min<std::size_t>(plain.size() - pos, 1 + rng() % 40);
      c.record(plain.substr(pos, n));
      pos += n;
    }
    std::string wire = c.take_pending();
    // Send in segments of 1..300 bytes, sometimes pausing so segments really stay apart.
    for (std::size_t pos = 0; pos < wire.size();) {
      std::size_t n = std::min<std::size_t>(wire.size() - pos, 1 + rng() % 300);
      c.send_raw(wire.substr(pos, n));
      pos += n;
      if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(c.line(), "HELLO\r\n");
    for (int i = 0; i < lines; ++i) {
      ASSERT_EQ(c.line(), "ECHO line" + std::to_string(round) + "-" + std::to_string(i) + "\r\n")
          << "round " << round;
    }
  }
}

// A ClientHello trickled one byte at a time, each byte well within the idle timeout: the
// handshake deadline still ends the connection.
TEST_F(TlsTest, TrickledHandshakeHitsItsDeadline) {
  start(TlsMode::implicit, std::chrono::seconds(60), std::chrono::seconds(1));
  RecordClient c(port());
  ASSERT_TRUE(c.connected());
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  std::string hello;
  char buf[4096];
  int n;
  while ((n = BIO_read(out, buf, sizeof buf)) > 0) hello.append(buf, n);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ASSERT_GT(hello.size(), 20u);
  bool closed = false;
  // 40 bytes at 100 ms: 4 s of trickle against a 1 s handshake limit.
  for (std::size_t i = 0; i < 40 && !closed; ++i) {
    if (::send(c.fd(), hello.data() + i, 1, MSG_NOSIGNAL) != 1) closed = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  timeval tv{10, 0};
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_TRUE(closed || c.closed_by_server());
}

TEST_F(TlsTest, Tls11IsRefusedAndTls12Accepted) {
  start(TlsMode::implicit);
  {
    RecordClient old(port(), TLS1_1_VERSION);
    EXPECT_FALSE(old.handshake(false));
  }
  RecordClient ok(port(), TLS1_2_VERSION);
  ASSERT_TRUE(ok.handshake(false));
  EXPECT_EQ(ok.line(), "HELLO\r\n");
}

// The positive control for the test above: the same TLS 1.1 client succeeds against a server
// configured to allow it, so the refusal above is the server's policy, not the client's.
TEST_F(TlsTest, Tls11AcceptedWhenConfigured) {
  TlsSettings permissive;
  permissive.min_version = "TLSv1.1";
  permissive.ciphers = "DEFAULT:@SECLEVEL=0";
  start(TlsMode::implicit, std::chrono::seconds(60), std::chrono::seconds(30), permissive);
  RecordClient old(port(), TLS1_1_VERSION);
  ASSERT_TRUE(old.handshake(false));
  EXPECT_EQ(old.line(), "HELLO\r\n");
}

TEST(TlsPolicy, DefaultOffersOnlyForwardSecretAeadSuites) {
  TestCert cert;
  auto ctx = make_server_context(cert.cert, cert.key);
  ASSERT_TRUE(ctx.is_ok());
  SSL* ssl = SSL_new(ctx->get());
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get1_supported_ciphers(ssl);
  ASSERT_NE(ciphers, nullptr);
  int count = sk_SSL_CIPHER_num(ciphers);
  EXPECT_GT(count, 0);
  for (int i = 0; i < count; ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    std::string name = SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << name;
    int kx = SSL_CIPHER_get_kx_nid(c);
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any) << name;
  }
  sk_SSL_CIPHER_free(ciphers);
  SSL_free(ssl);
}

TEST(TlsPolicy, BadSettingsNameTheKey) {
  TlsSettings s;
  s.ciphers = "NOSUCHCIPHER";
  auto st = validate_tls_settings(s);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.client_message().find("ciphers"), std::string::npos);
  s = TlsSettings{};
  s.min_version = "SSLv3";
  EXPECT_FALSE(validate_tls_settings(s).is_ok());
}

}  // namespace
}  // namespace mailroom::net
