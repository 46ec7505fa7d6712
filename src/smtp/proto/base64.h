// RFC 4648 section 4 base64 for SASL exchanges (RFC 4954 section 4). Strict decoding:
// no whitespace, correct padding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::smtp::proto {

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mailroom::smtp::proto
