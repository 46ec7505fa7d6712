// libFuzzer target: the text the full-text indexer takes from every delivered message
// (src/fts/extract.h). Invariants: no crash, leak or UB; the body and header stay within their
// limits; everything handed to Xapian is valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/fts/extract.h"

using namespace mailroom::fts;

namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ExtractLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_header_bytes = 1024;
  MessageText t = extract_text(in, limits);
  if (t.body.size() > limits.max_body_bytes || t.header.size() > limits.max_header_bytes)
    __builtin_trap();
  for (const std::string* s : {&t.body, &t.header, &t.subject, &t.from, &t.to, &t.cc, &t.bcc}) {
    if (!valid_utf8(*s)) __builtin_trap();
  }
  return 0;
}
