#include "src/http/request_parser.h"

#include <algorithm>
#include <cctype>

namespace mailroom::http {

namespace {

// RFC 9110 5.6.2 tchar.
bool http_is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
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
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool http_is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return http_is_tchar(static_cast<unsigned char>(c));
  });
}

std::string http_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view http_trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 3986 characters allowed in an origin-form target (pchar, '/', '?', '%').
bool http_target_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?':
    case '%':
      return true;
    default:
      return false;
  }
}

// Comma-separated list members, trimmed, lower-cased, empty members dropped (RFC 9110 5.6.1).
std::vector<std::string> http_list(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    auto comma = value.find(',');
    auto item = http_trim(value.substr(0, comma));
    if (!item.empty()) out.push_back(http_lower(item));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

int parse_request_line(std::string_view line, RequestHead& head) {
  // request-line = method SP request-target SP HTTP-version: exactly two single spaces.
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 400;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!http_is_token(method) || target.empty()) return 400;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return 400;
  }
  if (version[5] != '1') return 505;
  head.method = std::string(method);
  head.target = std::string(target);
  head.version_minor = version[7] - '0';
  if (target == "*") {
    // asterisk-form, OPTIONS only (RFC 9112 3.2.4).
    if (method != "OPTIONS") return 400;
    head.path = "*";
    return 0;
  }
  if (target.front() != '/') {
    // absolute-form is for proxies (RFC 9112 3.2.2); a server must accept it, but only for
    // itself: take its path. authority-form (CONNECT) is not ours.
    auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return 400;
    auto scheme = http_lower(target.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") return 400;
    auto path_start = target.find('/', scheme_end + 3);
    target =
        path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  if (!std::all_of(target.begin(), target.end(),
                   [](char c) { return http_target_char(static_cast<unsigned char>(c)); })) {
    return 400;
  }
  auto question = target.find('?');
  head.path = std::string(target.substr(0, question));
  head.query = question == std::string_view::npos ? "" : std::string(target.substr(question + 1));
  return 0;
}

int parse_field_line(std::string_view line, RequestHead& head) {
  // field-line = field-name ":" OWS field-value OWS; no whitespace before the colon (RFC 9112
  // 5.1), no obs-fold (5.2).
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return 400;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return 400;
  std::string_view name = line.substr(0, colon);
  if (!http_is_token(name)) return 400;
  std::string_view value = http_trim(line.substr(colon + 1));
  for (unsigned char c : value) {
    // RFC 9110 5.5: CR, LF and NUL are never allowed; other controls are refused too.
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 400;
  }
  head.headers.emplace_back(http_lower(name), std::string(value));
  return 0;
}

BodyPlan plan_body(const RequestHead& head, uint64_t max_body) {
  BodyPlan plan;
  plan.keep_alive = head.version_minor >= 1;
  int hosts = 0;
  std::optional<uint64_t> content_length;
  bool has_transfer_encoding = false;
  std::vector<std::string> codings;
  for (const auto& [name, value] : head.headers) {
    if (name == "host") {
      ++hosts;
    } else if (name == "content-length") {
      // RFC 9112 6.3 (5): a list of identical values may be taken as one; anything else is
      // unrecoverable.
      for (const auto& item : http_list(value)) {
        if (item.empty() || item.size() > 15 || !std::all_of(item.begin(), item.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c));
            })) {
          plan.error = 400;
          return plan;
        }
        uint64_t n = std::stoull(item);
        if (content_length && *content_length != n) {
          plan.error = 400;
          return plan;
        }
        content_length = n;
      }
      if (!content_length) {
        plan.error = 400;
        return plan;
      }
    } else if (name == "transfer-encoding") {
      has_transfer_encoding = true;
      for (auto& coding : http_list(value)) codings.push_back(coding);
    } else if (name == "connection") {
      for (const auto& option : http_list(value)) {
        if (option == "close") plan.keep_alive = false;
        if (option == "keep-alive" && head.version_minor == 0) plan.keep_alive = true;
      }
    } else if (name == "expect") {
      if (http_lower(value) == "100-continue") {
        plan.expect_continue = head.version_minor >= 1;
      } else {
        plan.error = 417;  // RFC 9110 10.1.1: an expectation we cannot meet
        return plan;
      }
    }
  }
  // RFC 9112 3.2: exactly one Host in an HTTP/1.1 request.
  if (hosts > 1 || (hosts == 0 && head.version_minor >= 1)) {
    plan.error = 400;
    return plan;
  }
  if (has_transfer_encoding) {
    // RFC 9112 6.1: both Content-Length and Transfer-Encoding is how requests are smuggled;
    // refuse rather than pick one. Only "chunked" alone is supported (no compression codings).
    if (content_length || head.version_minor == 0) {
      plan.error = 400;
      return plan;
    }
    if (codings.size() != 1 || codings[0] != "chunked") {
      plan.error = codings.empty() || codings.back() != "chunked" ? 400 : 501;
      return plan;
    }
    plan.kind = BodyPlan::Kind::chunked;
    return plan;
  }
  if (content_length && *content_length > 0) {
    if (*content_length > max_body) {
      plan.error = 413;
      return plan;
    }
    plan.kind = BodyPlan::Kind::length;
    plan.length = *content_length;
  }
  return plan;
}

std::optional<uint64_t> parse_chunk_size(std::string_view line) {
  auto semi = line.find(';');
  std::string_view size = line.substr(0, semi);
  // BWS before ';' is tolerated (RFC 9112 7.1.1); nothing else.
  while (!size.empty() && (size.back() == ' ' || size.back() == '\t')) size.remove_suffix(1);
  if (size.empty() || size.size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : size) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    n = n * 16 + static_cast<uint64_t>(v);
  }
  for (unsigned char c : line.substr(size.size())) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return std::nullopt;
  }
  return n;
}

}  // namespace mailroom::http
