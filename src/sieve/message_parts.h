// Internal: the pieces of a message the interpreter reads (header fields in order, the body,
// MIME parts by content type for body :content).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/sieve/interpreter.h"

namespace mailroom::sieve {

// Splits `message` into header fields (name as written, raw value after the colon, folding
// kept with CRLF) and the body after the blank line. Lines that are not fields are dropped.
void split_header(std::string_view message, std::vector<HeaderField>& fields,
                  std::string_view& body);

// RFC 5173 5.2 :content: the leaf parts whose Content-Type matches one of `types` ("text"
// matches text/*, "text/plain" only that; "" matches every part); text/* parts decoded to
// UTF-8, others as they are. multipart/* and message/rfc822 types match nothing here.
std::vector<std::string> parts_of_types(std::string_view message,
                                        const std::vector<std::string>& types);

}  // namespace mailroom::sieve
