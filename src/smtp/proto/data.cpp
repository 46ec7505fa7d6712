#include "src/smtp/proto/data.h"

namespace mailroom::smtp::proto {

bool DataReader::add_line(std::string_view line, bool bare_lf, bool too_long) {
  if (too_long) {
    too_long_ = true;
    after_crlf_ = !bare_lf;
    bare_lf_seen_ = bare_lf_seen_ || bare_lf;
    return false;
  }
  const bool is_dot = line.size() == 1 && line[0] == '.';
  if (is_dot && !bare_lf && after_crlf_) return true;  // CRLF.CRLF
  after_crlf_ = !bare_lf;
  bare_lf_seen_ = bare_lf_seen_ || bare_lf;
  std::string_view content = line;
  if (!content.empty() && content.front() == '.') content.remove_prefix(1);  // RFC 5321 4.5.2
  if (content.find('\0') != std::string_view::npos) nul_ = true;
  size_ += content.size() + 2;
  if (size_ > limits_.max_size) oversize_ = true;
  // A message that will be refused stores nothing more (the reading goes on to its end).
  if (oversize_ || (bare_lf_seen_ && limits_.reject_bare_lf)) return false;
  body_.append(content);
  body_.append("\r\n");
  return false;
}

std::optional<Refusal> DataReader::refusal() const {
  if (oversize_) return Refusal{552, "5.3.4", "Message size exceeds fixed maximum message size"};
  if (too_long_) return Refusal{554, "5.6.0", "Message contains lines longer than 998 characters"};
  if (bare_lf_seen_ && limits_.reject_bare_lf) {
    return Refusal{554, "5.6.0", "Message contains bare LF line endings"};
  }
  if (nul_) return Refusal{554, "5.6.0", "Message contains NUL characters"};
  return std::nullopt;
}

bool has_bare_lf(std::string_view s) {
  for (std::size_t i = s.find('\n'); i != std::string_view::npos; i = s.find('\n', i + 1)) {
    if (i == 0 || s[i - 1] != '\r') return true;
  }
  return false;
}

std::string crlf_line_ends(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 50);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

}  // namespace mailroom::smtp::proto
