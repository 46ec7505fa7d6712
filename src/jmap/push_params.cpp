#include "src/jmap/push_params.h"

#include <algorithm>

#include "src/http/http.h"

namespace mailroom::jmap {

std::optional<EventSourceParams> parse_event_source_params(std::string_view query,
                                                           std::string& error) {
  EventSourceParams out;
  bool seen_types = false, seen_close = false, seen_ping = false;
  std::vector<bool> wanted(std::size(kPushTypes), false);
  if (query.size() > 4096) {
    error = "the query is too long";
    return std::nullopt;
  }
  // Pairs with a malformed percent-encoding are dropped (http::Request::query_params), as
  // unknown parameters are.
  http::Request request;
  request.query = std::string(query);
  for (const auto& [name, value] : request.query_params()) {
    if (name == "types") {
      if (seen_types) {
        error = "types is given twice";
        return std::nullopt;
      }
      seen_types = true;
      // RFC 8620 7.3: "*" or a comma-separated list of type names.
      if (value == "*") {
        std::fill(wanted.begin(), wanted.end(), true);
        continue;
      }
      bool any = false;
      std::string_view rest = value;
      while (true) {
        auto comma = rest.find(',');
        std::string_view type = rest.substr(0, comma);
        for (std::size_t i = 0; i < std::size(kPushTypes); ++i) {
          if (type == kPushTypes[i]) {
            wanted[i] = true;
            any = true;
          }
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      if (!any) {
        error =
            "types names no type this server pushes (Mailbox, Email, Thread, EmailDelivery, "
            "Identity, EmailSubmission, VacationResponse)";
        return std::nullopt;
      }
    } else if (name == "closeafter") {
      if (seen_close || (value != "state" && value != "no")) {
        error = "closeafter must be \"state\" or \"no\", once";
        return std::nullopt;
      }
      seen_close = true;
      out.close_after_state = value == "state";
    } else if (name == "ping") {
      if (seen_ping || value.empty() || value.size() > 9 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        error = "ping must be a number of seconds, once";
        return std::nullopt;
      }
      seen_ping = true;
      uint32_t v = static_cast<uint32_t>(std::stoul(value));
      // RFC 8620 7.3: the server may clamp the interval; the ping event says the one used.
      out.ping = v == 0 ? 0 : std::clamp(v, kMinPing, kMaxPing);
    }
    // Other parameters are ignored (a cache-busting one, say).
  }
  if (!seen_types) std::fill(wanted.begin(), wanted.end(), true);
  for (std::size_t i = 0; i < std::size(kPushTypes); ++i)
    if (wanted[i]) out.types.emplace_back(kPushTypes[i]);
  return out;
}

}  // namespace mailroom::jmap
