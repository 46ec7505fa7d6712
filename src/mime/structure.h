// Internal: the MIME structure parser (offsets) and the IMAP strings built from it.
#pragma once

#include <string>
#include <string_view>

#include "src/mime/facts.h"
#include "src/mime/header_fields.h"

namespace mailroom::mime {

// RFC 3501 string forms: NIL for nullopt, a quoted string when the text allows it, else a
// literal {n}CRLF text (8-bit bytes, CR, LF, NUL).
std::string imap_nstring(const std::optional<std::string>& s);
std::string imap_string(std::string_view s);

// Parses `message` and fills root offsets, envelope, bodystructure and body.
void parse_structure(std::string_view message, Facts& facts);
std::string build_envelope(const std::vector<Field>& fields);

}  // namespace mailroom::mime
