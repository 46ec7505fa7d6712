// The query of JMAP's EventSource URL (RFC 8620 7.3), internal to src/jmap; no I/O, no JSON:
// fuzzed by tests/fuzz/fuzz_jmap_request.cpp.
//   types=*|Type,Type...  closeafter=state|no  ping=<seconds>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::jmap {

// The data types whose states the push reports (RFC 8620 7.1 TypeState), in this order: the
// mail store's, then those of the records the store does not keep (record_watch.h).
inline constexpr std::string_view kPushTypes[] = {"Mailbox",         "Email",    "Thread",
                                                  "EmailDelivery",   "Identity", "EmailSubmission",
                                                  "VacationResponse"};
// Is `type` (one of kPushTypes) kept outside the mail store?
inline bool is_record_type(std::string_view type) {
  return type == "Identity" || type == "EmailSubmission" || type == "VacationResponse";
}

struct EventSourceParams {
  std::vector<std::string> types;  // of kPushTypes, in their order; never empty
  bool close_after_state = false;
  uint32_t ping = 0;  // seconds between ping events, clamped to [kMinPing, kMaxPing]; 0 none
};
inline constexpr uint32_t kMinPing = 1;
inline constexpr uint32_t kMaxPing = 3600;

// Parses the (not yet decoded) query string. Every parameter is required by the RFC's URL
// template; a client that leaves one out gets the default (types *, closeafter no, ping 0).
// Type names the server does not push are ignored; a list naming none of ours is an error,
// as are unknown closeafter values, a ping that is not a number, or repeated parameters.
// On error returns nullopt and sets `error` (client-safe text).
std::optional<EventSourceParams> parse_event_source_params(std::string_view query,
                                                           std::string& error);

}  // namespace mailroom::jmap
