// The parsers of the web client's network input (pure, no I/O; fuzzed by
// tests/fuzz/fuzz_webmail_form.cpp):
//   - the Cookie request header (RFC 6265 5.4 as browsers send it: "a=1; b=2"), and
//   - application/x-www-form-urlencoded bodies (the sign-in form and the reading pane's
//     frame; WHATWG URL "application/x-www-form-urlencoded parsing"), and
//   - the comma-separated JMAP ids of batch save and folder backup (export.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::webmail {

// The value of the first cookie called `name` in a Cookie header (several Cookie fields are
// joined by ", " by the HTTP kit, so ',' also separates). nullopt when absent. Values are
// returned as sent (a surrounding pair of double quotes removed, RFC 6265 4.1.1).
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// name=value pairs, percent-decoded, '+' as space. nullopt for a malformed escape, more than
// `max_fields` pairs, or a name or value that is not UTF-8.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body,
                                                                           std::size_t max_fields);

// A list of JMAP ids "Mabc,Mdef" (batch save's Email ids, folder backup's Mailbox id): each
// `prefix` then 1 to `max_id` characters of [A-Za-z0-9_-] (RFC 8620 1.2's Id alphabet),
// duplicates dropped (first kept). nullopt when empty, malformed, or more than `max_ids`.
std::optional<std::vector<std::string>> parse_id_list(std::string_view text, char prefix,
                                                      std::size_t max_ids, std::size_t max_id);

}  // namespace mailroom::webmail
