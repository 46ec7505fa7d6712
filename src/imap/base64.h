// Internal: base64 for SASL exchanges (RFC 4648 section 4, strict: padding required).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap {
std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);
}  // namespace mailroom::imap
