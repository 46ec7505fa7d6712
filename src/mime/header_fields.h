// Internal: RFC 5322 header fields, structured-field tokens and address lists.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::mime {

struct Field {
  std::string_view name;
  std::string value;  // unfolded (CRLF before WSP removed), leading WSP trimmed
};

// Splits a header block into fields. Lines that are not "name:" fields are skipped.
std::vector<Field> parse_fields(std::string_view header);
const Field* find_field(const std::vector<Field>& fields, std::string_view name);

struct Param {
  std::string name;   // as written
  std::string value;  // quotes removed
};

// "type/subtype; a=b; c="d"" (RFC 2045 5.1). Comments are ignored.
struct ContentType {
  std::string type, subtype;  // as written; empty when missing or malformed
  std::vector<Param> params;
  std::optional<std::string> param(std::string_view name) const;
};
ContentType parse_content_type(std::string_view value);
// "attachment; filename=x" (RFC 2183).
struct Disposition {
  std::string type;
  std::vector<Param> params;
};
Disposition parse_disposition(std::string_view value);

// One entry of an RFC 5322 address-list as IMAP's ENVELOPE needs it (RFC 3501 7.4.2).
struct EnvelopeAddress {
  enum class Kind { mailbox, group_start, group_end } kind = Kind::mailbox;
  std::optional<std::string> name, route, mailbox, host;
};
std::vector<EnvelopeAddress> parse_address_list(std::string_view value);

// RFC 5322 date-time -> epoch seconds and zone minutes; nullopt when unparseable.
std::optional<std::pair<int64_t, int32_t>> parse_date_time(std::string_view value);

bool ascii_iequals(std::string_view a, std::string_view b);
std::string ascii_lower(std::string_view s);

}  // namespace mailroom::mime
