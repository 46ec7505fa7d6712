#include "src/store/names.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

namespace mailroom::store {
namespace {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range code points.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += n + 1;
  }
  return true;
}

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

core::Status check_account_id(std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 255)
    return core::invalid_argument("invalid account id");
  for (char ch : id) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == '/' || c == '\\')
      return core::invalid_argument("invalid account id");
  }
  return core::Status::ok();
}

core::Result<std::string> canonical_mailbox_name(std::string_view name, size_t max_bytes) {
  if (name.empty()) return core::invalid_argument("empty mailbox name");
  if (name.size() > max_bytes) return core::invalid_argument("mailbox name too long");
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return core::invalid_argument("control character in mailbox name");
    if (c == '*' || c == '%') return core::invalid_argument("wildcard in mailbox name");
  }
  if (!valid_utf8(name)) return core::invalid_argument("mailbox name is not UTF-8");
  std::string out;
  out.reserve(name.size());
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view comp = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (comp.empty()) return core::invalid_argument("empty component in mailbox name");
    if (comp == "." || comp == "..") return core::invalid_argument("'.' or '..' in mailbox name");
    if (!first) out += '/';
    if (first && ieq(comp, "INBOX")) {
      out += "INBOX";
    } else {
      out += comp;
    }
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > 128 || k[0] == '\\') return false;
  for (char ch : k) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) return false;
    if (std::string_view("(){%*\"\\]").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

std::vector<std::string> normalize_keywords(const std::vector<std::string>& keywords) {
  std::vector<std::string> out;
  for (const auto& k : keywords) {
    bool dup = std::any_of(out.begin(), out.end(), [&](const std::string& o) { return ieq(o, k); });
    if (!dup) out.push_back(k);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return strcasecmp(a.c_str(), b.c_str()) < 0;
  });
  return out;
}

bool is_inbox(std::string_view n) { return n == "INBOX"; }

bool is_same_or_child(std::string_view name, std::string_view parent) {
  if (name == parent) return true;
  return name.size() > parent.size() && name.substr(0, parent.size()) == parent &&
         name[parent.size()] == '/';
}

}  // namespace mailroom::store
