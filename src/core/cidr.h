// IP networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32", a bare address = one host),
// for block lists, trace selection and listener allow-lists. IPv4-mapped IPv6 addresses
// ("::ffff:192.0.2.7") are taken as the IPv4 address they carry.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::core {

class Cidr {
 public:
  // nullopt when `text` is not an address or address/prefix-length.
  static std::optional<Cidr> parse(std::string_view text);
  // False for text that is not an IP address.
  bool contains(std::string_view ip) const;
  // For many networks against one address: parse it once with parse_ip().
  bool contains(const std::array<unsigned char, 16>& ip, bool v4) const;
  bool is_v4() const { return v4_; }
  int prefix_length() const { return bits_; }

 private:
  std::array<unsigned char, 16> addr_{};
  int bits_ = 0;
  bool v4_ = false;
};

// Parses an IPv4 or IPv6 address into 16 bytes (IPv4 in the first four); false if invalid.
bool parse_ip(std::string_view text, std::array<unsigned char, 16>* out, bool* v4);

}  // namespace mailroom::core
