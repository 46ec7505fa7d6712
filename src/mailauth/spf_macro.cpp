// SPF macros (RFC 7208 section 7), IP addresses as bytes, and the domain-name checks of 4.3.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "src/mailauth/spf_internal.h"

namespace mailroom::mailauth::spf_internal {
namespace {

constexpr size_t kSpfMaxDomain = 253;

bool spf_is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

char spf_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// %{i}: dotted IPv4, or IPv6 as 32 dot-separated nibbles (section 7.3).
std::string spf_ip_dotted(const SpfIp& ip) {
  std::string out;
  if (!ip.v6) {
    for (int i = 0; i < 4; ++i) {
      out += (i ? "." : "") + std::to_string(ip.bytes[i]);
    }
    return out;
  }
  static const char* const kHex = "0123456789abcdef";
  for (uint8_t b : ip.bytes) {
    if (!out.empty()) out += '.';
    out += kHex[b >> 4];
    out += '.';
    out += kHex[b & 0xf];
  }
  return out;
}

// %{c}: the address as usually written (RFC 5952 for IPv6, what inet_ntop gives).
std::string spf_ip_printable(const SpfIp& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

// Section 7.3: uppercase macro letters URL-escape everything but RFC 3986 "unreserved".
std::string spf_url_escape(std::string_view s) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::optional<std::string> spf_macro_value(char letter, const SpfMacroContext& ctx,
                                           bool explanation) {
  switch (letter) {
    case 's':
      return ctx.sender;
    case 'l':
      return ctx.local_part;
    case 'o':
      return ctx.sender_domain;
    case 'd':
      return ctx.domain;
    case 'i':
      return spf_ip_dotted(ctx.ip);
    case 'p':
      // No PTR lookups (spf.cpp): RFC 7208 7.3 says "unknown" when no domain is validated.
      return std::string("unknown");
    case 'v':
      return std::string(ctx.ip.v6 ? "ip6" : "in-addr");
    case 'h':
      return ctx.helo;
    case 'c':
    case 'r':
    case 't':
      if (!explanation) return std::nullopt;
      if (letter == 'c') return spf_ip_printable(ctx.ip);
      if (letter == 'r') return ctx.receiver.empty() ? std::string("unknown") : ctx.receiver;
      return std::to_string(ctx.now);
    default:
      return std::nullopt;
  }
}

// Splits on the delimiters, optionally reverses, keeps the rightmost `keep` parts (0 = all)
// and joins with dots (section 7.3).
std::string spf_transform(const std::string& value, const std::string& delimiters, bool reverse,
                          size_t keep) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : value) {
    if (delimiters.find(c) != std::string::npos) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(std::move(current));
  if (reverse) std::reverse(parts.begin(), parts.end());
  size_t first = keep != 0 && keep < parts.size() ? parts.size() - keep : 0;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i != first) out += '.';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::optional<SpfIp> parse_spf_ip(std::string_view text) {
  std::string s(text);
  SpfIp ip;
  if (::inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    return ip;
  }
  if (::inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
    return std::nullopt;
  }
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), kMapped, sizeof kMapped) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
    return ip;
  }
  ip.v6 = true;
  return ip;
}

bool spf_prefix_match(const SpfIp& a, const SpfIp& b, int bits) {
  if (a.v6 != b.v6) return false;
  bits = std::clamp(bits, 0, a.v6 ? 128 : 32);
  int whole = bits / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), static_cast<size_t>(whole)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

std::optional<std::string> expand_spf_macros(std::string_view text, const SpfMacroContext& ctx,
                                             bool explanation) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '%') {
      // macro-literal = %x21-24 / %x26-7E; explanation-string adds SP.
      if (c < 0x21 || c > 0x7e) {
        if (!(explanation && c == ' ')) return std::nullopt;
      }
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return std::nullopt;
    char next = text[i + 1];
    if (next == '%' || next == '_' || next == '-') {
      out += next == '%' ? "%" : next == '_' ? " " : "%20";
      i += 2;
      continue;
    }
    if (next != '{' || i + 2 >= text.size()) return std::nullopt;
    size_t at = i + 2;
    char raw_letter = text[at++];
    bool escape = raw_letter >= 'A' && raw_letter <= 'Z';
    auto value = spf_macro_value(spf_lower(raw_letter), ctx, explanation);
    if (!value) return std::nullopt;
    size_t keep = 0;
    bool digits = false;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      digits = true;
      keep = std::min<size_t>(keep * 10 + static_cast<size_t>(text[at] - '0'), 1000);
      ++at;
    }
    if (digits && keep == 0) return std::nullopt;  // "the value MUST be at least one"
    bool reverse = false;
    if (at < text.size() && spf_lower(text[at]) == 'r') {
      reverse = true;
      ++at;
    }
    std::string delimiters;
    while (at < text.size() && spf_is_delimiter(text[at])) {
      delimiters += text[at++];
    }
    if (at >= text.size() || text[at] != '}') return std::nullopt;
    std::string expanded =
        spf_transform(*value, delimiters.empty() ? "." : delimiters, reverse, keep);
    out += escape ? spf_url_escape(expanded) : expanded;
    i = at + 1;
  }
  return out;
}

std::optional<std::string> expand_spf_domain(std::string_view domain_spec,
                                             const SpfMacroContext& ctx) {
  auto out = expand_spf_macros(domain_spec, ctx, false);
  if (!out) return std::nullopt;
  if (!out->empty() && out->back() == '.') out->pop_back();
  while (out->size() > kSpfMaxDomain) {
    size_t dot = out->find('.');
    if (dot == std::string::npos) break;  // one huge label: the query fails on its own
    out->erase(0, dot + 1);
  }
  return out;
}

bool valid_spf_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > kSpfMaxDomain) return false;
  size_t labels = 0;
  size_t start = 0;
  std::string_view last;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) return false;
    }
    ++labels;
    last = label;
    start = dot + 1;
  }
  if (labels < 2) return false;
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace mailroom::mailauth::spf_internal
