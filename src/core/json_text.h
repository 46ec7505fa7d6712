// A JSON string literal (RFC 8259 section 7) for the few places that write JSON by hand
// (layers without Boost.JSON: the HTTP kit's problem details, the journal's documents).
#pragma once

#include <string>
#include <string_view>

namespace mailroom::core {

// `text` quoted and escaped: \" \\ \n \r \t, other control bytes and DEL as \u00XX; UTF-8
// passes through.
std::string json_quote(std::string_view text);

}  // namespace mailroom::core
