// The parser of the settings screens' request bodies (settings.h): one small JSON object per
// request, pure (no I/O), fuzzed by tests/fuzz/fuzz_webmail_settings.cpp.
//
//   {"entry": "spam@bad.example"}                  a block/allow list entry
//   {"ads": "inbox|folder", "blocked": "discard|junk"}
//   {"name": "Phone", "protocols": ["imap", "smtp"]}
//
// Only the members a route names are accepted (an unknown one is an error naming it, as the
// admin API answers); each must be a string (protocols: an array of strings). The values are
// not judged here: the service layer validates them as it does for mailroomctl and the admin
// API, so the limits are the same. Bounds: the body at most kMaxSettingsBody bytes, a string
// at most kMaxSettingsString, at most kMaxSettingsProtocols protocols.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::webmail {

inline constexpr std::size_t kMaxSettingsBody = 4096;
inline constexpr std::size_t kMaxSettingsString = 512;
inline constexpr std::size_t kMaxSettingsProtocols = 8;

struct SettingsBody {
  std::optional<std::string> entry;
  std::optional<std::string> ads;
  std::optional<std::string> blocked;
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> protocols;
};

// invalid_argument (client-safe text) for a body that is not such an object.
core::Result<SettingsBody> parse_settings_body(std::string_view body,
                                               std::initializer_list<std::string_view> allowed);

}  // namespace mailroom::webmail
