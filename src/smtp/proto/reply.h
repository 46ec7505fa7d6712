// SMTP replies (RFC 5321 section 4.2) with RFC 3463 enhanced status codes (RFC 2034).
// Pure formatting; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::smtp::proto {

struct Reply {
  int code = 250;
  std::string enhanced;  // "2.1.0"; empty only for the greeting and EHLO/HELO (RFC 2034 s.3)
  std::string text;

  bool positive() const { return code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  // "250 2.1.0 Ok\r\n" (a text with embedded "\n" becomes a multi-line reply, each line
  // carrying the enhanced code).
  std::string wire() const;
};

Reply make_reply(int code, std::string enhanced, std::string text);

// A multi-line reply "250-a\r\n250-b\r\n250 c\r\n" (EHLO keyword lists, HELP).
std::string multiline(int code, const std::vector<std::string>& lines);

// Text safe for a reply line: control characters and CR/LF replaced by '?', cut at 400 bytes.
std::string sanitize(std::string_view text);

}  // namespace mailroom::smtp::proto
