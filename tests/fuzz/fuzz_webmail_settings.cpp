// libFuzzer target: the settings screens' request bodies (src/webmail/settings_request.h).
// Invariants: no crash, leak or UB; an accepted body named only allowed members, each string
// within kMaxSettingsString, at most kMaxSettingsProtocols protocols; a body over
// kMaxSettingsBody is refused.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/webmail/settings_request.h"

using namespace mailroom::webmail;

namespace {
void check_string(const std::optional<std::string>& s) {
  if (s && s->size() > kMaxSettingsString) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto lists = parse_settings_body(in, {"entry"});
  if (lists && (lists->ads || lists->name || lists->protocols)) std::abort();
  auto all = parse_settings_body(in, {"entry", "ads", "blocked", "name", "protocols"});
  if (all) {
    if (in.size() > kMaxSettingsBody) std::abort();
    for (const auto* s : {&all->entry, &all->ads, &all->blocked, &all->name}) check_string(*s);
    if (all->protocols) {
      if (all->protocols->size() > kMaxSettingsProtocols) std::abort();
      for (const auto& p : *all->protocols) {
        if (p.size() > kMaxSettingsString) std::abort();
      }
    }
  }
  return 0;
}
