// The header block of a message as the filters read it: field names lower-cased, folded values
// unfolded (RFC 5322 2.2.3), up to the first empty line. Nothing is decoded; a line without a
// colon is skipped. Bounded by the message's own size.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::filter {

// {lower-case name, raw value after the colon} for each field, in order.
std::vector<std::pair<std::string, std::string>> header_fields(std::string_view message);

// The addr-specs of an address-list value ("A <a@x>, b@y (c)"): lower-cased, each with one '@';
// groups, comments and quoted display names are skipped, not parsed to the letter.
std::vector<std::string> header_addresses(std::string_view value);

}  // namespace mailroom::filter
