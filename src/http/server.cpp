#include "src/http/server.h"

#include <chrono>
#include <ctime>
#include <exception>

#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/http/request_parser.h"
#include "src/http/stream_session.h"
#include "src/net/transport.h"
#include "src/net/worker_pool.h"

namespace mailroom::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

struct HttpShared {
  std::shared_ptr<const Router> router;
  net::WorkerPool* pool = nullptr;
  ServerOptions options;
  RequestObserver observer;
  std::shared_ptr<StreamCounter> streams;
};

// RFC 9110 5.6.7 IMF-fixdate.
std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string serialize_response(const Response& r, bool keep_alive) {
  const bool streamed = r.stream != nullptr;
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason_phrase(r.status);
  out += "\r\nDate: " + http_date() + "\r\n";
  for (const auto& [name, value] : r.headers) {
    // A handler's value never splits the header block (response splitting).
    if (value.find_first_of("\r\n") != std::string::npos) continue;
    out += name + ": " + value + "\r\n";
  }
  // RFC 9110 8.6: no Content-Length in 1xx, 204; 304 keeps the body-less form too.
  bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  // A stream has no length: its body ends when the connection closes (RFC 9112 6.3 rule 8).
  if (!bodyless && !streamed) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keep_alive || streamed) out += "Connection: close\r\n";
  out += "\r\n";
  if (!bodyless && !r.head && !streamed) out += r.body;
  return out;
}

Response http_error(int status, std::string_view detail) {
  return Response::problem(status, reason_phrase(status), detail);
}

void http_log(const Request& req, const net::ConnectionInfo& info, int status, std::size_t bytes,
              double seconds) {
  MR_LOG_INFO("event=http.request session={} ip={} method={} path={} status={} bytes={} ms={:.1f}",
              info.session_id, info.remote_ip, core::quote(req.method.empty() ? "-" : req.method),
              core::quote(req.path.empty() ? "-" : req.path), status, bytes, seconds * 1000.0);
}

void http_set_deadline(net::Transport& t, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
  t.set_idle_timeout(std::max(left, std::chrono::seconds(1)));
}

// Reads one request into req. Returns 0 when a request was read; -1 when the connection is
// over without a request (EOF, idle timeout, shutdown, network error); else the status of
// an answer to send before closing.
asio::awaitable<int> http_read_request(net::Transport& t, const ServerOptions& o, Request& req,
                                       BodyPlan& plan, Clock::time_point& started) {
  std::string line;
  bool bare_lf = false;
  // RFC 9112 2.2: at least one empty line before the request line should be ignored.
  for (int empty = 0;; ++empty) {
    auto st = co_await t.read_command(line, o.max_line, &bare_lf);
    if (st == net::ReadStatus::too_long) co_return 414;
    if (st != net::ReadStatus::ok) co_return -1;
    if (!line.empty()) break;
    if (empty >= 1) co_return 400;
  }
  started = Clock::now();
  const auto deadline = started + o.request_timeout;
  RequestHead head;
  int error = bare_lf ? 400 : parse_request_line(line, head);
  req.method = head.method;
  req.path = head.path;
  std::size_t header_bytes = 0;
  while (true) {
    if (Clock::now() >= deadline) co_return 408;
    http_set_deadline(t, deadline);
    auto st = co_await t.read_line(line, o.max_line, &bare_lf);
    if (st == net::ReadStatus::timeout) co_return 408;
    if (st == net::ReadStatus::too_long) co_return 431;
    if (st != net::ReadStatus::ok) co_return -1;
    if (bare_lf) error = error ? error : 400;  // RFC 9112 2.2: we do not accept bare LF
    if (line.empty()) break;
    header_bytes += line.size() + 2;
    if (header_bytes > o.max_header_bytes || head.headers.size() >= o.max_headers) co_return 431;
    if (!error) error = parse_field_line(line, head);
  }
  if (error) co_return error;
  plan = plan_body(head, o.max_body_bytes);
  if (plan.error) co_return plan.error;
  req.target = std::move(head.target);
  req.path = std::move(head.path);
  req.query = std::move(head.query);
  req.headers = std::move(head.headers);
  if (plan.kind != BodyPlan::Kind::none && plan.expect_continue) {
    if (!co_await t.write("HTTP/1.1 100 Continue\r\n\r\n")) co_return -1;
  }
  if (plan.kind == BodyPlan::Kind::length) {
    http_set_deadline(t, deadline);
    auto st = co_await t.read_exact(req.body, static_cast<std::size_t>(plan.length));
    if (st == net::ReadStatus::timeout) co_return 408;
    if (st != net::ReadStatus::ok) co_return -1;
  } else if (plan.kind == BodyPlan::Kind::chunked) {
    // RFC 9112 7.1: chunk-size line, data, CRLF; a zero chunk, trailer fields, CRLF.
    std::string chunk;
    while (true) {
      if (Clock::now() >= deadline) co_return 408;
      http_set_deadline(t, deadline);
      auto st = co_await t.read_line(line, o.max_line, &bare_lf);
      if (st == net::ReadStatus::timeout) co_return 408;
      if (st == net::ReadStatus::too_long) co_return 400;
      if (st != net::ReadStatus::ok) co_return -1;
      auto size = parse_chunk_size(line);
      if (!size || bare_lf) co_return 400;
      if (*size == 0) break;
      if (req.body.size() + *size > o.max_body_bytes) co_return 413;
      st = co_await t.read_exact(chunk, static_cast<std::size_t>(*size));
      if (st == net::ReadStatus::timeout) co_return 408;
      if (st != net::ReadStatus::ok) co_return -1;
      req.body += chunk;
      st = co_await t.read_line(line, 1, &bare_lf);
      if (st != net::ReadStatus::ok || !line.empty() || bare_lf) co_return 400;
    }
    // Trailer fields are read and dropped (RFC 9112 7.1.2: a server may discard them).
    while (true) {
      if (Clock::now() >= deadline) co_return 408;
      http_set_deadline(t, deadline);
      auto st = co_await t.read_line(line, o.max_line, &bare_lf);
      if (st == net::ReadStatus::timeout) co_return 408;
      if (st != net::ReadStatus::ok) co_return st == net::ReadStatus::too_long ? 431 : -1;
      if (bare_lf) co_return 400;
      if (line.empty()) break;
      header_bytes += line.size() + 2;
      if (header_bytes > o.max_header_bytes) co_return 431;
    }
  }
  co_return 0;
}

Response http_call(const Route& route, Request& req) {
  try {
    return route.handler(req);
  } catch (const std::exception& e) {
    MR_LOG_ERROR("event=http.handler_exception session={} path={} what={}", req.session_id,
                 core::quote(req.path), core::quote(e.what()));
  } catch (...) {
    MR_LOG_ERROR("event=http.handler_exception session={} path={}", req.session_id,
                 core::quote(req.path));
  }
  return http_error(500, "internal error");
}

asio::awaitable<void> http_run_session(net::Transport& t, std::shared_ptr<const HttpShared> s) {
  const auto& o = s->options;
  const auto& info = t.info();
  for (std::size_t served = 0;; ++served) {
    Request req;
    BodyPlan plan;
    Clock::time_point started = Clock::now();
    int status = co_await http_read_request(t, o, req, plan, started);
    if (status < 0) co_return;
    req.remote_ip = info.remote_ip;
    req.tls = t.is_tls();
    req.loopback = info.loopback;
    req.session_id = info.session_id;
    Response response;
    std::string route_pattern;
    bool keep_alive = plan.keep_alive && served + 1 < o.max_requests && !t.stopping();
    if (status > 0) {
      response = http_error(status, "");
      keep_alive = false;
    } else {
      auto match = s->router->match(req.method, req.path);
      if (match.bad_path) {
        response = http_error(400, "malformed percent-encoding in the path");
      } else if (!match.route) {
        if (match.allow.empty()) {
          response = http_error(404, "");
        } else if (req.method == "OPTIONS") {
          response.status = 204;
          response.set_header("Allow", match.allow + ", OPTIONS");
        } else {
          // RFC 9110 15.5.6: 405 carries Allow.
          response = http_error(405, "");
          response.set_header("Allow", match.allow + ", OPTIONS");
        }
      } else {
        route_pattern = match.route->pattern;
        req.params = std::move(match.params);
        const Route* route = match.route;
        if (route->on_io_thread) {
          response = http_call(*route, req);
        } else {
          response =
              co_await net::blocking(*s->pool, [route, &req] { return http_call(*route, req); });
        }
      }
    }
    response.head = req.method == "HEAD";
    std::shared_ptr<Stream> stream = std::move(response.stream);
    if (stream) {
      if (response.head || response.status != 200) {
        if (stream->on_close) stream->on_close();
        stream.reset();
      } else if (auto refused =
                     s->streams->enter(stream->account_id, o.max_streams_per_user, o.max_streams);
                 refused != StreamCounter::Refusal::none) {
        if (stream->on_close) stream->on_close();
        stream.reset();
        bool per_user = refused == StreamCounter::Refusal::per_user;
        response =
            http_error(per_user ? 429 : 503, per_user ? "too many open streams for this account"
                                                      : "too many open streams");
        response.set_header("Retry-After", "30");
      } else {
        response.stream = stream;
      }
    }
    std::string wire = serialize_response(response, keep_alive);
    t.queue(wire);
    bool sent = co_await t.flush();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    http_log(req, info, response.status, response.body.size(), seconds);
    if (s->observer) s->observer(req, route_pattern, response.status, seconds);
    if (stream) {
      if (sent) {
        if (!stream->account_id.empty())
          t.set_account(stream->account_id, stream->address, stream->app_password_id);
        co_await run_stream(t, *s->pool, stream);
      }
      s->streams->leave(stream->account_id);
      if (stream->on_close) stream->on_close();
      MR_LOG_INFO("event=http.stream_end session={} account={}", info.session_id,
                  stream->account_id);
      co_return;
    }
    if (!sent || !keep_alive) co_return;
    t.set_idle_timeout(o.keep_alive_timeout);
  }
}

}  // namespace

ServerOptions parse_server_options(core::ConfigSection& section) {
  ServerOptions o;
  o.max_body_bytes = section.get_size("max_body_size", o.max_body_bytes);
  if (o.max_body_bytes < 1024 || o.max_body_bytes > (uint64_t{1} << 30)) {
    section.error("max_body_size", "must be between 1K and 1G");
    o.max_body_bytes = 1 << 20;
  }
  o.max_header_bytes = static_cast<std::size_t>(
      section.get_int("max_header_bytes", static_cast<int64_t>(o.max_header_bytes), 1024, 1 << 20));
  o.max_line = std::min<std::size_t>(o.max_line, o.max_header_bytes);
  o.max_headers = static_cast<std::size_t>(
      section.get_int("max_headers", static_cast<int64_t>(o.max_headers), 10, 1000));
  o.request_timeout = std::chrono::seconds(section.get_seconds("request_timeout", 30));
  if (o.request_timeout.count() < 1) {
    section.error("request_timeout", "must be at least 1 second");
    o.request_timeout = std::chrono::seconds(30);
  }
  o.keep_alive_timeout = std::chrono::seconds(section.get_seconds("keep_alive_timeout", 60));
  if (o.keep_alive_timeout.count() < 1) {
    section.error("keep_alive_timeout", "must be at least 1 second");
    o.keep_alive_timeout = std::chrono::seconds(60);
  }
  o.max_requests = static_cast<std::size_t>(section.get_int(
      "max_requests_per_connection", static_cast<int64_t>(o.max_requests), 1, 1000000));
  o.max_streams = static_cast<std::size_t>(
      section.get_int("max_streams", static_cast<int64_t>(o.max_streams), 0, 1000000));
  o.max_streams_per_user = static_cast<std::size_t>(section.get_int(
      "max_streams_per_user", static_cast<int64_t>(o.max_streams_per_user), 1, 1000));
  o.stream_counter = std::make_shared<StreamCounter>();
  return o;
}

net::SessionHandler make_session_handler(std::shared_ptr<const Router> router,
                                         net::WorkerPool& pool, ServerOptions options,
                                         RequestObserver observer) {
  auto shared = std::make_shared<HttpShared>();
  shared->router = std::move(router);
  shared->pool = &pool;
  shared->options = options;
  shared->observer = std::move(observer);
  shared->streams =
      options.stream_counter ? options.stream_counter : std::make_shared<StreamCounter>();
  std::shared_ptr<const HttpShared> s = shared;
  net::SessionHandler handler;
  handler.run = [s](net::Transport& t) { return http_run_session(t, s); };
  handler.reject = [](net::RejectReason reason) -> std::string {
    int status = 503;
    if (reason == net::RejectReason::blocked_ip) status = 403;
    if (reason == net::RejectReason::too_many_from_ip) status = 429;
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += reason_phrase(status);
    out += "\r\nContent-Length: 0\r\nConnection: close\r\n";
    if (status != 403) out += "Retry-After: 10\r\n";
    return out + "\r\n";
  };
  return handler;
}

}  // namespace mailroom::http
