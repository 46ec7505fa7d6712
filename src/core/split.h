// Splits text at every `sep`: "a,,b" -> {"a", "", "b"}, "" -> {""}. Views into `s`.
#pragma once

#include <string_view>
#include <vector>

namespace mailroom::core {

inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == s.npos ? s.npos : at - start));
    if (at == s.npos) return out;
    start = at + 1;
  }
}

}  // namespace mailroom::core
