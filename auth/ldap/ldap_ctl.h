// Empty since `mailroomctl directory sync` moved to auth/ctl_sync.cpp (LDAP and SQL); kept
// until src/ctl/main.cpp stops calling it.
#pragma once

namespace CLI {
class App;
}

namespace mailroom::ctl {
class Context;
void register_ldap_commands(CLI::App& app, Context& ctx, int* exit_code);
}  // namespace mailroom::ctl
