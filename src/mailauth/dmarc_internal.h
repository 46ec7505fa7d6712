// The pure parts of DMARC (dmarc.h) shared by its .cpp files and reached by the unit tests:
// domain names to A-labels, the header block with byte positions, the author domain of the
// From field and the DMARC record. No I/O here. Not for other modules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/mailauth/dmarc.h"

namespace mailroom::mailauth::detail {

// RFC 3492 Punycode of one label given in UTF-8 ("bücher" -> "bcher-kva", without "xn--").
// False on invalid UTF-8 or a result that cannot be a DNS label.
bool psl_punycode(std::string_view utf8_label, std::string* out);

// A host name in the form DNS and the Public Suffix List lookups use: ASCII lower-cased,
// each non-ASCII label lower-cased in its ASCII letters only (no Unicode case folding or NFC:
// senders are expected to send them normalized) and encoded "xn--" + Punycode; one trailing
// dot dropped. "" when it is not a usable host name (empty label, characters other than
// letters, digits, hyphens and underscores, a label over 63 or a name over 253 octets).
std::string psl_ascii_domain(std::string_view domain);

// One header field with its place in the message: [begin, end) covers the name, the value,
// every continuation line and the final line break. `name` is what precedes the colon with
// trailing WSP removed ("" for a line that has no colon or starts with WSP: kept as is by
// every caller); `value` follows the colon, folds included.
struct ArField {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view name;
  std::string_view value;
};
// The header block of `message` (CRLF or bare LF lines): everything before the first empty
// line, or the whole message when there is none. `*header_end` (optional) gets the offset of
// that empty line (message.size() when there is none).
std::vector<ArField> ar_header_fields(std::string_view message, std::size_t* header_end = nullptr);

// RFC 2045 tspecials: the characters that end a token.
bool ar_tspecial(char c);

// The authserv-id of an Authentication-Results value (RFC 8601 2.2): the first token or
// quoted string after CFWS, unquoted. "" when there is none.
std::string ar_authserv_id(std::string_view value);

// The author domains of the message (RFC 7489 6.6.1): the domain of every mailbox of every
// From field, in A-label form. `from_fields` counts the From fields; `error` is set when a
// From field holds something that is not a mailbox with a usable domain.
struct DmarcAuthors {
  std::size_t from_fields = 0;
  std::vector<std::string> domains;  // one per mailbox, in order, duplicates kept
  std::string error;
};
DmarcAuthors dmarc_author_domains(std::string_view message);

// A DMARC policy record (RFC 7489 6.3, 6.4).
struct DmarcRecord {
  // False: apply no DMARC processing (RFC 7489 6.6.3 step 6: p= missing or invalid, or sp=
  // invalid, and no valid rua=). An invalid p=/sp= with a valid rua= reads as p=none.
  bool usable = false;
  DmarcPolicy p = DmarcPolicy::none;
  bool has_sp = false;
  DmarcPolicy sp = DmarcPolicy::none;
  bool strict_dkim = false;  // adkim=s
  bool strict_spf = false;   // aspf=s
  int pct = 100;
  std::string detail;  // why it is not usable, or what was read as p=none
};
// True when the TXT record starts with the tag v=DMARC1 (exact, RFC 7489 6.3 "v"): others at
// _dmarc are discarded (6.6.3 step 3).
bool dmarc_is_record(std::string_view txt);
// Parses a record for which dmarc_is_record() holds. Unknown tags are ignored; invalid values
// of adkim, aspf and pct fall back to their defaults (RFC 7489 6.3: "discarded in favor of
// default values").
DmarcRecord dmarc_parse_record(std::string_view txt);

}  // namespace mailroom::mailauth::detail
