// Mail addresses (RFC 5321 section 4.1.2 "Mailbox"), parsed once and compared normalized.
//
// Lookups are case-insensitive in both parts (what users expect of corporate mail, and what
// Postfix/Dovecot do by default); the original spelling is kept for display. UTF-8 local parts
// (RFC 6531) are accepted by the parser; whether a directory accepts them is the Resolver's
// rule, applied in one place.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::core {

struct Address {
  std::string local;   // as written, unquoted (quoted-string content with escapes removed)
  std::string domain;  // as written, without brackets for address literals

  // "local@domain" with the local part quoted when needed.
  std::string str() const;
  // Lower-cased ASCII of local@domain, for lookups and keys.
  std::string key() const;
  bool has_utf8() const;
};

// Parses "local@domain" (no angle brackets). Accepts dot-atoms, quoted local parts and
// UTF-8 (RFC 6531). Rejects empty parts, source routes, missing '@', control characters,
// and domains that are not dot-separated labels or address literals.
std::optional<Address> parse_address(std::string_view text);

// ASCII lower-casing (UTF-8 bytes pass through unchanged).
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace mailroom::core
