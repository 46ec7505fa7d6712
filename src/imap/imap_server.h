// The IMAP4rev1 server (RFC 3501) as the listener sees it: options parsed once from [imap]
// and a session handler for [[listener]] protocol = "imap" (tls = "none" | "starttls" |
// "implicit").
//
// Extensions are advertised only when implemented: LITERAL+, SASL-IR, ID, ENABLE, IDLE,
// UIDPLUS, MOVE, NAMESPACE, UNSELECT, CHILDREN, SPECIAL-USE, CREATE-SPECIAL-USE,
// LIST-EXTENDED, LIST-STATUS, CONDSTORE, QRESYNC, QUOTA, ESEARCH, SORT, THREAD, STARTTLS and
// LOGINDISABLED before TLS (see capability.cpp for the exact list).
#pragma once

#include <cstdint>
#include <string>

#include "src/core/services.h"
#include "src/net/session_handler.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::imap {

struct Options {
  // RFC 3501 5.4: the autologout timer is at least 30 minutes (also while IDLE).
  int64_t autologout_seconds = 1800;
  // Before authentication a shorter timer frees abandoned connections.
  // From connect to a successful login, however the client spaces its commands.
  int64_t login_timeout_seconds = 180;
  // Longest command line (without literals); longer lines are discarded and answered BAD.
  uint64_t max_line = 65536;
  // Largest literal (APPEND message); larger ones are refused before being read.
  uint64_t max_literal = 64ull * 1024 * 1024;
  // BAD answers before the session is closed with BYE (an abusive or broken client).
  int max_bad_commands = 20;
  // Messages loaded per worker-pool round trip in FETCH/SEARCH.
  int fetch_batch = 64;
};

// Reads [imap]: autologout, login_timeout, max_line, max_literal, max_bad_commands,
// fetch_batch. Errors are collected in the section's ConfigErrors; defaults stay in place.
Options parse_options(core::ConfigSection& section);

// The session handler for IMAP listeners. `services` must outlive every session.
net::SessionHandler make_session_handler(core::Services& services, const Options& options);

}  // namespace mailroom::imap
