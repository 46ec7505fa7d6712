// The JMAP VacationResponse (RFC 8621 8) as Sieve sees it: one file per user next to the
// user's scripts,
//
//   <store root>/<account id>/sieve/jmap-vacation     0600, written by src/jmap
//
// in a line format ("enabled 1", "from <unix seconds>", "to ...", "subject|text|html <base64>")
// that this file reads and writes. At delivery (delivery.cpp) the settings become a vacation
// script (RFC 5230) run in a Run of its own after the administrator's and the user's scripts,
// and only when those sent no reply of their own and refused nothing: the user's own script
// (ManageSieve) keeps working unchanged while a JMAP vacation is on, and a vacation in the
// user's script wins over the JMAP one (one reply per message, RFC 5230 4.7). The reply
// follows RFC 5230 / RFC 3834 as every Sieve vacation does (delivery.h): once per sender
// and 7 days (a new text is a new :handle, so it replies again), never to lists, bulk,
// auto-submitted mail or the null sender.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::sieve {

inline constexpr const char* kVacationResponseFile = "jmap-vacation";
inline constexpr int kVacationResponseDays = 7;

struct VacationResponse {
  bool enabled = false;
  std::optional<int64_t> from_date;  // replies from this time on (unix seconds)
  std::optional<int64_t> to_date;    // until before this time
  std::optional<std::string> subject;
  std::optional<std::string> text_body;
  std::optional<std::string> html_body;
  bool operator==(const VacationResponse&) const = default;
};

std::string serialize_vacation_response(const VacationResponse& v);
// nullopt when the text is not what serialize wrote (a damaged file).
std::optional<VacationResponse> parse_vacation_response(std::string_view text);

// The Sieve script (RFC 5230, with :mime for an HTML body) of the settings, whatever the
// dates; "" when disabled.
std::string vacation_response_script(const VacationResponse& v);
// Whether the settings reply at `now` (enabled, and within fromDate .. toDate).
bool vacation_response_active(const VacationResponse& v, int64_t now);

// The settings in `sieve_dir` (defaults when there is no file; nullopt for a damaged one).
std::optional<VacationResponse> read_vacation_response(const std::string& sieve_dir);

}  // namespace mailroom::sieve
