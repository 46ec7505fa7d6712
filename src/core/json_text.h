// JSON text helpers: a JSON string literal (RFC 8259 section 7) for the few places that write
// JSON by hand (layers without Boost.JSON: the HTTP kit's problem details, the journal's
// documents), and valid UTF-8 for every writer (RFC 8259 section 8.1).
#pragma once

#include <string>
#include <string_view>

namespace mailroom::core {

// `text` quoted and escaped: \" \\ \n \r \t, other control bytes and DEL as \u00XX; UTF-8
// passes through.
std::string json_quote(std::string_view text);

// `text` with every malformed UTF-8 sequence (stray or missing continuation bytes, overlong
// forms, surrogates, code points above U+10FFFF) replaced by U+FFFD, one per bad byte: for
// text from the network (raw 8-bit headers in Big5 or GB2312) on its way into JSON or CSV.
std::string utf8_or_replacement(std::string_view text);

// At most `max_bytes` of `text`, cut before a UTF-8 continuation byte so that a multi-byte
// character is kept whole or dropped whole (a decoded Chinese subject clipped to a column).
std::string utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace mailroom::core
