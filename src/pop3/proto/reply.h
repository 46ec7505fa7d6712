// POP3 replies (RFC 1939 section 3, RFC 2449 section 8 response codes): pure formatting.
//
// Multi-line replies are "dot-stuffed": every line that begins with '.' gets one more '.'
// in front, and the reply ends with ".\r\n" (RFC 1939 section 3). Messages go out with CRLF
// line endings whatever the stored bytes used (bare LF and bare CR become CRLF), so the octet
// count of a message is that of its CRLF form (RFC 1939 section 11 "exact size").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::pop3::proto {

// RFC 2449 section 8 / RFC 3206 / RFC 5034 response codes.
enum class RespCode { none, auth, in_use, sys_temp, sys_perm, login_delay };
const char* resp_code_text(RespCode code);  // "AUTH", "IN-USE", ... ("" for none)

// "+OK text\r\n" ("+OK\r\n" when text is empty).
std::string ok(std::string_view text);
// "-ERR [CODE] text\r\n".
std::string err(std::string_view text, RespCode code = RespCode::none);

// Octets of `message` once every line ending is CRLF and the message ends with CRLF
// (an empty message stays empty).
std::size_t crlf_size(std::string_view message);

// Appends `message` as the body of a multi-line reply: CRLF line endings, dot-stuffing, a
// final CRLF if the message lacks one, and the terminating ".\r\n". Returns crlf_size(message)
// (counted on the way, so RETR scans the message once).
std::size_t append_multiline_body(std::string& out, std::string_view message);

// RFC 1939 TOP: the header, the blank line and the first `lines` body lines of `message`.
// *whole is set when the result is the entire message (so TOP counts as a retrieval).
std::string_view top_of(std::string_view message, uint32_t lines, bool* whole);

}  // namespace mailroom::pop3::proto
