#include "src/core/address.h"

#include <cctype>

namespace mailroom::core {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

namespace {
// RFC 5322 atext, plus any UTF-8 byte (RFC 6531 extends atext with UTF8-non-ascii).
bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {
    // Address literal: [1.2.3.4] or [IPv6:...]; kept as text, validated loosely.
    if (d.back() != ']' || d.size() < 3) return false;
    for (unsigned char c : d.substr(1, d.size() - 2)) {
      if (!(std::isalnum(c) || c == '.' || c == ':')) return false;
    }
    return true;
  }
  size_t label = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(d[i]);
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c >= 0x80;
    if (!ok) return false;
    if (++label > 63) return false;
  }
  return label > 0;
}
}  // namespace

std::optional<Address> parse_address(std::string_view text) {
  if (text.empty() || text.size() > 512) return std::nullopt;
  Address a;
  size_t i = 0;
  if (text[0] == '"') {
    // quoted-string local part
    i = 1;
    bool closed = false;
    while (i < text.size()) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c == '\\') {
        if (i + 1 >= text.size()) return std::nullopt;
        unsigned char n = static_cast<unsigned char>(text[i + 1]);
        if (n < 0x20 && n != '\t') return std::nullopt;
        a.local += static_cast<char>(n);
        i += 2;
        continue;
      }
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c < 0x20 || c == 0x7f) return std::nullopt;
      a.local += static_cast<char>(c);
      ++i;
    }
    if (!closed || a.local.empty()) return std::nullopt;
    if (i >= text.size() || text[i] != '@') return std::nullopt;
  } else {
    size_t at = text.rfind('@');
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    std::string_view local = text.substr(0, at);
    if (local.front() == '.' || local.back() == '.') return std::nullopt;
    for (size_t j = 0; j < local.size(); ++j) {
      unsigned char c = static_cast<unsigned char>(local[j]);
      if (c == '.') {
        if (j + 1 < local.size() && local[j + 1] == '.') return std::nullopt;
        continue;
      }
      if (!is_atext(c)) return std::nullopt;
    }
    a.local = std::string(local);
    i = at;
  }
  if (a.local.size() > 64 * 4) return std::nullopt;
  std::string_view domain = text.substr(i + 1);
  if (!valid_domain(domain)) return std::nullopt;
  if (domain.front() == '[') {
    a.domain = std::string(domain);
  } else {
    a.domain = std::string(domain);
  }
  return a;
}

std::string Address::str() const {
  bool needs_quotes = local.empty() || local.front() == '.' || local.back() == '.';
  for (size_t i = 0; i < local.size() && !needs_quotes; ++i) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c == '.') {
      if (i + 1 < local.size() && local[i + 1] == '.') needs_quotes = true;
      continue;
    }
    if (!is_atext(c)) needs_quotes = true;
  }
  if (!needs_quotes) return local + "@" + domain;
  std::string q = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"@" + domain;
}

std::string Address::key() const { return ascii_lower(str()); }

bool Address::has_utf8() const {
  for (unsigned char c : local + domain) {
    if (c >= 0x80) return true;
  }
  return false;
}

}  // namespace mailroom::core
