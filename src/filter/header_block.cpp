// Reading a message's header block for the filters (header_block.h).
#include "src/filter/header_block.h"

#include "src/core/address.h"

namespace mailroom::filter {

std::vector<std::pair<std::string, std::string>> header_fields(std::string_view message) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  bool have = false;
  while (pos < message.size()) {
    size_t eol = message.find('\n', pos);
    std::string_view line =
        message.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? message.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line.front() == ' ' || line.front() == '\t') {
      if (have) out.back().second += std::string(line);
      continue;
    }
    size_t colon = line.find(':');
    have = colon != std::string_view::npos;
    if (!have) continue;
    std::string name = core::ascii_lower(line.substr(0, colon));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    out.emplace_back(std::move(name), std::string(line.substr(colon + 1)));
  }
  return out;
}

std::vector<std::string> header_addresses(std::string_view value) {
  // Drop quoted strings and comments first, so that their commas and '@' do not count.
  std::string plain;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (depth > 0) {
      if (c == '\\')
        ++i;
      else if (c == '(')
        ++depth;
      else if (c == ')')
        --depth;
      continue;
    }
    if (c == '"')
      quoted = true;
    else if (c == '(')
      depth = 1;
    else
      plain += c;
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= plain.size()) {
    size_t comma = plain.find_first_of(",;:", start);
    std::string_view item(plain);
    item = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? plain.size() + 1 : comma + 1;
    size_t lt = item.find('<');
    if (lt != std::string_view::npos) {
      size_t gt = item.find('>', lt);
      item =
          item.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    }
    size_t a = item.find_first_not_of(" \t");
    size_t b = item.find_last_not_of(" \t");
    if (a == std::string_view::npos) continue;
    item = item.substr(a, b - a + 1);
    size_t at = item.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == item.size() ||
        item.find('@', at + 1) != std::string_view::npos ||
        item.find_first_of(" \t") != std::string_view::npos) {
      continue;
    }
    out.push_back(core::ascii_lower(item));
  }
  return out;
}

}  // namespace mailroom::filter
