#include "auth/ldap/ldap_filter.h"

namespace mailroom::auth::ldap {

namespace {
const char kHex[] = "0123456789abcdef";
void append_hex(std::string& out, unsigned char c) {
  out += '\\';
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}
}  // namespace

// RFC 4515 section 3 (valueencoding): the octets '*', '(', ')', '\' and NUL must be escaped.
std::string escape_filter_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0) {
      append_hex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string escape_filter_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 3);
  for (unsigned char c : bytes) append_hex(out, c);
  return out;
}

std::string expand_filter(std::string_view templ, std::string_view key) {
  std::string_view local = key;
  std::string_view domain;
  if (auto at = key.rfind('@'); at != std::string_view::npos) {
    local = key.substr(0, at);
    domain = key.substr(at + 1);
  }
  std::string out;
  for (size_t i = 0; i < templ.size(); ++i) {
    char c = templ[i];
    if (c != '%' || i + 1 == templ.size()) {
      out += c;
      continue;
    }
    char n = templ[++i];
    switch (n) {
      case 's':
        out += escape_filter_value(key);
        break;
      case 'u':
        out += escape_filter_value(local);
        break;
      case 'd':
        out += escape_filter_value(domain);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += n;
        break;
    }
  }
  return out;
}

// RFC 4514 section 2.4.
std::string escape_dn_value(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = value[i];
    bool special = c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
                   c == '\\' || c == '=';
    if ((i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.size() && c == ' ') || special) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == 0) {
      out += "\\00";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace mailroom::auth::ldap
