// The JMAP API request (RFC 8620 3.3) and result references (RFC 8620 3.7): pure functions,
// no I/O, so the fuzz target (tests/fuzz/fuzz_jmap_request.cpp) drives them as the server does.
//
// parse_request() checks the request object's type signature and the request limits; the
// arguments of each call stay JSON objects (Boost.JSON, kept out of this header: the args are
// held through shared_ptr to an incomplete type). resolve_references() replaces every "#name"
// argument by the value the earlier response's JSON Pointer selects.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class object;
}

namespace mailroom::jmap {

// The request-level limits of the core capability (RFC 8620 2, "maxSizeRequest" ...).
struct RequestLimits {
  size_t max_size_request = 10 << 20;
  size_t max_calls_in_request = 32;
  size_t max_depth = 64;  // JSON nesting (a parser limit, answered as notJSON)
};

struct Call {
  std::string name;  // "Mailbox/get"
  std::shared_ptr<boost::json::object> args;
  std::string id;  // the method call id
};

struct ApiRequest {
  std::vector<std::string> using_capabilities;
  std::vector<Call> calls;
  bool has_created_ids = false;
  std::map<std::string, std::string> created_ids;
};

// RFC 8620 3.6.1: a request-level error, answered as an RFC 7807 problem.
struct RequestError {
  std::string type;    // "urn:ietf:params:jmap:error:notJSON", ...
  std::string detail;  // for the client
  std::string limit;   // for type limit: the name of the limit ("maxCallsInRequest")
};

inline constexpr std::string_view kErrorPrefix = "urn:ietf:params:jmap:error:";

// Parses and checks the body of POST /jmap/api. Content-Type is the caller's concern.
std::optional<RequestError> parse_request(std::string_view body, const RequestLimits& limits,
                                          ApiRequest& out);

// One answered call: what a result reference may point into.
struct Reply {
  std::string name;  // the response's name ("Mailbox/get"; "error" for an error)
  std::shared_ptr<boost::json::object> args;
  std::string id;
};

// RFC 8620 3.7: resolves every "#key" argument of `args` in place (it becomes "key"). false
// with `error_type` "invalidArguments" (both "key" and "#key", a malformed reference) or
// "invalidResultReference" (no such call, another name, a path that selects nothing), and a
// description.
bool resolve_references(boost::json::object& args, const std::vector<Reply>& replies,
                        std::string& error_type, std::string& description);

}  // namespace mailroom::jmap
