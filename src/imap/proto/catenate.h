// Internal: the CATENATE argument of APPEND (RFC 4469 5), parsed by command.cpp's append-message.
#pragma once

#include "src/imap/proto/command.h"
#include "src/imap/proto/lexer.h"

namespace mailroom::imap::proto {

// After the keyword CATENATE: SP "(" cat-part *(SP cat-part) ")" into `m` (m.catenate set).
bool parse_catenate(Lexer& lx, AppendMessage& m);

}  // namespace mailroom::imap::proto
