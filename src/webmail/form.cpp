#include "src/webmail/form.h"

#include <set>

#include "src/core/json_text.h"
#include "src/http/http.h"

namespace mailroom::webmail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_utf8(std::string_view s) { return core::utf8_or_replacement(s) == s; }

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  // RFC 6265 5.4: cookie-pair *( ";" SP cookie-pair ); lenient about spaces as browsers are.
  while (!header.empty()) {
    std::size_t end = header.find_first_of(";,");
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body,
                                                                           std::size_t max_fields) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    std::size_t amp = body.find('&');
    std::string_view field = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (field.empty()) continue;
    if (out.size() >= max_fields) return std::nullopt;
    std::size_t eq = field.find('=');
    std::string name, value;
    if (!http::percent_decode(field.substr(0, eq), name, true)) return std::nullopt;
    if (eq != std::string_view::npos && !http::percent_decode(field.substr(eq + 1), value, true)) {
      return std::nullopt;
    }
    if (!valid_utf8(name) || !valid_utf8(value)) return std::nullopt;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::optional<std::vector<std::string>> parse_id_list(std::string_view text, char prefix,
                                                      std::size_t max_ids, std::size_t max_id) {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  while (true) {
    auto comma = text.find(',');
    std::string_view id = text.substr(0, comma);
    if (id.size() < 2 || id.size() > max_id + 1 || id[0] != prefix) return std::nullopt;
    for (char c : id.substr(1)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                c == '_' || c == '-';
      if (!ok) return std::nullopt;
    }
    if (seen.insert(id).second) {
      if (out.size() == max_ids) return std::nullopt;
      out.emplace_back(id);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace mailroom::webmail
