// libFuzzer target: HTTP/1.1 request heads (RFC 9112) and the router, on arbitrary bytes.
// Invariants: no crash, leak or UB; a status is 0 or an HTTP error code; an accepted request
// line has a token method and a path starting with '/' (or "*"); field names are lower-case
// tokens; a body plan never says both a length and chunked; chunk sizes fit 40 bits; every
// router match's captures are decodable and a 405 carries an Allow list; Basic credentials in
// any field parse to a user-id without ':'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/http/http.h"
#include "src/http/request_parser.h"
#include "tests/fakes/line_splitter.h"

using namespace mailroom::http;

namespace {
const Router& fuzz_router() {
  static Router* r = [] {
    auto* router = new Router;
    auto ok = [](Request&) { return Response::text(200, "ok"); };
    router->add("GET", "/api/v1/users", ok);
    router->add("POST", "/api/v1/users", ok);
    router->add("GET", "/api/v1/users/{user}", ok);
    router->add("DELETE", "/api/v1/users/{user}/app-passwords/{name}", ok);
    router->add("GET", "/static/{path...}", ok);
    return router;
  }();
  return *r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto lines = mailroom::testing::split_wire_lines(in, 8192);
  if (lines.empty()) return 0;
  RequestHead head;
  int status = parse_request_line(lines[0].text, head);
  if (status != 0 && status != 400 && status != 505) __builtin_trap();
  if (status == 0) {
    if (head.method.empty() || head.path.empty()) __builtin_trap();
    if (head.path != "*" && head.path[0] != '/') __builtin_trap();
  }
  std::size_t i = 1;
  for (; i < lines.size() && !lines[i].text.empty(); ++i) {
    int s = parse_field_line(lines[i].text, head);
    if (s != 0 && s != 400) __builtin_trap();
  }
  for (const auto& [name, value] : head.headers) {
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') __builtin_trap();
    }
    if (value.find_first_of("\r\n") != std::string::npos) __builtin_trap();
    // Basic credentials (RFC 7617): a user-id never holds the ':' that ends it.
    if (auto basic = parse_basic_credentials(value);
        basic && basic->user.find(':') != std::string::npos)
      __builtin_trap();
  }
  auto plan = plan_body(head, 1 << 20);
  if (plan.error == 0 && plan.kind == BodyPlan::Kind::length && plan.length > (1 << 20)) {
    __builtin_trap();
  }
  for (; i < lines.size(); ++i) {
    if (auto n = parse_chunk_size(lines[i].text); n && *n >= (uint64_t{1} << 40)) __builtin_trap();
  }
  if (status == 0) {
    auto m = fuzz_router().match(head.method, head.path);
    if (!m.route && !m.bad_path && !m.allow.empty() && m.allow.find("GET") == std::string::npos &&
        m.allow.find("POST") == std::string::npos && m.allow.find("DELETE") == std::string::npos) {
      __builtin_trap();
    }
    Request r;
    r.query = head.query;
    (void)r.query_params();
  }
  return 0;
}
