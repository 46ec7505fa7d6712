// Modified UTF-7 mailbox names (RFC 3501 section 5.1.3) <-> UTF-8 as the store keeps them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap::proto {

// UTF-8 -> modified UTF-7. Invalid UTF-8 input gives nullopt.
std::optional<std::string> utf8_to_mutf7(std::string_view utf8);

// Strict decoding: nullopt for bytes outside 0x20..0x7e, an unterminated "&...", base64
// that is not a whole number of UTF-16 units or has non-zero pad bits, a shifted printable
// ASCII character, adjacent shifted sequences ("&AGE-&AGE-"), unpaired surrogates.
std::optional<std::string> mutf7_to_utf8(std::string_view mutf7);

// Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or values above U+10FFFF), as
// UTF8=ACCEPT sessions send mailbox names and quoted strings (RFC 6855 3).
bool valid_utf8(std::string_view s);

}  // namespace mailroom::imap::proto
