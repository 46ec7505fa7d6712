// Internal: the grammar of the ACL commands (RFC 4314 3) that command.cpp calls.
//   SETACL SP mailbox SP identifier SP mod-rights
//   DELETEACL SP mailbox SP identifier
//   GETACL SP mailbox / MYRIGHTS SP mailbox
//   LISTRIGHTS SP mailbox SP identifier
// Every argument is an astring, kept in cmd.args in order (the mailbox still modified UTF-7);
// their meaning (identifiers, rights letters) is the session's business (src/imap/acl.h).
#pragma once

#include <string>

#include "src/imap/proto/command.h"
#include "src/imap/proto/lexer.h"

namespace mailroom::imap::proto {

// True for SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS (upper-case names).
bool is_acl_command(const std::string& name);

// The arguments of cmd.name (one of the above) into cmd.args; false (lx.fail) when malformed.
bool acl_args(Lexer& lx, Command& cmd);

}  // namespace mailroom::imap::proto
