// Splits raw wire bytes into lines the way net::Connection::read_line does (LF ends a line; a
// CR before it is removed; a line longer than max_length is reported too_long, with how it
// ended), for table tests and fuzzers of the pure protocol parsers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::testing {

struct WireLine {
  std::string text;
  bool bare_lf = false;
  bool too_long = false;
};

// Bytes after the last LF (an unfinished line) are returned in `rest`.
inline std::vector<WireLine> split_wire_lines(std::string_view bytes, std::size_t max_length,
                                              std::string* rest = nullptr) {
  std::vector<WireLine> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = bytes.substr(pos, nl - pos);
    WireLine w;
    w.bare_lf = line.empty() || line.back() != '\r';
    if (!w.bare_lf) line.remove_suffix(1);
    if (line.size() > max_length) {
      w.too_long = true;
    } else {
      w.text.assign(line);
    }
    out.push_back(std::move(w));
    pos = nl + 1;
  }
  if (rest) rest->assign(bytes.substr(pos));
  return out;
}

}  // namespace mailroom::testing
