// libFuzzer target: what the spam filter reads from rspamd and from a message: a /checkv2
// answer (parse_rspamd_reply), the X-Spam-* fields and verdict made of it, and the header
// block as the filters read it (bulk headers, personal-list matching), and the same bytes
// as an Authentication-Results value turned into rspamd's Settings header.
// Invariants: no crash, leak or UB; a parsed reply has finite bounded scores, a known action,
// at most kMaxSymbols symbols with word names, sorted; every header value built from it is one
// line of printable ASCII within the policy's cap.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/filter/personal_lists.h"
#include "src/filter/rspamd_reply.h"

using namespace mailroom::filter;

namespace {

bool one_printable_line(const std::string& s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto reply = parse_rspamd_reply(input);
  if (reply) {
    if (!std::isfinite(reply->score) || std::fabs(reply->score) > kMaxScore) __builtin_trap();
    if (!std::isfinite(reply->required_score)) __builtin_trap();
    if (reply->symbols.size() > kMaxSymbols) __builtin_trap();
    for (size_t i = 0; i < reply->symbols.size(); ++i) {
      const auto& s = reply->symbols[i];
      if (s.name.empty() || s.name.size() > kMaxSymbolName) __builtin_trap();
      if (i > 0 && reply->symbols[i - 1].score < s.score) __builtin_trap();
    }
    if (!one_printable_line(reply->smtp_message)) __builtin_trap();
    SpamPolicy policy;
    policy.symbols_header_bytes = 40 + size % 950;
    for (const auto& [name, value] : spam_headers(*reply, policy)) {
      if (!one_printable_line(value)) __builtin_trap();
      if (name == "X-Spam-Symbols" && value.size() > policy.symbols_header_bytes) __builtin_trap();
    }
    (void)decide_spam(*reply, policy, has_bulk_headers(input));
  }
  // The same bytes as a message: the header-block readers must hold up too.
  (void)has_bulk_headers(input);
  // As an Authentication-Results value: a Settings header made of known words only.
  std::string settings = rspamd_auth_settings(input);
  if (!settings.empty()) {
    if (!settings.starts_with("{groups_disabled = [") || !settings.ends_with("]}")) {
      __builtin_trap();
    }
    for (char c : settings) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ' ' ||
                c == '"' || c == ',' || c == ';' || c == '=' || c == '[' || c == ']' || c == '{' ||
                c == '}';
      if (!ok) __builtin_trap();
    }
  }
  PersonalLists lists;
  lists.block.push_back({"domain", "bad.example"});
  lists.allow.push_back({"sender", "boss@corp.example"});
  (void)match_personal_lists(lists, "x@y.example", input);
  return 0;
}
