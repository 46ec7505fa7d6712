// RFC 6152 3 / RFC 1652: a message with 8-bit body data for a peer without 8BITMIME is
// converted to 7 bits: every 8-bit or binary leaf part is re-encoded (quoted-printable or
// base64, whichever GMime finds shorter for the part) and the structure kept. A header block
// with 8-bit bytes cannot be converted this way (that needs SMTPUTF8): nullopt.
#pragma once

#include <optional>
#include <string>

namespace mailroom::outbound {

// `binary`: the message came as BINARYMIME (RFC 3030): its parts are taken byte for byte (a
// CRLF inside binary content stays); otherwise line ends are text and become LF for GMime.
std::optional<std::string> downgrade_to_7bit(const std::string& message, bool binary = false);

}  // namespace mailroom::outbound
