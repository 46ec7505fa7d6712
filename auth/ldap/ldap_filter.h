// LDAP filter building: every value from a client or a directory answer goes through
// escape_filter_value (RFC 4515 section 3) before it reaches a filter.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::auth::ldap {

// RFC 4515 section 3: '*' '(' ')' '\' NUL become \2a \28 \29 \5c \00. Other bytes (UTF-8
// included) are kept as they are (valid in a filter value as UTF-8).
std::string escape_filter_value(std::string_view value);

// Every byte as \xx (binary values such as objectGUID).
std::string escape_filter_bytes(std::string_view bytes);

// Expands a template: %s the escaped key, %u the escaped local part (the whole key when there
// is no '@'), %d the escaped domain (empty when there is no '@'), %% a literal '%'.
std::string expand_filter(std::string_view templ, std::string_view key);

// RFC 4514 section 2.4: escapes a value for use inside a DN (used in tests and scripts).
std::string escape_dn_value(std::string_view value);

}  // namespace mailroom::auth::ldap
