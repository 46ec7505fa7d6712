#include "src/queue/header_facts.h"

#include <gmime/gmime.h>

#include <mutex>

#include "src/core/address.h"
#include "src/core/json_text.h"

namespace mailroom::queue {

std::vector<std::pair<std::string, std::string>> parse_header_block(std::string_view message) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t eol = message.find('\n', pos);
    std::string_view line = message.substr(pos, eol == message.npos ? message.npos : eol - pos);
    pos = eol == message.npos ? message.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().second += ' ';  // RFC 5322 2.2.3 unfolding
      size_t i = 0;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      out.back().second += line.substr(i);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == line.npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    std::string_view name = line.substr(0, colon);
    // RFC 5322 4.5 obsolete syntax: whitespace between the field name and the colon.
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

std::string decode_rfc2047(const std::string& value) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  if (value.find("=?") == std::string::npos) return value;
  char* decoded = g_mime_utils_header_decode_text(nullptr, value.c_str());
  if (!decoded) return value;
  std::string out(decoded);
  g_free(decoded);
  return out;
}

HeaderFacts extract_header_facts(std::string_view message) {
  HeaderFacts f;
  for (auto& [name, value] : parse_header_block(message)) {
    if (f.message_id.empty() && core::iequals(name, "Message-ID")) {
      std::string v = value;
      size_t lt = v.find('<'), gt = v.find('>');
      if (lt != v.npos && gt != v.npos && gt > lt) v = v.substr(lt + 1, gt - lt - 1);
      f.message_id = core::utf8_prefix(v, 998);
    } else if (f.from.empty() && core::iequals(name, "From")) {
      f.from = core::utf8_prefix(decode_rfc2047(value), 998);
    } else if (f.subject.empty() && core::iequals(name, "Subject")) {
      f.subject = core::utf8_prefix(decode_rfc2047(value), 998);
    }
  }
  return f;
}

std::vector<std::string> queue_ids_in_headers(std::string_view message) {
  size_t end = message.find("\r\n\r\n");
  if (end == message.npos) end = message.find("\n\n");
  std::string_view head = message.substr(0, end == message.npos ? message.size() : end);
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = head.find("MR", pos)) != head.npos) {
    size_t n = 0;
    while (pos + 2 + n < head.size() && n < 21 &&
           std::isxdigit(static_cast<unsigned char>(head[pos + 2 + n]))) {
      ++n;
    }
    if (n == 20) out.emplace_back(head.substr(pos, 22));
    pos += 2;
  }
  return out;
}

}  // namespace mailroom::queue
