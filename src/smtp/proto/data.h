// The message content of DATA (RFC 5321 4.1.1.4, 4.5.2) and BDAT (RFC 3030), as a pure state
// machine: the session reads lines and feeds them here; no I/O.
//
// SMTP smuggling (RFC 5321 2.3.8: lines end in CRLF; 4.1.1.4: the end of data is CRLF.CRLF):
// only a "." line that ends in CRLF *and* follows a line that ended in CRLF ends the data.
// "<LF>.<CR><LF>", ".<LF>" and the like are content, whatever bare_lf says, so bytes a
// smuggler puts after them are read as part of the message, never as commands. With
// reject_bare_lf (the default) a message with any bare LF is refused at its real end; without
// it, bare LF counts as a line end inside the content and the line is stored with CRLF.
// Refusals are decided at the real end so the session stays in sync with the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::smtp::proto {

struct DataLimits {
  uint64_t max_size = 25u << 20;  // bytes of content (with CRLF), beyond: 552 5.3.4
  bool reject_bare_lf = true;
};

// Why a message is refused at its end; the session answers `code enhanced text`.
struct Refusal {
  int code;
  const char* enhanced;
  const char* text;
};

class DataReader {
 public:
  explicit DataReader(DataLimits limits) : limits_(limits) {}

  // One line as the connection read it, without its line end. `bare_lf`: it ended in LF
  // alone; `too_long`: it was over the line limit and discarded (`line` is empty then).
  // Returns true when the line was the end of data (CRLF.CRLF).
  bool add_line(std::string_view line, bool bare_lf, bool too_long);

  bool bare_lf_seen() const { return bare_lf_seen_; }
  uint64_t size() const { return size_; }
  // After the end: why the message is refused, if it is.
  std::optional<Refusal> refusal() const;
  // After the end: the content with CRLF line ends and dot-stuffing removed.
  std::string take_body() { return std::move(body_); }

 private:
  DataLimits limits_;
  std::string body_;
  uint64_t size_ = 0;
  bool after_crlf_ = true;  // the DATA command line ended in CRLF
  bool too_long_ = false, bare_lf_seen_ = false, nul_ = false, oversize_ = false;
};

// A BDAT body (RFC 3030 3: not BINARYMIME) with an LF not preceded by CR.
bool has_bare_lf(std::string_view body);
// Every LF not preceded by CR becomes CRLF (bare_lf = "accept").
std::string crlf_line_ends(std::string_view body);

}  // namespace mailroom::smtp::proto
