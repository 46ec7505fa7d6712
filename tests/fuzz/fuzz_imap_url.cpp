// libFuzzer target: the IMAP URL parser (RFC 5092) CATENATE's URLs go through (RFC 4469), and
// the BADURL echo of what a client sent.
// Invariants: no crash, no leak; a parsed URL names a message (UID > 0), a network URL a host
// and a mailbox; a refusal says why; the BADURL text is 1*TEXT-CHAR without ']' or SP.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/imap/proto/imap_url.h"

using namespace mailroom::imap::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto url = parse_imap_url(in, &why);
  if (url) {
    if (url->uid == 0) __builtin_trap();
    if (url->network && (url->host.empty() || !url->has_mailbox)) __builtin_trap();
    if (url->has_mailbox && url->mailbox.empty()) __builtin_trap();
    if (url->section.parts.size() > 64) __builtin_trap();
    if (url->partial && url->partial->second && *url->partial->second == 0) __builtin_trap();
  } else if (why.empty()) {
    __builtin_trap();
  }
  std::string echo = badurl_text(in);
  if (echo.empty() || echo.size() > 3 * 1024) __builtin_trap();
  for (char c : echo) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ']') __builtin_trap();
  }
  return 0;
}
