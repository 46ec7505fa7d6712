// The IMAP4rev1 server (RFC 3501) as the listener sees it: options parsed once from [imap]
// and a session handler for [[listener]] protocol = "imap" (tls = "none" | "starttls" |
// "implicit").
//
// Extensions are advertised only when implemented: LITERAL+ (LITERAL- before login), SASL-IR, ID,
// ENABLE, IDLE, UIDPLUS, MOVE, NAMESPACE, UNSELECT, CHILDREN, SPECIAL-USE, CREATE-SPECIAL-USE,
// LIST-EXTENDED, LIST-STATUS, CONDSTORE, QRESYNC, QUOTA, ESEARCH, SORT, THREAD, METADATA,
// METADATA-SERVER, LIST-METADATA, NOTIFY, STARTTLS and LOGINDISABLED before TLS (see
// commands/any.cpp for the exact list).
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
  // Before authentication no account answers for the memory a client makes us hold, so a
  // literal may have at most login_max_literal octets and a whole command (lines and literals)
  // login_max_command. The command limit leaves room for a SASL initial response on the
  // command line (RFC 4959; Kerberos tickets with a large PAC, OAuth bearer tokens).
  uint64_t login_max_literal = 8 * 1024;
  uint64_t login_max_command = 64 * 1024;
  // BAD answers before the session is closed with BYE (an abusive or broken client).
  int max_bad_commands = 20;
  // IDLE hibernation (issue 20): after this many seconds of IDLE without a change the session
  // lets go of the shared view of its mailbox, which drops its rows once every session on it
  // sleeps (32 bytes a message); the next change or DONE loads them again. 0 = never.
  int64_t idle_hibernate_seconds = 30;
  // Messages loaded per worker-pool round trip in FETCH/SEARCH.
  int fetch_batch = 64;
  // METADATA (RFC 5464, commands/metadata.cpp): the server's read-only /shared/admin (a URI,
  // e.g. "mailto:postmaster@example.com") and /shared/comment ("" = none); the largest value
  // SETMETADATA takes ([METADATA MAXSIZE n]); per user, the most entries and value octets of
  // all mailboxes and the server together ([METADATA TOOMANY]).
  std::string metadata_admin;
  std::string metadata_comment;
  uint64_t metadata_max_value = 64 * 1024;
  uint64_t metadata_max_entries = 1000;
  uint64_t metadata_max_bytes = 1024 * 1024;
  // [imap] shared_seen: "per-user" (true) gives each reader of another account's folder its
  // own \Seen (RFC 4314 "s": keep seen/unseen information across sessions); "shared" (false)
  // makes \Seen one flag for the owner and every reader.
  bool shared_seen_per_user = true;
  // NOTIFY (RFC 5465, notify.h): mailboxes with changes not yet sent to a session; one more
  // and the session gets [NOTIFICATIONOVERFLOW] and NOTIFY ends.
  uint64_t notify_max_pending = 200;
};

// Reads [imap]: autologout, login_timeout, idle_hibernate, max_line, max_literal,
// login_max_literal, login_max_command, max_bad_commands, fetch_batch, metadata_admin,
// metadata_comment, metadata_max_value, metadata_max_entries, metadata_max_bytes, shared_seen,
// notify_max_pending. Errors are collected in the section's ConfigErrors; defaults stay in place.
Options parse_options(core::ConfigSection& section);

// The session handler for IMAP listeners. `services` must outlive every session.
net::SessionHandler make_session_handler(core::Services& services, const Options& options);

}  // namespace mailroom::imap
