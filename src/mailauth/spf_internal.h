// The pure pieces of SPF (spf.h) shared by its .cpp files and reached by the unit tests: IP
// addresses as bytes, the record grammar (RFC 7208 section 12) and macro expansion (section 7).
// No DNS and no Asio here. Not for other modules.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/mailauth/spf.h"

namespace mailroom::mailauth::spf_internal {

// An IPv4 or IPv6 address in network byte order (IPv4 in the first 4 bytes).
struct SpfIp {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

// inet_pton of either family; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4, as
// RFC 7208 section 5 asks. nullopt for anything else.
std::optional<SpfIp> parse_spf_ip(std::string_view text);
// Same family and the first `bits` bits equal.
bool spf_prefix_match(const SpfIp& a, const SpfIp& b, int bits);

// What the macros of section 7.2 expand to.
struct SpfMacroContext {
  std::string sender;         // s: <local-part>@<domain> of the identity checked
  std::string local_part;     // l
  std::string sender_domain;  // o
  std::string domain;         // d: the domain of the record being evaluated
  SpfIp ip;                   // i, c, v
  std::string helo;           // h
  std::string receiver;       // r ("unknown" when empty)
  int64_t now = 0;            // t: seconds since the epoch
};

// Expands a macro-string. `explanation`: an explanation-string (section 6.2: spaces allowed,
// and the c, r and t macros, which section 7.3 keeps out of domain-specs). nullopt on a syntax
// error (a bad "%" escape, an unknown macro letter, a zero digit transformer, a character
// outside the grammar).
std::optional<std::string> expand_spf_macros(std::string_view text, const SpfMacroContext& ctx,
                                             bool explanation);
// A domain-spec expanded for a DNS query: cut to 253 characters by dropping labels from the
// left (section 7.3); one trailing dot removed.
std::optional<std::string> expand_spf_domain(std::string_view domain_spec,
                                             const SpfMacroContext& ctx);

// RFC 7208 4.3: at least two labels of 1..63 characters, at most 253 in all (one trailing dot
// allowed), no white space or control characters, and a top label that is not all digits.
bool valid_spf_domain(std::string_view domain);

enum class SpfMechanism : uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };

struct SpfDirective {
  SpfResult qualifier = SpfResult::pass;  // pass, fail, softfail or neutral
  SpfMechanism mechanism = SpfMechanism::all;
  std::string domain_spec;  // include, a, mx, ptr, exists; "" = the current domain
  SpfIp network;            // ip4, ip6
  int cidr4 = 32;           // a, mx, ip4
  int cidr6 = 128;          // a, mx, ip6
  std::string text;         // the term as written, for details
};

struct SpfRecord {
  std::vector<SpfDirective> directives;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

// True for a TXT record that starts with the version section "v=spf1" (any case) followed by
// a space or the end (section 4.5).
bool is_spf_record(std::string_view txt);
// The whole record (version included) against the grammar of section 12; false with `error`
// set on any syntax error, an unknown mechanism, a duplicate redirect= or exp= (permerror).
bool parse_spf_record(std::string_view txt, SpfRecord* record, std::string* error);

}  // namespace mailroom::mailauth::spf_internal
