// The POP3 server (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 SASL AUTH, RFC 3206
// response codes) as the listener sees it: options parsed once from [pop3], and a session
// handler for [[listener]] protocol = "pop3" (tls = "none" | "starttls" | "implicit").
//
// The maildrop is the user's INBOX as it was at login. APOP (RFC 1939 section 7) is not
// offered: it needs the clear-text password on the server, and every directory backend
// stores only hashes (or verifies by LDAP bind). Messages marked with DELE are expunged only
// when the client says QUIT in the TRANSACTION state; a dropped session deletes nothing.
// RETR, and TOP when it sends the whole message, record a retrieval mark (time, client IP)
// in the store for mail recall, before the message is sent (durability: mark_batch.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/core/services.h"
#include "src/net/session_handler.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::pop3 {

struct Options {
  // RFC 1939 section 3: the autologout timer must be at least 10 minutes.
  int64_t idle_timeout_seconds = 600;
  // From connect to a successful login, however the client spaces its commands.
  int64_t login_timeout_seconds = 180;
  // -ERR answers to client mistakes before the session is closed.
  int max_errors = 10;
  // RFC 2449 section 6.9 IMPLEMENTATION; empty = not advertised.
  std::string implementation = "Mailroom";
  // Longest base64 line accepted as a SASL response (RFC 5034 section 4 lifts the 255-octet
  // limit for them).
  std::size_t max_auth_response = 16384;
  // Retrieval marks are committed before each message is sent, and fsync'd together with the
  // mark of every n-th message, or of the first one this long after the oldest unsynced one,
  // and at QUIT or whatever else ends the session (mark_batch.h). 1 = fsync every mark.
  std::size_t retrieval_sync_messages = 1000;
  int64_t retrieval_sync_ms = 1000;
};

// Reads [pop3]: idle_timeout, max_errors, implementation, max_auth_response,
// retrieval_sync_messages, retrieval_sync_ms. Errors are
// collected in the section's ConfigErrors; defaults are returned for bad values.
Options parse_options(core::ConfigSection& section);

// The session handler for POP3 listeners. `services` must outlive every session.
net::SessionHandler make_session_handler(core::Services& services, const Options& options);

}  // namespace mailroom::pop3
