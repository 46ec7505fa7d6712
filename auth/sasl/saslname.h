// The saslname of the GS2 header (RFC 5801 4) and of SCRAM (RFC 5802 5.1): "=2C" stands for
// ",", "=3D" for "="; any other "=" and a raw "," are errors. Shared by SCRAM and OAUTHBEARER
// (internal header).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::auth {

std::optional<std::string> decode_saslname(std::string_view s);

}  // namespace mailroom::auth
