// HTTP/1.1 request heads, parsed line by line (RFC 9112 2-7), without I/O so that the parser
// can be fuzzed (tests/fuzz/fuzz_http_request.cpp) and unit-tested on hostile input.
//
// Strict on purpose, because a server that reads a request differently from a proxy in front
// of it is open to request smuggling: bare LF, obs-fold, whitespace before the colon, control
// characters in values, both Content-Length and Transfer-Encoding, several different
// Content-Length values, a Transfer-Encoding other than "chunked" are refused (400/501), never
// guessed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::http {

struct RequestHead {
  std::string method;
  std::string target;
  std::string path;       // of an origin-form target ("/a/b"), or "*"
  std::string query;      // after '?'
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

// 0 when the line is a valid request-line (RFC 9112 3), else the status to answer:
// 400 malformed, 414 target too long is the caller's (line length), 505 another HTTP version.
int parse_request_line(std::string_view line, RequestHead& head);
// 0 when the line is a valid field line (RFC 9112 5) appended to head.headers, else 400.
int parse_field_line(std::string_view line, RequestHead& head);

struct BodyPlan {
  enum class Kind { none, length, chunked } kind = Kind::none;
  uint64_t length = 0;           // Kind::length
  int error = 0;                 // non-zero: answer this status and close
  bool keep_alive = true;        // after the response
  bool expect_continue = false;  // "Expect: 100-continue" (RFC 9110 10.1.1)
};
// After the last field line: RFC 9112 3.2 (Host), 6.1-6.3 (message body length), 9.3
// (persistence). max_body: larger declared bodies get 413.
BodyPlan plan_body(const RequestHead& head, uint64_t max_body);

// A chunk-size line (RFC 9112 7.1: hex size, optional ";ext"). nullopt when malformed or
// larger than 2^40.
std::optional<uint64_t> parse_chunk_size(std::string_view line);

}  // namespace mailroom::http
