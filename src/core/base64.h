// Base64 (RFC 4648 section 4) for SASL challenges and responses in SMTP (RFC 4954), IMAP
// (RFC 3501 AUTHENTICATE, RFC 4959) and POP3 (RFC 5034). Twenty lines kept here so the
// protocol parsers need no OpenSSL.
// Strict decoding: padding required, no whitespace, zero padding bits (RFC 4648 section 3.5);
// nullopt on any invalid input. Also hex_encode, the one hex encoder of the code base.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::core {

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);
// The value of one character of the alphabet, -1 for any other (lenient decoders such as
// MIME's, RFC 2045 6.8, skip those).
int base64_value(char c);

// Lower-case hexadecimal of `data` (digests, random ids), two digits per byte.
std::string hex_encode(std::string_view data);

}  // namespace mailroom::core
