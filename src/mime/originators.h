// Who a message says it is from: the mailboxes of its From and Sender fields (RFC 5322
// 3.6.2), read as mail clients display them, for the submission server's send-as rule.
//
// - Field names match with obsolete syntax too: "From : x" (RFC 5322 4.5.2 obs-from,
//   whitespace before the colon) is a From field, as clients show it.
// - A bare CR in the header block is a line break here (some clients display it as one), so
//   a "From:" hidden after it is found; normalize_header_line_ends() makes the stored message
//   say the same.
// - Every mailbox of every From and Sender field is listed, group members included; a field
//   that yields no complete local@domain mailbox makes the result `unparseable`, and the
//   caller refuses rather than guesses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::mime {

struct Originators {
  std::vector<std::string> addresses;  // "local@domain" as written
  bool unparseable = false;
};

Originators originator_addresses(std::string_view message);

// The message with every bare CR and bare LF in its header block turned into CRLF (the body
// is returned unchanged).
std::string normalize_header_line_ends(std::string_view message);

}  // namespace mailroom::mime
