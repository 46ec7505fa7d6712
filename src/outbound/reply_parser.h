// The SMTP client's reading of the peer's replies (RFC 5321 4.2) and of its EHLO keywords
// (4.1.1.1), apart from the session's I/O so that the unit tests and the fuzz target reach it.
// Pure: no Asio, no OpenSSL. Internal to src/outbound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::outbound {

// RFC 5321 4.5.3.1.5 says 512 octets per reply line; peers send more, so we allow 4096.
constexpr std::size_t kMaxReplyLine = 4096;
constexpr std::size_t kMaxReplyLines = 200;

// One complete reply, possibly of several lines. `code` is 200..599 (never 0: the session
// uses 0 for "no reply").
struct SmtpReply {
  int code = 0;
  std::string status;  // the enhanced status code (RFC 2034, 3463) when the peer sent one
  std::string text;    // the non-empty lines joined with one space
  std::vector<std::string> lines;  // each line's text (after "250-"), controls replaced by SP
  bool positive() const { return code >= 200 && code < 400; }
  bool permanent() const { return code >= 500; }
};

// Cuts the bytes read from the peer into replies. Lines end in LF, a CR before it dropped
// (bare LF is accepted). Each line is a three-digit code whose first digit is 2..5, then SP
// (the last line), "-" (more follow) or nothing (the last line, no text). An error is final:
// a line over kMaxReplyLine octets (without its line end), a reply over kMaxReplyLines lines,
// a malformed line, or a line whose code differs from the first line's (4.2.1: all lines of a
// reply carry the same code). The error text is safe for logs and delivery reports.
// Not thread-safe; one per connection.
class ReplyParser {
 public:
  // Appends bytes from the peer.
  void feed(std::string_view bytes);
  // The next complete reply from what was fed, else nullopt: feed more unless failed().
  std::optional<SmtpReply> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Forgets the bytes fed and a reply in progress (RFC 3207 4.2: after the TLS handshake,
  // nothing read before it counts). An error stays.
  void clear();

 private:
  // Adds one line to reply_; true when it ended the reply.
  bool add_line(std::string_view line);

  std::string buffer_;
  std::size_t pos_ = 0;  // where the unread part of buffer_ starts
  SmtpReply reply_;      // the reply being read
  std::string error_;
};

// What an EHLO reply offers (RFC 5321 4.1.1.1: the lines after the first, one keyword and its
// parameters each).
struct EhloExtensions {
  std::set<std::string> keywords;         // upper case
  uint64_t size_limit = 0;                // RFC 1870 SIZE; 0 = none announced, or unusable
  std::set<std::string> auth_mechanisms;  // RFC 4954 AUTH, upper case
  bool has(const std::string& keyword) const { return keywords.count(keyword) > 0; }
};
EhloExtensions parse_ehlo_extensions(const std::vector<std::string>& lines);

}  // namespace mailroom::outbound
