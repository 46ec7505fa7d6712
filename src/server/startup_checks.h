// Warnings mailroomd prints at start for configurations that work but expose something:
// LMTP reachable from other hosts without an allow-list (issue 13, item 10), no postmaster
// (RFC 5321 4.5.1), a TLS key or the config file readable by other users. Each is a log line
// (event=config.warning) and a line on stderr; none stops the server.
#pragma once

#include <string>
#include <vector>

namespace mailroom::server {

struct LoadedConfig;

std::vector<std::string> startup_warnings(const LoadedConfig& config);

}  // namespace mailroom::server
