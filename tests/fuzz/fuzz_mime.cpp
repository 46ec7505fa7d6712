// libFuzzer target: the MIME parser that IMAP's FETCH, SEARCH and the send-as check read
// every delivered message with. Invariants: no crash, leak or UB, no unbounded recursion;
// every part's header and body lie inside its parent and the message; the facts blob decodes
// back; every IMAP section resolves inside the message; originators parse; previews stay within
// their bound; parameters (attachment names) decode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/mime/facts.h"
#include "src/mime/originators.h"

using namespace mailroom::mime;

namespace {

void check_node(const PartNode& n, uint64_t begin, uint64_t end, int depth) {
  if (depth > 200) __builtin_trap();
  for (const Range* r : {&n.header, &n.body}) {
    if (r->begin > r->end || r->begin < begin || r->end > end) __builtin_trap();
  }
  for (const auto& c : n.children) check_node(c, begin, end, depth + 1);
}

void walk_sections(const PartNode& root, std::vector<uint32_t>& parts, uint64_t size, int depth) {
  for (uint32_t i = 1; i <= 3; ++i) {
    parts.push_back(i);
    for (auto t : {SectionText::none, SectionText::header, SectionText::text, SectionText::mime}) {
      SectionRef ref{parts, t};
      auto r = locate_section(root, ref);
      if (r && (r->begin > r->end || r->end > size)) __builtin_trap();
    }
    if (depth < 3) walk_sections(root, parts, size, depth + 1);
    parts.pop_back();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  Facts f = parse_facts(msg);
  check_node(f.root, 0, size, 0);
  auto blob = extract_facts(msg);
  auto back = decode_facts(blob);
  if (!back || back->bodystructure != f.bodystructure || back->envelope != f.envelope) {
    __builtin_trap();
  }
  std::vector<uint32_t> parts;
  walk_sections(f.root, parts, size, 0);
  auto o = originator_addresses(msg);
  for (const auto& a : o.addresses) {
    if (a.find('@') == std::string::npos) __builtin_trap();
  }
  std::string normalized = normalize_header_line_ends(msg);
  if (normalized.size() < size) __builtin_trap();
  (void)decoded_body_text(msg.substr(0, 16384));
  // RFC 8970 previews: at most kPreviewChars characters of valid UTF-8 sequences' starts.
  for (const std::string& p : {preview_text(msg.substr(0, 16384)), preview_from_text(msg, true)}) {
    size_t chars = 0;
    for (unsigned char c : p) chars += (c & 0xC0) != 0x80;
    if (chars > kPreviewChars) __builtin_trap();
  }
  // Attachment names: RFC 2231 / RFC 2047 parameters (the web client's attachment list).
  (void)decoded_param(msg.substr(0, 4096), "filename");
  return 0;
}
