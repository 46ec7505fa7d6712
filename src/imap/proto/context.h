// Internal: the grammar of RFC 5267 4 (CONTEXT=SEARCH, CONTEXT=SORT) that command.cpp calls:
// the RETURN options UPDATE, CONTEXT and PARTIAL, and CANCELUPDATE's arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/imap/proto/command.h"
#include "src/imap/proto/lexer.h"

namespace mailroom::imap::proto {

// The upper-cased atoms of "RETURN (...)" into `ret`: MIN MAX ALL COUNT (RFC 4731 3.1,
// ESORT RFC 5267 3.1), UPDATE CONTEXT PARTIAL low:high (RFC 5267 4). False (lx.fail) on an
// unknown option or a malformed PARTIAL range.
bool return_option_list(Lexer& lx, const std::vector<std::string>& opts, SearchReturn& ret);

// CANCELUPDATE SP quoted *(SP quoted) (RFC 5267 4.3), the tags into cmd.args.
bool cancelupdate_args(Lexer& lx, Command& cmd);

}  // namespace mailroom::imap::proto
