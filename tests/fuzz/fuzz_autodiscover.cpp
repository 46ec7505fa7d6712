// libFuzzer target: the Outlook Autodiscover POX request reader (an unauthenticated endpoint)
// and the XML escaping its answers use, on arbitrary bytes.
// Invariants: no crash, leak, UB or unbounded work; an accepted request's address has no
// control character XML forbids (tab, LF, CR may come from references and fail the address
// check later); escaping any input yields text with no raw '<', '&' or '"' left unescaped.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/api/autoconfig.h"

using namespace mailroom::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_autodiscover_request(in);
  if (r) {
    for (unsigned char c : r->email) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') __builtin_trap();
    }
  } else if (r.status().client_message().empty()) {
    __builtin_trap();
  }
  std::string escaped = autoconfig_xml_escape(in);
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '<' || escaped[i] == '"') __builtin_trap();
    if (escaped[i] == '&' && escaped.find(';', i) == std::string::npos) __builtin_trap();
  }
  return 0;
}
