// libFuzzer target: the body of POST /jmap/api (RFC 8620 3.3) and its result references
// (RFC 8620 3.7). The input is parsed as a request; each call's arguments are then resolved
// against the calls before it, as if each earlier call had answered with its own arguments
// (so inputs can reference their own structure with any JSON Pointer, '*' included).
// Invariants: no crash, leak or UB and no time beyond -timeout; an error has the RFC's prefix
// and a limit error names its limit; a request over the limits is always refused; a resolved
// call has no "#" argument left.
//
// The same input also feeds the VacationResponse pieces (src/sieve/vacation_response.h): as
// the settings file it must parse or be refused, and what parses serializes back to itself;
// split at NUL bytes into subject, text and HTML body (strings a client sends with
// VacationResponse/set) it must give a Sieve script that parses (quotes and backslashes
// escaped, line ends kept inside the string).
//
// And the query of the EventSource URL (src/jmap/push_params.h, RFC 8620 7.3): parsed or
// refused with a reason; what parses names at least one known type, each once, in order, and
// a ping of 0 or within the clamp.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/jmap/push_params.h"
#include "src/jmap/request.h"
#include "src/sieve/script.h"
#include "src/sieve/vacation_response.h"

using namespace mailroom::jmap;

namespace {

void fuzz_vacation_response(std::string_view input) {
  using namespace mailroom::sieve;
  if (auto v = parse_vacation_response(input)) {
    auto again = parse_vacation_response(serialize_vacation_response(*v));
    if (!again || !(*again == *v)) std::abort();
  }
  VacationResponse v;
  v.enabled = true;
  size_t a = input.find('\0');
  size_t b = a == std::string_view::npos ? a : input.find('\0', a + 1);
  v.subject = std::string(input.substr(0, a));
  if (a != std::string_view::npos) v.text_body = std::string(input.substr(a + 1, b - a - 1));
  if (b != std::string_view::npos) v.html_body = std::string(input.substr(b + 1));
  std::string script = vacation_response_script(v);
  if (script.size() <= Limits{}.max_script_bytes && !parse(script).is_ok()) std::abort();
}

void fuzz_event_source_query(std::string_view query) {
  std::string error;
  auto p = parse_event_source_params(query, error);
  if (!p) {
    if (error.empty()) std::abort();
    return;
  }
  if (p->types.empty() || p->types.size() > std::size(kPushTypes)) std::abort();
  size_t next = 0;
  for (const auto& t : p->types) {
    while (next < std::size(kPushTypes) && kPushTypes[next] != t) ++next;
    if (next == std::size(kPushTypes)) std::abort();  // unknown, repeated or out of order
    ++next;
  }
  if (p->ping != 0 && (p->ping < kMinPing || p->ping > kMaxPing)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  fuzz_vacation_response(body);
  fuzz_event_source_query(body);
  RequestLimits limits;
  limits.max_size_request = 8192;
  limits.max_calls_in_request = 8;
  ApiRequest request;
  auto error = parse_request(body, limits, request);
  if (error) {
    if (error->type.rfind(std::string(kErrorPrefix), 0) != 0) std::abort();
    if (error->type.ends_with(":limit") && error->limit.empty()) std::abort();
    return 0;
  }
  if (body.size() > limits.max_size_request) std::abort();
  if (request.calls.size() > limits.max_calls_in_request) std::abort();
  std::vector<Reply> replies;
  for (auto& call : request.calls) {
    std::string type, description;
    if (resolve_references(*call.args, replies, type, description)) {
      for (const auto& kv : *call.args)
        if (!kv.key().empty() && kv.key()[0] == '#') std::abort();
      // Bound the growth: '*' can duplicate an earlier answer into this one.
      if (boost::json::serialize(*call.args).size() > (1u << 20)) return 0;
    } else if (type != "invalidArguments" && type != "invalidResultReference") {
      std::abort();
    }
    replies.push_back(Reply{call.name, call.args, call.id});
  }
  return 0;
}
