// libFuzzer target: the web client's parsers of network input (src/webmail/form.h): the
// Cookie header and application/x-www-form-urlencoded bodies (sign-in, reading-pane frame),
// and the static-file path check (src/webmail/static_files.h) on the decoded path.
// Invariants: no crash, leak or UB; a parsed form has at most max_fields pairs and only UTF-8;
// a cookie value is a substring of the header; an accepted path never climbs out of the root
// (no "..", no leading '/', no empty or dot segment).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/core/json_text.h"
#include "src/webmail/form.h"
#include "src/webmail/static_files.h"

using namespace mailroom::webmail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto form = parse_form(in, 8);
  if (form) {
    if (form->size() > 8) std::abort();
    for (const auto& [k, v] : *form) {
      if (mailroom::core::utf8_or_replacement(k) != k) std::abort();
      if (mailroom::core::utf8_or_replacement(v) != v) std::abort();
    }
  }
  auto cookie = cookie_value(in, "mailroom_session");
  if (cookie && in.find(*cookie) == std::string_view::npos) std::abort();
  if (safe_relative_path(in)) {
    if (in.front() == '/' || in.front() == '.' || in.find("//") != std::string_view::npos ||
        in.find("/.") != std::string_view::npos || in.find('\\') != std::string_view::npos)
      std::abort();
  }
  return 0;
}
