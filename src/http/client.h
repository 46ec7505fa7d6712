// The HTTP/1.1 client (RFC 9112) of everything that calls a web service from a worker thread:
// the identity provider (sso/), rspamd (src/filter). Blocking: each call runs on the caller's
// thread with a private io_context, so a slow peer holds only the thread that asked, never an
// I/O thread. Asio, Beast and OpenSSL stay in client.cpp.
//
// Connections are kept for reuse when the peer allows it (RFC 9112 9.3, persistent
// connections): at most `max_idle` per host and port, each for at most `idle_timeout`. A request
// that fails on a reused connection before any byte of the answer arrived is sent once more on
// a new connection (the peer may have closed the idle one as we sent, RFC 9112 9.3.1), so use
// it only for requests that may be repeated.
//
// Threading: a Client is thread-safe; calls run in parallel, each on its own connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct ssl_ctx_st;

namespace mailroom::http {

struct ClientOptions {
  // A verifying client context for https:// URLs (null: https:// is refused).
  std::shared_ptr<ssl_ctx_st> tls_context;
  bool allow_http = true;                   // plain http:// URLs (false: refused with an error)
  std::chrono::milliseconds timeout{5000};  // per request: connect, send and the whole answer
  size_t max_body = 1 << 20;                // a larger answer is an error
  size_t max_header = 16 << 10;
  size_t max_idle = 0;  // idle connections kept per host and port; 0: "Connection: close"
  std::chrono::milliseconds idle_timeout{30000};
  std::string user_agent = "Mailroom";
};

struct ClientRequest {
  std::string method = "GET";  // GET or POST
  std::string url;             // http:// or https://, absolute
  // Sent as given (Host, User-Agent, Content-Length and Connection are the client's).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // POST; must stay valid during the call
  std::string content_type;
};

struct ClientResponse {
  int status = 0;  // 0: no answer; error says why
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;
  bool reused = false;  // came over a kept connection (tests and logs)
};

// A TLS 1.2+ client context verifying against `ca_file` (empty: the system store); null when
// OpenSSL cannot make one.
std::shared_ptr<ssl_ctx_st> make_client_tls_context(const std::string& ca_file);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  ClientResponse fetch(const ClientRequest& request);

  struct Pool;

 private:
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace mailroom::http
