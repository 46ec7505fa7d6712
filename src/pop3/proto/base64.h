// Base64 (RFC 4648 section 4) for SASL challenges and responses (RFC 5034 section 4).
// Written here because it is twenty lines and keeps OpenSSL out of the parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::pop3::proto {

std::string base64_encode(std::string_view data);
// Strict decoding: padding required, no whitespace; nullopt on any invalid input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mailroom::pop3::proto
