// The IMAP URL scheme (RFC 5092) as CATENATE (RFC 4469 3) takes it: a URL naming a message or
// a part of one on this server. Pure: parsing only; the session checks the host and user and
// resolves the mailbox, UIDVALIDITY, UID and section against the store (commands/catenate.cpp).
//
// Accepted forms (RFC 5092 7 and 11):
//   imap://user[;AUTH=mech]@host[:port]/mailbox[;UIDVALIDITY=n]/;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]
//   /mailbox[;UIDVALIDITY=n]/;UID=m[...]       absolute path: the server of the session
//   mailbox[;UIDVALIDITY=n]/;UID=m[...]        relative path, also against the server
//   ;UID=m[...]  or  /;UID=m[...]              the selected mailbox
// Keywords are case-insensitive; ";SECTION=" and ";PARTIAL=" are also accepted without the
// "/" before them (RFC 4469's own example writes "/;UID=113330;section=1.5.9"). The mailbox
// name is percent-encoded UTF-8 (RFC 5092 3.3 / 9). URLAUTH (";EXPIRE=", ";URLAUTH=",
// RFC 4467) and message lists ("?search") parse as unsupported: the caller answers BADURL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/mime/facts.h"

namespace mailroom::imap::proto {

struct ImapUrl {
  bool network = false;       // "imap://..." (then user/host/port are set)
  std::string user;           // percent-decoded enc-user ("" when absent)
  bool auth = false;          // ";AUTH=" was given (accepted, not checked: the session is ours)
  std::string host;           // as written, lower-cased; IPv6 without the brackets
  bool has_mailbox = false;   // false: the selected mailbox (";UID=..." relative form)
  std::string mailbox;        // percent-decoded, '/'-separated UTF-8
  uint32_t uid_validity = 0;  // 0: not given
  uint32_t uid = 0;
  mime::SectionRef section;         // empty parts and text none: the whole message
  std::vector<std::string> fields;  // HEADER.FIELDS (...) names
  std::optional<std::pair<uint64_t, std::optional<uint64_t>>> partial;  // offset, length
};

// Longest URL taken (the command line bounds it anyway).
constexpr size_t kMaxImapUrl = 8192;

// nullopt (with a reason in *why when given) when `url` is not one of the forms above.
std::optional<ImapUrl> parse_imap_url(std::string_view url, std::string* why = nullptr);

// The URL as a BADURL response code may echo it (RFC 4469 5, errata 2002/4046: a bare URL of
// TEXT-CHARs without "]"): other octets percent-encoded, cut to a bounded length.
std::string badurl_text(std::string_view url);

}  // namespace mailroom::imap::proto
