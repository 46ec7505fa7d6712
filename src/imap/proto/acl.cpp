// RFC 4314 3: the ACL commands' arguments (see acl.h).
#include "src/imap/proto/acl.h"

namespace mailroom::imap::proto {
namespace {

// How many astrings each command takes after its name.
int arity(const std::string& n) {
  if (n == "SETACL") return 3;
  if (n == "DELETEACL" || n == "LISTRIGHTS") return 2;
  if (n == "GETACL" || n == "MYRIGHTS") return 1;
  return 0;
}

}  // namespace

bool is_acl_command(const std::string& name) { return arity(name) != 0; }

bool acl_args(Lexer& lx, Command& cmd) {
  int n = arity(cmd.name);
  for (int i = 0; i < n; ++i) {
    if (!lx.sp()) return false;
    auto s = lx.astring();
    if (!s) return false;
    cmd.args.push_back(std::move(*s));
  }
  return true;
}

}  // namespace mailroom::imap::proto
