// libFuzzer target: the web client's parsers of network input (src/webmail/form.h): the
// Cookie header and application/x-www-form-urlencoded bodies (sign-in, reading-pane frame),
// the static-file path check (src/webmail/static_files.h) on the decoded path, and the id
// lists of batch save and folder backup (parse_id_list).
// Invariants: no crash, leak or UB; a parsed form has at most max_fields pairs and only UTF-8;
// a cookie value is a substring of the header; an accepted path never climbs out of the root
// (no "..", no leading '/', no empty or dot segment); an id list has at most max_ids distinct
// ids, each the prefix then 1..max_id characters of [A-Za-z0-9_-].
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

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
  for (auto [prefix, max_ids, max_id] : {std::tuple{'M', std::size_t{4}, std::size_t{32}},
                                         std::tuple{'F', std::size_t{1}, std::size_t{64}}}) {
    auto ids = parse_id_list(in, prefix, max_ids, max_id);
    if (!ids) continue;
    if (ids->empty() || ids->size() > max_ids) std::abort();
    std::set<std::string> distinct(ids->begin(), ids->end());
    if (distinct.size() != ids->size()) std::abort();
    for (const auto& id : *ids) {
      if (id.size() < 2 || id.size() > max_id + 1 || id[0] != prefix) std::abort();
      for (char c : id.substr(1)) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') std::abort();
      }
    }
  }
  return 0;
}
