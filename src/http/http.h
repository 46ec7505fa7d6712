// The HTTP kit's request, response and router (RFC 9110 semantics, RFC 9112 HTTP/1.1).
// Light on purpose (no Asio, no Beast, no JSON): every front end on HTTP (the admin API,
// SCIM, metrics, autoconfiguration) includes it.
//
// A Router maps a method and a path pattern to a handler. Patterns are literal segments and
// "{name}" segments, which capture one percent-decoded segment into Request::params in order
// ("/api/v1/users/{user}"); a final "{name...}" captures the rest of the path. The first route
// added that matches wins. A path that matches no route answers 404; a path that matches with
// another method answers 405 with Allow.
//
// Handlers run on the worker pool (they may block on SQLite, the directory, the store) unless
// the route says `on_io_thread` (cheap, non-blocking: health checks, metrics).
// Exceptions from a handler become a 500 problem response; the server logs them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/core/status.h"

namespace mailroom::http {

class Stream;  // stream.h

struct Request {
  std::string method;  // "GET", "POST", ... as sent (methods are case-sensitive, RFC 9110 9.1)
  std::string target;  // the request-target as sent: "/api/v1/users?domain=example.com"
  std::string path;    // the path of the target, not decoded: "/api/v1/users"
  std::string query;   // after '?', not decoded ("" when none)
  // Header fields in order, names lower-cased, values with surrounding whitespace removed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                 // de-chunked
  std::vector<std::string> params;  // captured by the route pattern, percent-decoded

  // Connection facts, filled by the server.
  std::string remote_ip;
  bool tls = false;
  bool loopback = false;
  std::string session_id;

  // The first field with this (lower-case) name; several are joined by ", " (RFC 9110 5.3).
  std::optional<std::string> header(std::string_view lower_name) const;
  // The first query parameter with this name, percent-decoded ('+' is a space).
  std::optional<std::string> query_param(std::string_view name) const;
  // Every query parameter, decoded, in order.
  std::vector<std::pair<std::string, std::string>> query_params() const;
};

struct Response {
  int status = 200;
  // Added to the response as given; the server adds Date, Content-Length, Connection.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool head = false;  // set by the server for HEAD: send headers only
  // A streamed response (stream.h): the server sends the head without Content-Length, then
  // the stream's chunks until it ends, and closes the connection. `body` is not sent.
  std::shared_ptr<Stream> stream;

  Response& set_header(std::string name, std::string value);
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive

  // Content-Type application/json (or another JSON type, e.g. application/scim+json).
  static Response json(int status, std::string body, std::string content_type = "application/json");
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // RFC 9457 problem details: {"type","title","status","detail"} as application/problem+json.
  // `type` defaults to "about:blank". `extra` is a JSON object's members, already encoded
  // (e.g. "\"errors\":[...]"), appended to the object when not empty.
  static Response problem(int status, std::string_view title, std::string_view detail,
                          std::string_view type = "about:blank", std::string_view extra = {});
};

// core::Status -> problem details: not_found 404, already_exists 409, invalid_argument 400,
// permission_denied 403, over_quota/too_large 413, busy 409, unavailable 503 (with
// Retry-After), io_error/internal 500 (the log detail is logged, never sent).
Response problem_from_status(const core::Status& status);

// "Not Found" for 404 and so on; "" for a code we never send.
std::string_view reason_phrase(int status);
// Percent-decoding of a path segment or query component; false on a malformed escape.
// `plus_is_space` for application/x-www-form-urlencoded query strings.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);
// Percent-encodes everything but unreserved characters (RFC 3986 2.3).
std::string percent_encode(std::string_view in);

// HTTP Basic credentials (RFC 7617 2): an Authorization value "Basic" (any case), spaces, then
// base64 of user-id ":" password. The user-id ends at the first ':' (one containing ':' cannot
// be sent); the password may hold anything. nullopt for another scheme, malformed base64 or
// no ':'.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> parse_basic_credentials(std::string_view authorization);

using Handler = std::function<Response(Request&)>;

struct Route {
  std::string method;   // "GET"; "*" any method
  std::string pattern;  // "/api/v1/users/{user}"
  Handler handler;
  bool on_io_thread = false;  // cheap and non-blocking: run on the I/O thread
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler, bool on_io_thread = false);

  struct Match {
    const Route* route = nullptr;     // null: no route
    std::vector<std::string> params;  // decoded captures
    std::string allow;                // for 405: the methods the path allows ("GET, POST")
    bool bad_path = false;            // a malformed percent escape in the path
  };
  // HEAD matches a GET route. OPTIONS is answered by the server from `allow`.
  Match match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace mailroom::http
