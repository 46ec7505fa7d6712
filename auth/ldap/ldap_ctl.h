// mailroomctl directory sync: --now (one full pass), --dry-run (what a pass would change),
// and `status` (mode, last sync, lag, last error, cookie / high-water mark).
// Registered by src/ctl/main.cpp next to register_directory_commands; attaches to the
// existing "directory" subcommand or creates it.
#pragma once

namespace CLI {
class App;
}

namespace mailroom::ctl {
class Context;
void register_ldap_commands(CLI::App& app, Context& ctx, int* exit_code);
}  // namespace mailroom::ctl
