// HTTP/1.1 sessions for [[listener]] protocol = "http" (RFC 9112), on the session kit's
// Transport: the same listeners, TLS (implicit only), per-IP connection limits, block list and
// deadlines as the mail protocols, on the same I/O threads; handlers on the worker pool.
//
// Per connection: keep-alive up to max_requests; each request must arrive whole (request line,
// fields and body) within request_timeout from its first byte (slow clients cannot hold a
// connection by trickling fields), and the next request within the listener's idle_timeout.
// Limits answer with their own status and close: 414 (request line), 431 (fields), 413 (body),
// 408 (timeout), 400 (malformed, smuggling shapes), 501/505.
// Every request is logged once: event=http.request with method, path, status, bytes, time.
// A handler may answer with a stream (stream.h): the connection then stays open on its I/O
// thread, without a worker, until the stream, the client, the account or the server ends it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "src/http/http.h"
#include "src/net/session_handler.h"

namespace mailroom::core {
class ConfigSection;
}
namespace mailroom::net {
class WorkerPool;
}

namespace mailroom::http {

class StreamCounter;  // stream_session.h

struct ServerOptions {
  std::size_t max_line = 8192;           // request line and each field line
  std::size_t max_header_bytes = 65536;  // all field lines together
  std::size_t max_headers = 100;
  uint64_t max_body_bytes = 1 << 20;  // 1 MiB
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds keep_alive_timeout{60};  // between requests of one connection
  std::size_t max_requests = 1000;              // per connection, then Connection: close
  // Streamed responses (stream.h: JMAP's EventSource) open at once, in total and per account;
  // one more answers 503 (total) or 429 (per account). The count is shared by every listener
  // made from these options (null: make_session_handler makes one).
  std::size_t max_streams = 10000;
  std::size_t max_streams_per_user = 10;
  std::shared_ptr<StreamCounter> stream_counter;
};

// The [http] section.
ServerOptions parse_server_options(core::ConfigSection& section);

// Called once per request after the response is queued (metrics); route is the matched
// pattern or "" for none.
using RequestObserver =
    std::function<void(const Request&, const std::string& route, int status, double seconds)>;

net::SessionHandler make_session_handler(std::shared_ptr<const Router> router,
                                         net::WorkerPool& pool, ServerOptions options,
                                         RequestObserver observer = {});

}  // namespace mailroom::http
