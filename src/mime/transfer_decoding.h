// Content-Transfer-Encoding of a MIME part and its decoding (RFC 2045 section 6), for IMAP
// FETCH BINARY (RFC 3516) and BINARY.SIZE.
//
// Contract: pure functions over the part's octets, thread-safe, never fail. Decoding is
// lenient as RFC 2045 asks of readers: base64 ignores characters outside its alphabet and
// stops at the padding (6.8); quoted-printable keeps an "=" that starts no valid escape as it
// is and drops the white space before a line break (6.7). decoded_size() counts what decode()
// would produce without building it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::mime {

enum class TransferEncoding : uint8_t {
  identity,  // absent, 7bit, 8bit or binary: the octets are the content
  base64,
  quoted_printable,
  unknown,  // anything else (x-uuencode, a typo...): IMAP answers NO [UNKNOWN-CTE]
};

// The encoding named by the Content-Transfer-Encoding field of a header block (the first such
// field; case-insensitive, comments and white space ignored).
TransferEncoding transfer_encoding(std::string_view header);

// The decoded octets, at most `limit` of them (the rest of the part is not decoded).
std::string decode_transfer(std::string_view body, TransferEncoding enc,
                            uint64_t limit = UINT64_MAX);
// decode_transfer(body, enc).size() without the copy.
uint64_t decoded_size(std::string_view body, TransferEncoding enc);

}  // namespace mailroom::mime
