#include "src/core/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace mailroom::core {

bool parse_ip(std::string_view text, std::array<unsigned char, 16>* out, bool* v4) {
  if (text.size() >= INET6_ADDRSTRLEN) return false;
  std::string s(text);
  in_addr a4{};
  in6_addr a6{};
  out->fill(0);
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    std::memcpy(out->data(), &a4, 4);
    *v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a6.s6_addr, mapped, 12) == 0) {
      std::memcpy(out->data(), a6.s6_addr + 12, 4);
      *v4 = true;
      return true;
    }
    std::memcpy(out->data(), a6.s6_addr, 16);
    *v4 = false;
    return true;
  }
  return false;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  std::size_t slash = text.find('/');
  if (!parse_ip(text.substr(0, slash), &c.addr_, &c.v4_)) return std::nullopt;
  int max = c.v4_ ? 32 : 128;
  c.bits_ = max;
  if (slash != std::string_view::npos) {
    std::string_view b = text.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    int bits = 0;
    for (char ch : b) bits = bits * 10 + (ch - '0');
    // "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8.
    if (c.v4_ && text.find(':') != std::string_view::npos) bits -= 96;
    if (bits < 0 || bits > max) return std::nullopt;
    c.bits_ = bits;
  }
  return c;
}

bool Cidr::contains(std::string_view ip) const {
  std::array<unsigned char, 16> a{};
  bool v4 = false;
  return parse_ip(ip, &a, &v4) && contains(a, v4);
}

bool Cidr::contains(const std::array<unsigned char, 16>& a, bool v4) const {
  if (v4 != v4_) return false;
  int bits = bits_;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a[i] & mask) != (addr_[i] & mask)) return false;
  }
  return true;
}

}  // namespace mailroom::core
