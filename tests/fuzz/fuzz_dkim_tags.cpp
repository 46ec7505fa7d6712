// libFuzzer target: what DKIM verification reads from a message and from DNS (RFC 6376): the
// tag-list (3.2), the DKIM-Signature's tags (3.5), the key record (3.6.1), and the
// canonicalizations (3.4) with the header/body split, on arbitrary bytes. The first byte
// picks what is fuzzed; the rest is the text.
// Invariants: no crash, leak or UB; tag offsets lie inside the text and cut out the value;
// b= lies inside the signature value; a refusal has a reason; the relaxed canonicalizations
// are idempotent, leave no WSP run, line break or CR in a header value and end a non-empty
// body in CRLF; the simple body ends in exactly one CRLF after the last non-empty line.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"
#include "src/mailauth/dkim_verify_internal.h"

using namespace mailroom::mailauth;
using namespace mailroom::mailauth::detail;

namespace {

bool ends_crlf(const std::string& s) {
  return s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0;
}

void check_tag_list(std::string_view text) {
  auto tags = parse_tag_list(text);
  if (!tags.is_ok()) {
    if (tags.status().client_message().empty()) __builtin_trap();
    return;
  }
  std::set<std::string> names;
  for (const DkimTag& t : tags.value()) {
    if (t.name.empty() || !names.insert(t.name).second) __builtin_trap();
    if (t.value_begin > t.value_end || t.value_end > text.size()) __builtin_trap();
    std::string_view raw = text.substr(t.value_begin, t.value_end - t.value_begin);
    if (raw.find(t.value) == std::string_view::npos) __builtin_trap();
    (void)strip_fws(t.value);
  }
}

void check_signature(std::string_view text) {
  DkimSignatureTags tags;
  DkimSignatureResult report;
  auto status = parse_signature(text, &tags, &report);
  if (!status.is_ok()) {
    if (status.client_message().empty()) __builtin_trap();
    return;
  }
  if (tags.b_begin > tags.b_end || tags.b_end > text.size()) __builtin_trap();
  if (tags.headers.empty() || tags.headers.size() > kDkimMaxSignedHeaders) __builtin_trap();
  if (tags.domain.empty() || tags.selector.empty()) __builtin_trap();
}

void check_key_record(std::string_view text) {
  auto key = parse_key_record(text);
  if (!key.is_ok() && key.status().client_message().empty()) __builtin_trap();
}

void check_headers(std::string_view text) {
  std::vector<HeaderField> fields;
  std::string body;
  split_message(text, &fields, &body);
  if (body.size() > text.size()) __builtin_trap();
  for (const HeaderField& f : fields) {
    // The name is only lower-cased and stripped of WSP (a CR inside it stays: such a field
    // cannot be named in h=); the value is unfolded and its WSP compressed.
    std::string relaxed = relaxed_header(f.name, f.value);
    std::size_t colon = relaxed.find(':');
    if (colon == std::string::npos) __builtin_trap();
    std::string_view value = std::string_view(relaxed).substr(colon + 1);
    if (value.find_first_of("\r\n\t") != std::string::npos) __builtin_trap();
    if (value.find("  ") != std::string::npos) __builtin_trap();
    if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) __builtin_trap();
    if (relaxed_header(relaxed.substr(0, colon), relaxed.substr(colon + 1)) != relaxed) {
      __builtin_trap();
    }
    std::string simple = simple_header(f.name, f.value);
    if (simple.size() > f.name.size() + 1 + f.value.size()) __builtin_trap();
  }
}

void check_body(std::string_view text) {
  const std::string body(text);
  std::string relaxed = relaxed_body(body);
  if (!relaxed.empty() && !ends_crlf(relaxed)) __builtin_trap();
  if (relaxed_body(relaxed) != relaxed) __builtin_trap();
  std::string simple = simple_body(body);
  if (!ends_crlf(simple)) __builtin_trap();
  if (simple.size() >= 4 && simple.compare(simple.size() - 4, 4, "\r\n\r\n") == 0) {
    __builtin_trap();
  }
  if (simple_body(simple) != simple) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      check_tag_list(text);
      break;
    case 1:
      check_signature(text);
      break;
    case 2:
      check_key_record(text);
      break;
    case 3:
      check_headers(text);
      break;
    default:
      check_body(text);
      break;
  }
  return 0;
}
