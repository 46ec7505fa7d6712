#include "src/mime/originators.h"

#include "src/mime/header_fields.h"

namespace mailroom::mime {

namespace {

// Length of the header block including the empty line that ends it (CRLF, LF or CR based).
std::size_t header_block_length(std::string_view m) {
  std::size_t i = 0;
  bool line_start = true;
  while (i < m.size()) {
    char c = m[i];
    if (c == '\r' || c == '\n') {
      std::size_t eol = (c == '\r' && i + 1 < m.size() && m[i + 1] == '\n') ? 2 : 1;
      if (line_start) return i + eol;
      line_start = true;
      i += eol;
      continue;
    }
    line_start = false;
    ++i;
  }
  return m.size();
}

}  // namespace

std::string normalize_header_line_ends(std::string_view message) {
  std::size_t end = header_block_length(message);
  std::string out;
  out.reserve(message.size() + 16);
  for (std::size_t i = 0; i < end; ++i) {
    char c = message[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < end && message[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  out.append(message.substr(end));
  return out;
}

Originators originator_addresses(std::string_view message) {
  std::string header = normalize_header_line_ends(message.substr(0, header_block_length(message)));
  Originators out;
  for (const auto& f : parse_fields(header)) {
    if (!ascii_iequals(f.name, "From") && !ascii_iequals(f.name, "Sender")) continue;
    bool any = false;
    for (const auto& a : parse_address_list(f.value)) {
      if (a.kind != EnvelopeAddress::Kind::mailbox) continue;
      if (!a.mailbox || a.mailbox->empty() || !a.host || a.host->empty() ||
          *a.host == "MISSING_DOMAIN") {
        out.unparseable = true;
        continue;
      }
      out.addresses.push_back(*a.mailbox + "@" + *a.host);
      any = true;
    }
    if (!any) out.unparseable = true;
  }
  return out;
}

}  // namespace mailroom::mime
