// The text of an HTML part, for the preview (preview.cpp) and the full-text index (src/fts).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailroom::mime {

// Tags, comments and the content of script, style, head and title dropped, tags as spaces
// ("a<br>b" keeps two words), character references decoded. Stops once the text reaches
// `max_bytes` (it may end a few octets past it, or inside a UTF-8 sequence of the input).
// Linear in the input.
std::string html_text(std::string_view html, size_t max_bytes);

}  // namespace mailroom::mime
