// Warnings mailroomd prints at start for configurations that work but expose something:
// LMTP reachable from other hosts without an allow-list (issue 13, item 10), no postmaster
// (RFC 5321 4.5.1), a TLS key or the config file readable by other users, client
// autoconfiguration with nothing to advertise or advertising "localhost". Each is a log line
// (event=config.warning) and a line on stderr; none stops the server. Errors that do stop it
// (startup_errors) are checked in the same place.
#pragma once

#include <string>
#include <vector>

namespace mailroom::core {
struct Services;
}

namespace mailroom::server {

struct LoadedConfig;

std::vector<std::string> startup_warnings(const LoadedConfig& config);

// Problems that stop mailroomd at start (exit 2; --check-config reports them and exits 1), so
// that they show up there and not as mysterious login failures later: with [auth]
// kerberos_keytab, a keytab that is missing, unreadable or lacks the key of a service
// principal (imap/, pop/, smtp/<host>@<realm>) for a protocol that has a listener, no realm
// to accept, or a Cyrus SASL without its GSSAPI plugin. Reads files (blocking).
std::vector<std::string> startup_errors(const LoadedConfig& config, const core::Services& services);

}  // namespace mailroom::server
